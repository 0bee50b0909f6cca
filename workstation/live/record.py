"""The bars (and funding settlements) the live trader trades on, kept in the home's candle store.

Each write is queued to one background thread, in order, so the bar cycle never waits on SQLite; a
write that fails is logged (and shown once) and trading goes on. Writes are upserts, so a restart
that fetches the same warm-up again changes nothing. The venue name is the market data's
(`feed.market_data_venue`): what `load_market(store, symbol, interval, venue=...)` reads back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np

from workstation.data.arrays import CandleArrays
from workstation.data.store import CandleStore

log = logging.getLogger(__name__)
Echo = Callable[[str], None]


class BarRecorder:
    def __init__(self, path: Path, venue: str, *, echo: Echo | None = None) -> None:
        self.path = path
        self.venue = venue
        self.echo = echo
        self.failures = 0
        self.bars_written = 0
        self.funding_written = 0
        self._loop = asyncio.get_running_loop() if echo is not None else None
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="live-candles")
        self._store: CandleStore | None = None
        self._pending: list[Future[None]] = []

    def candles(self, symbol: str, interval: str, bars: CandleArrays) -> None:
        """Queue an upsert of `bars` into (venue, symbol, interval)."""
        if len(bars):
            self._submit(self._write_candles, symbol, interval, bars)

    def recording(self, symbol: str, interval: str) -> Callable[[CandleArrays], None]:
        """A `CandleHistory.on_bars` that queues the bars added to (symbol, interval)'s history."""

        def record(bars: CandleArrays) -> None:
            self.candles(symbol, interval, bars)

        return record

    def funding(self, symbol: str, ts: np.ndarray, rate: np.ndarray) -> None:
        if len(ts):
            self._submit(self._write_funding, symbol, ts, rate)

    async def flush(self) -> None:
        """Wait (off the event loop) until every queued write is done."""
        pending, self._pending = self._pending, []
        if pending:
            await asyncio.to_thread(lambda: [f.result() for f in pending])

    async def close(self) -> None:
        await self.flush()
        await asyncio.to_thread(self._close)

    # --- the writer thread ------------------------------------------------------------------------
    def _submit(self, fn: Callable[..., None], *args: object) -> None:
        self._pending = [f for f in self._pending if not f.done()]
        self._pending.append(self._pool.submit(self._guarded, fn, *args))

    def _guarded(self, fn: Callable[..., None], *args: object) -> None:
        try:
            if self._store is None:
                self._store = CandleStore.open(self.path)
            fn(self._store, *args)
        except Exception as exc:  # never stop trading over the record of it
            self.failures += 1
            log.warning("live trader: could not store market data in %s: %s", self.path, exc)
            if self.failures == 1 and self.echo is not None and self._loop is not None:
                line = f"WARNING could not store market data in {self.path} ({exc}); trading goes on"
                with contextlib.suppress(RuntimeError):  # the loop is gone: the log has it
                    self._loop.call_soon_threadsafe(self.echo, line)

    def _write_candles(self, store: CandleStore, symbol: str, interval: str, bars: CandleArrays) -> None:
        store.upsert_candles(self.venue, symbol, interval, bars)
        self.bars_written += len(bars)

    def _write_funding(self, store: CandleStore, symbol: str, ts: np.ndarray, rate: np.ndarray) -> None:
        self.funding_written += store.upsert_funding(self.venue, symbol, ts, rate)

    def _close(self) -> None:
        self._pool.shutdown(wait=True)
        if self._store is not None:
            self._store.close()
            self._store = None
