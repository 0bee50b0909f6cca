"""Replay stored candles through the paper venue, with a strategy runner acting at each open."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

import numpy as np

from workstation.backtest.costs import funding_per_bar
from workstation.core.types import Candle
from workstation.data.arrays import CandleArrays
from workstation.data.store import CandleStore
from workstation.exchanges.simulated.client import PaperExecutionClient
from workstation.paper.runner import StrategyRunner

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ReplayData:
    candles: CandleArrays
    funding: np.ndarray  # the rate settled at each bar's open (0 where none)


def load_replay(
    store: CandleStore, venue: str, symbol: str, interval: str, start: int | None = None, end: int | None = None
) -> ReplayData:
    """Candles and per-bar funding from the store, aligned exactly as the backtest aligns them."""
    candles = store.read(venue, symbol, interval, start, end)
    rates = store.read_funding(venue, symbol)
    return ReplayData(candles, funding_per_bar(candles.ts, rates.ts, rates.rate))


async def replay(
    client: PaperExecutionClient,
    symbol: str,
    data: ReplayData,
    runner: StrategyRunner | None = None,
    *,
    bars_per_second: float = 0.0,
    yield_every: int = 64,
) -> int:
    """Feed every candle to the venue (open, runner, match, sync). `bars_per_second` 0 runs as fast
    as possible, still yielding to the loop so an API on it stays responsive. Returns bars fed."""
    c = data.candles
    ts, o, h, lo, cl, v = c.columns()
    delay = 1.0 / bars_per_second if bars_per_second > 0 else 0.0
    for i in range(len(c)):
        bar = Candle(int(ts[i]), float(o[i]), float(h[i]), float(lo[i]), float(cl[i]), float(v[i]))
        seen = client.execution_count
        client.open_bar(symbol, bar, float(data.funding[i]))
        if runner is not None:
            await runner.on_open(c.take(slice(0, i)), bar)
        client.close_bar(symbol)
        if runner is not None:
            await runner.on_close(bar, new_fills=client.execution_count != seen)
        if delay:
            await asyncio.sleep(delay)
        elif i % yield_every == 0:
            await asyncio.sleep(0)
    log.info("replay of %s finished: %d bars", symbol, len(c))
    return len(c)
