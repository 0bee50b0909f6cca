"""sync_universe over an in-process source of real candles, DataSyncScheduler on a manual clock,
and the data.universe settings."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from tests.fakes.real_candles import BTC_1H, candles
from workstation.core.errors import ExchangeError
from workstation.data.arrays import CandleArrays
from workstation.data.download import IpBanned
from workstation.data.resample import resample
from workstation.data.store import CandleStore
from workstation.data.sync import DataSyncScheduler, sync_universe
from workstation.settings.models import DataSettings, Settings, UniverseEntry

DAY = 86_400.0
HOUR_MS = 3_600_000


class RealCandleSource:
    """Serves real Bybit BTCUSDT 1h (and 4h built from it) up to `visible_until`; other symbols fail."""

    name = venue = "bybit"
    category = "linear"

    def __init__(self, hourly: CandleArrays, ban: bool = False) -> None:
        self.series = {"1h": hourly, "4h": resample(hourly, "1h", "4h").candles}
        self.requests = 0
        self.ban = ban
        self.closed = False

    def candle_pages(
        self, symbol: str, interval: str, start: int, end: int, *, kind: str = "trade"
    ) -> Iterator[CandleArrays]:
        self.requests += 1
        if self.ban:
            raise IpBanned("HTTP 403", until_ms=0)
        if symbol != "BTCUSDT":
            raise ExchangeError(f"symbol {symbol} does not exist")
        yield self.series[interval].between(start, end)

    def close(self) -> None:
        self.closed = True


class ManualClock:
    """Time moves only when the scheduler sleeps (or a sync "takes" time)."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


def test_sync_universe_when_run_twice_then_downloads_history_then_only_tops_up(tmp_path: Path) -> None:
    hourly = candles(BTC_1H, 4_000, 24 * 40)
    universe = [UniverseEntry(symbol="BTCUSDT", intervals=("1h", "4h"), history=30)]
    at = int(hourly.ts[24 * 35])  # day 35 of 40
    source = RealCandleSource(hourly)
    with CandleStore.open(tmp_path / "c.db") as store:
        first = sync_universe(store, universe, lambda spec, category: source, at_ms=at)
        later = sync_universe(store, universe, lambda spec, category: source, at_ms=at + 2 * 86_400_000)
        stored = store.read("bybit", "BTCUSDT", "1h")

    assert [(r.interval, r.report.fetched) for r in first if r.report] == [("1h", 24 * 30), ("4h", 6 * 30)]
    assert [(r.interval, r.report.fetched) for r in later if r.report] == [("1h", 48), ("4h", 12)]
    assert stored.equals(hourly.between(at - 30 * 86_400_000, at + 2 * 86_400_000)) and source.closed
    assert np.all(np.diff(stored.ts) == HOUR_MS)


def test_sync_universe_when_one_symbol_fails_then_reported_and_the_rest_synced_but_a_ban_stops_all(
    tmp_path: Path,
) -> None:
    hourly = candles(BTC_1H, 0, 200)
    at = int(hourly.ts[-1]) + HOUR_MS
    universe = [
        UniverseEntry(symbol="NOPEUSDT", intervals=("1h",), history=2),
        UniverseEntry(symbol="BTCUSDT", intervals=("1h", "4h"), history=2),
    ]
    with CandleStore.open(tmp_path / "c.db") as store:
        results = sync_universe(store, universe, lambda s, c: RealCandleSource(hourly), at_ms=at)
        banned = sync_universe(store, universe, lambda s, c: RealCandleSource(hourly, ban=True), at_ms=at)

    assert [(r.symbol, r.interval, r.error is None) for r in results] == [
        ("NOPEUSDT", "1h", False), ("BTCUSDT", "1h", True), ("BTCUSDT", "4h", True),
    ]  # fmt: skip
    assert "does not exist" in str(results[0].error)
    assert [(r.symbol, r.error) for r in banned] == [("NOPEUSDT", "HTTP 403")]


def test_scheduler_when_running_then_syncs_at_start_and_every_day_in_a_worker_thread() -> None:
    clock = ManualClock()
    t0 = clock.now
    threads: list[int] = []

    def sync() -> int:
        threads.append(threading.get_ident())
        return len(threads)

    scheduler = DataSyncScheduler(sync, every_s=DAY, clock=clock, sleep=clock.sleep)

    async def main() -> int:
        await scheduler.run(max_runs=3)
        return threading.get_ident()

    loop_thread = asyncio.run(main())

    assert scheduler.runs == [t0, t0 + DAY, t0 + 2 * DAY]
    assert clock.sleeps == [DAY, DAY]
    assert scheduler.last_result == 3 and scheduler.last_error is None
    assert loop_thread not in threads  # the blocking download never runs on the loop


def test_scheduler_when_sync_overruns_or_fails_then_no_pile_up_and_the_schedule_goes_on() -> None:
    clock = ManualClock()
    t0 = clock.now
    calls = 0

    def sync() -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            clock.now += 1.5 * DAY  # a first full download that takes a day and a half
        if calls == 2:
            raise ConnectionError("venue unreachable")

    scheduler = DataSyncScheduler(sync, every_s=DAY, clock=clock, sleep=clock.sleep)
    asyncio.run(scheduler.run(max_runs=3))

    # run 2 starts right after the overrun (once, not twice), run 3 a day after run 2
    assert scheduler.runs == [t0, t0 + 1.5 * DAY, t0 + 2.5 * DAY]
    assert calls == 3 and scheduler.last_error is None


def test_scheduler_when_not_run_at_start_then_first_sync_after_one_period_and_stop_cancels() -> None:
    clock = ManualClock()
    t0 = clock.now
    scheduler = DataSyncScheduler(lambda: None, every_s=3600, run_at_start=False, clock=clock, sleep=clock.sleep)

    async def main() -> None:
        task = scheduler.start()
        while len(scheduler.runs) < 2:
            await asyncio.sleep(0.001)
        await scheduler.stop()
        assert task.cancelled()

    asyncio.run(main())
    assert scheduler.runs[:2] == [t0 + 3600, t0 + 7200]


def test_data_settings_when_default_then_btc_and_eth_1m_to_1d_three_years_from_bybit() -> None:
    universe = Settings().data.universe
    assert [u.symbol for u in universe] == ["BTCUSDT", "ETHUSDT"]
    assert all(u.intervals == ("1m", "5m", "15m", "1h", "4h", "1d") for u in universe)
    assert all(u.source == "bybit" and u.history == 1095 for u in universe)
    assert DataSettings().sync_every == DAY


def test_universe_entry_when_single_interval_or_bad_values_then_parsed_or_rejected() -> None:
    entry = UniverseEntry.model_validate({"symbol": "SOLUSDT", "interval": "4h", "history": "12w"})
    assert entry.intervals == ("4h",) and entry.history == 84
    for bad in ({"interval": "4x"}, {"source": "kraken"}, {"history": "3 months"}, {"intervals": []}):
        with pytest.raises(ValidationError):
            UniverseEntry.model_validate({"symbol": "X", **bad})
    with pytest.raises(ValidationError):
        entry.symbol = "Y"  # type: ignore[misc]
