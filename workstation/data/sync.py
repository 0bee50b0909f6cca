"""Keep the configured universe (`data.universe`) downloaded: once from the CLI, daily in the engine.

`sync_universe` downloads, for every symbol and interval, the closed bars of the last `history`
days that the store lacks (so the first run downloads everything and later runs only top up).
`DataSyncScheduler` runs the same sync on the asyncio loop every `sync_every`, the blocking
download in a worker thread. Sources are built by a factory so tests can point them at a fake.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from workstation.core.errors import ExchangeError
from workstation.data.download import CandleSource, DownloadReport, IpBanned, ProgressCallback, download, now_ms
from workstation.data.store import CandleStore
from workstation.settings.models import BybitSettings, Settings, UniverseEntry

log = logging.getLogger(__name__)
DAY_MS = 86_400_000
SourceFactory = Callable[[str, str | None], CandleSource]


def make_source(spec: str, category: str | None, bybit: BybitSettings | None = None) -> CandleSource:
    """`bybit` or `ccxt:NAME` -> a source; the Bybit settings give the host override and timeout."""
    bybit = bybit or BybitSettings()
    base_url = str(bybit.base_url).rstrip("/") if bybit.base_url else None
    if spec == "bybit":
        from workstation.data.sources.bybit import BybitSource

        return BybitSource(category or "linear", base_url=base_url, timeout_s=bybit.timeout_s)
    if spec.startswith("ccxt:") and len(spec) > 5:
        from workstation.data.sources.ccxt_source import CcxtSource

        exchange = spec.removeprefix("ccxt:")
        return CcxtSource(exchange, category, base_url=base_url if exchange == "bybit" else None)
    raise ValueError(f"unknown source {spec!r}: use bybit or ccxt:EXCHANGE (e.g. ccxt:binance)")


def source_factory(settings: Settings) -> SourceFactory:
    return lambda spec, category: make_source(spec, category, settings.exchanges.bybit)


@dataclass(frozen=True, slots=True)
class SyncResult:
    source: str
    symbol: str
    interval: str
    report: DownloadReport | None = None
    error: str | None = None


def sync_universe(
    store: CandleStore,
    universe: Sequence[UniverseEntry],
    open_source: SourceFactory,
    *,
    progress: ProgressCallback | None = None,
    at_ms: int | None = None,
    symbols: set[str] | None = None,
) -> list[SyncResult]:
    """Download or top up every (symbol, interval) of the universe. One failing entry is reported
    and the rest carry on; an IP ban stops the whole sync."""
    now = now_ms() if at_ms is None else at_ms
    results: list[SyncResult] = []
    sources: dict[tuple[str, str | None], CandleSource] = {}
    try:
        for entry in universe:
            if symbols is not None and entry.symbol not in symbols:
                continue
            for interval in entry.intervals:
                try:
                    key = (entry.source, entry.category)
                    if key not in sources:
                        sources[key] = open_source(entry.source, entry.category)
                    report = download(
                        store,
                        sources[key],
                        entry.symbol,
                        interval,
                        now - entry.history * DAY_MS,
                        progress=progress,
                        at_ms=now,
                    )
                    results.append(SyncResult(entry.source, entry.symbol, interval, report))
                except ExchangeError as exc:
                    results.append(SyncResult(entry.source, entry.symbol, interval, error=str(exc)))
                    if isinstance(exc, IpBanned):
                        return results
    finally:
        for source in sources.values():
            source.close()
    return results


class DataSyncScheduler:
    """Runs `sync()` now (unless run_at_start is False) and then every `every_s` seconds.

    The sync runs in a worker thread, so the loop stays responsive. Runs never overlap or pile up:
    after a run that overran its slot the next one starts at once, then the cadence resumes from
    there. A failing run is logged and kept in `last_error`; the schedule carries on.
    `clock` and `sleep` are injectable so tests drive time by hand.
    """

    def __init__(
        self,
        sync: Callable[[], object],
        *,
        every_s: float = 86_400.0,
        run_at_start: bool = True,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if every_s <= 0:
            raise ValueError("every_s must be positive")
        self._sync = sync
        self.every_s = every_s
        self.run_at_start = run_at_start
        self._clock = clock
        self._sleep = sleep
        self._task: asyncio.Task[None] | None = None
        self.next_run_at: float | None = None
        self.runs: list[float] = []  # start times (clock) of finished runs
        self.last_result: object = None
        self.last_error: BaseException | None = None

    async def run_once(self) -> object:
        started = self._clock()
        try:
            self.last_result = await asyncio.to_thread(self._sync)
            self.last_error = None
        except Exception as exc:  # the next run may well succeed: keep the schedule
            log.exception("data sync failed")
            self.last_error = exc
        self.runs.append(started)
        return self.last_result

    async def run(self, *, max_runs: int | None = None) -> None:
        """The schedule loop (forever unless max_runs)."""
        self.next_run_at = self._clock() + (0.0 if self.run_at_start else self.every_s)
        done = 0
        while max_runs is None or done < max_runs:
            delay = self.next_run_at - self._clock()
            if delay > 0:
                await self._sleep(delay)
                continue  # a sleep may return early; check the time again
            started = self._clock()
            await self.run_once()
            done += 1
            self.next_run_at = max(started + self.every_s, self._clock())

    def start(self) -> asyncio.Task[None]:
        """Start the loop on the running event loop."""
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self.run(), name="data-sync")
        return self._task

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass


def make_scheduler(settings: Settings, db: Path | str, *, run_at_start: bool = True) -> DataSyncScheduler:
    """The engine's daily sync of `settings.data.universe` into the store at `db`."""
    factory = source_factory(settings)

    def sync() -> list[SyncResult]:
        with CandleStore.open(db) as store:
            results = sync_universe(store, settings.data.universe, factory)
        for r in results:
            if r.error:
                log.warning("data sync %s %s %s: %s", r.source, r.symbol, r.interval, r.error)
        return results

    return DataSyncScheduler(sync, every_s=settings.data.sync_every, run_at_start=run_at_start)
