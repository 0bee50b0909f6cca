"""The extra series a strategy declares (`Strategy.inputs()`), fed live as the backtest binds them.

- A PEER's candles come like the traded symbol's: a warm-up from the venue's REST klines over the
  same span, then the confirmed klines of a second topic on the same public stream, each through its
  own `CandleHistory` (the same duplicate / gap / backfill rules). Before the strategy acts on bar t,
  every peer must hold bar t too (the peer bar opened with ours closes with it): its queued bars are
  taken first, then it is waited for up to `trading.live.peer_wait_s` seconds, then fetched over
  REST; a peer bar still missing is said (the strategy then sees the peer's previous bar, as a
  backtest over that gap would).
- FUNDING of the traded symbol comes from Bybit REST /v5/market/funding/history: a warm-up from
  `FUNDING_LOOKBACK_MS` before the first warm bar, then fetched again whenever a settlement is due
  by the close of the bar about to be acted on.

`bind` hands them to the strategy through `Strategy.bind(StrategyInputs(...))`, the same binding
`backtest.inputs.bind_inputs` makes from the candle store; every bar and settlement is also recorded
in that store (live.record), so a backtest over the stored bars binds exactly what the live strategy saw.
A series that cannot be fetched at the warm-up is a `LiveInputError` naming it and where it was asked.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from workstation.core.errors import WorkstationError
from workstation.live.feed import CandleHistory, Echo, Fetch, KlineFeed
from workstation.live.record import BarRecorder
from workstation.strategies.base import FUNDING, PEER, Strategy, StrategyInputs

log = logging.getLogger(__name__)
FUNDING_LOOKBACK_MS = 30 * 86_400_000  # settlements before the first warm bar (mean of the last 21 at 8h: 7 days)
DEFAULT_FUNDING_EVERY_MS = 8 * 3_600_000
FundingFetch = Callable[[int, int], tuple[np.ndarray, np.ndarray]]  # settlements with start <= ts < end


class LiveInputError(WorkstationError):
    """A series the strategy declares could not be fetched from the venue."""


def funding_fetcher(host: str, symbol: str, timeout_s: float) -> FundingFetch:
    """Settlements (ts, rate), oldest first, from the venue's REST funding history (never a key)."""
    from workstation.data.sources.bybit import BybitSource

    def fetch(start: int, end: int) -> tuple[np.ndarray, np.ndarray]:
        source = BybitSource("linear", base_url=host, timeout_s=timeout_s)
        try:
            pages = list(source.funding_pages(symbol, start, end))
        finally:
            source.close()
        ts = np.concatenate([p[0] for p in pages]) if pages else np.empty(0, np.int64)
        rate = np.concatenate([p[1] for p in pages]) if pages else np.empty(0, np.float64)
        ts, first = np.unique(ts, return_index=True)
        return ts.astype(np.int64), rate[first]

    return fetch


@dataclass
class PeerSeries:
    symbol: str
    feed: KlineFeed
    history: CandleHistory
    late: int = 0  # bars not there when the strategy acted


class FundingHistory:
    """The symbol's settlements so far (oldest first)."""

    def __init__(self, symbol: str, fetch: FundingFetch, recorder: BarRecorder | None) -> None:
        self.symbol = symbol
        self.fetch = fetch
        self.recorder = recorder
        self.ts = np.empty(0, np.int64)
        self.rate = np.empty(0, np.float64)
        self.refreshes = 0

    def add(self, ts: np.ndarray, rate: np.ndarray) -> int:
        new = ts > (self.ts[-1] if len(self.ts) else -1)
        if not new.any():
            return 0
        self.ts = np.concatenate([self.ts, ts[new]])
        self.rate = np.concatenate([self.rate, rate[new]])
        if self.recorder is not None:
            self.recorder.funding(self.symbol, ts[new], rate[new])
        return int(new.sum())

    def due(self, until: int) -> bool:
        """A settlement at or before `until` that is not known yet is expected."""
        if not len(self.ts):
            return True
        steps = np.diff(self.ts[-4:])
        every = int(steps[steps > 0].min()) if (steps > 0).any() else DEFAULT_FUNDING_EVERY_MS
        return int(self.ts[-1]) + every <= until

    async def refresh(self, until: int) -> int:
        """Fetch the settlements after the newest known one up to `until` (inclusive) if one is due."""
        if not self.due(until):
            return 0
        start = int(self.ts[-1]) + 1 if len(self.ts) else until - FUNDING_LOOKBACK_MS
        self.refreshes += 1
        try:
            ts, rate = await asyncio.to_thread(self.fetch, start, until + 1)
        except Exception as exc:  # trade on with what is known; the next bar asks again
            log.warning("live inputs: could not fetch the %s funding after %d: %s", self.symbol, start, exc)
            return 0
        return self.add(ts, rate)


class LiveInputs:
    """The declared series of one strategy trading `symbol` at `interval` on a live venue."""

    def __init__(
        self,
        strategy: Strategy,
        symbol: str,
        interval: str,
        step_ms: int,
        keep: int,
        *,
        host: str,
        timeout_s: float,
        peer_fetch: Callable[[str], Fetch],
        funding_fetch: FundingFetch | None = None,
        recorder: BarRecorder | None = None,
        echo: Echo,
        peer_wait_s: float,
    ) -> None:
        self.strategy = strategy
        self.symbol = symbol
        self.interval = interval
        self.step_ms = step_ms
        self.host = host
        self.echo = echo
        self.peer_wait_s = peer_wait_s
        self.peers: list[PeerSeries] = []
        self.funding: FundingHistory | None = None
        for spec in strategy.inputs():
            if spec.kind == PEER:
                history = CandleHistory(step_ms, peer_fetch(spec.symbol), keep=keep)
                if recorder is not None:
                    history.on_bars = recorder.recording(spec.symbol, interval)
                self.peers.append(PeerSeries(spec.symbol, KlineFeed(spec.symbol, "", echo), history))
            elif spec.kind == FUNDING:
                fetch = funding_fetch or funding_fetcher(host, symbol, timeout_s)
                self.funding = FundingHistory(symbol, fetch, recorder)
            else:
                raise LiveInputError(f"{strategy.name} declares an unknown input kind {spec.kind!r}")

    def feeds(self, code: str) -> list[KlineFeed]:
        """The peers' stream sinks, on Bybit's interval `code`."""
        for p in self.peers:
            p.feed.code = code
        return [p.feed for p in self.peers]

    async def warm(self, start: int, end: int) -> None:
        """The peers' closed bars in [start, end) and the funding from before `start`; a series the venue
        does not give is a LiveInputError naming it."""
        label = self.strategy.label()
        for p in self.peers:
            try:
                bars = await asyncio.to_thread(p.history.fetch, start, end)
            except Exception as exc:
                raise LiveInputError(
                    f"{label} needs {p.symbol} {self.interval} candles as its peer: "
                    f"the venue's REST klines ({self.host}/v5/market/kline) failed: {exc}"
                ) from exc
            if not len(bars):
                raise LiveInputError(
                    f"{label} needs {p.symbol} {self.interval} candles as its peer: "
                    f"the venue's REST klines ({self.host}/v5/market/kline) have none since {start}"
                )
            p.history.warm(bars)
            self.echo(f"WARM {len(p.history.bars)} closed {self.interval} bar(s) of peer {p.symbol}")
        if self.funding is not None:
            f = self.funding
            try:
                ts, rate = await asyncio.to_thread(f.fetch, start - FUNDING_LOOKBACK_MS, end)
            except Exception as exc:
                raise LiveInputError(
                    f"{label} needs the funding history of {self.symbol}: "
                    f"{self.host}/v5/market/funding/history failed: {exc}"
                ) from exc
            if not len(ts):
                raise LiveInputError(
                    f"{label} needs the funding history of {self.symbol}: "
                    f"{self.host}/v5/market/funding/history has no settlement before {end}"
                )
            f.add(ts, rate)
            self.echo(f"WARM {len(f.ts)} funding settlement(s) of {self.symbol}")

    async def before_bar(self, ts: int) -> None:
        """Every declared series up to bar `ts` (opened at ts), before the strategy acts on it."""
        for p in self.peers:
            await self._peer_bar(p, ts)
        if self.funding is not None:
            await self.funding.refresh(ts + self.step_ms - 1)

    async def _peer_bar(self, p: PeerSeries, ts: int) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.peer_wait_s
        while True:
            while not p.feed.queue.empty():
                await p.history.accept(p.feed.queue.get_nowait())
            last = p.history.last_ts
            if last is not None and last >= ts:
                return
            left = deadline - loop.time()
            if left <= 0:
                break
            with contextlib.suppress(TimeoutError):
                await p.history.accept(await asyncio.wait_for(p.feed.queue.get(), left))
        if await p.history.catch_up(ts) and p.history.last_ts == ts:
            return
        p.late += 1
        self.echo(f"PEER {p.symbol} bar {ts} missing (stream and REST): the strategy sees its previous bar")

    def bind(self, strategy: Strategy) -> Strategy:
        """`strategy` bound to the series so far (itself when it declares none)."""
        if not self.peers and self.funding is None:
            return strategy
        funding = None if self.funding is None else (self.funding.ts, self.funding.rate)
        return strategy.bind(StrategyInputs(funding, {p.symbol: p.history.bars for p in self.peers}))
