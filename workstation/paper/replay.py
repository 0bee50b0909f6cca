"""Replay stored candles through the paper venue, with a strategy runner acting at each open."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
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
    resampled_from: str | None = None  # the stored interval the candles were built from (None: stored as they are)


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
    resume: bool = False,
    paused: Callable[[], bool] | None = None,
) -> int:
    """Feed every candle to the venue (open, runner, match, sync). `bars_per_second` 0 runs as fast
    as possible, still yielding to the loop so an API on it stays responsive. Returns bars fed.

    `resume`: a restored venue has seen some of these candles; finish the candle it was in (match,
    sync) and go on after it, so no candle is applied twice. `paused()` true: the runner sends
    nothing at that open (the venue still matches what rests)."""
    c = data.candles
    ts, o, h, lo, cl, v = c.columns()
    delay = 1.0 / bars_per_second if bars_per_second > 0 else 0.0
    first = 0
    if resume:
        book = client.account.books.get(symbol)
        if book is not None and book.bar is not None:  # stopped inside a candle: finish it
            inside, seen = book.bar, client.execution_count
            client.close_bar(symbol)
            if runner is not None:
                await runner.on_close(inside, new_fills=client.execution_count != seen)
        first = resume_index(client, symbol, ts)
        if first:
            log.info("replay of %s resumes after %d candles the venue already saw", symbol, first)
        if runner is not None:
            await runner.resume(c.take(slice(0, first)))
    for i in range(first, len(c)):
        bar = Candle(int(ts[i]), float(o[i]), float(h[i]), float(lo[i]), float(cl[i]), float(v[i]))
        seen = client.execution_count
        client.open_bar(symbol, bar, float(data.funding[i]))
        if runner is not None and not (paused is not None and paused()):
            await runner.on_open(c.take(slice(0, i)), bar)
        client.close_bar(symbol)
        if runner is not None:
            await runner.on_close(bar, new_fills=client.execution_count != seen)
        if delay:
            await asyncio.sleep(delay)
        elif i % yield_every == 0:
            await asyncio.sleep(0)
    log.info("replay of %s finished: %d bars", symbol, len(c) - first)
    return len(c) - first


def resume_index(client: PaperExecutionClient, symbol: str, ts: np.ndarray) -> int:
    """The first candle after the last one the venue finished (0 if it never saw `symbol`)."""
    book = client.account.books.get(symbol)
    last = book.bar or book.prev if book is not None else None
    return 0 if last is None else int(np.searchsorted(ts, last.ts, side="right"))
