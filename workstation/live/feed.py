"""Closed candles for a live strategy: a warm-up from the venue's REST klines, then the confirmed
klines of Bybit's public stream, in order and each exactly once.

- `KlineFeed` is the public stream's sink: it queues the confirmed bars of one series (an open
  bar's updates are ignored; the stream sends each bar again, confirmed, when it closes).
- `CandleHistory` holds the bars closed so far. A confirmed bar at or before the newest one is a
  duplicate or out of order and is dropped; a bar after a gap (a reconnect, a missed message)
  first fetches the missing bars over REST so the strategy never sees a hole it cannot know about.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from workstation.core.enums import Venue
from workstation.core.types import Candle
from workstation.data.arrays import CandleArrays
from workstation.exchanges.bybit.public_stream import PUBLIC_URLS, KlineUpdate, TickerUpdate

log = logging.getLogger(__name__)

URL_ENV = "WORKSTATION_PUBLIC_STREAM_URL"  # the chart's override too (ui/live_feed.py)
REST_HOSTS = {"testnet": "https://api-testnet.bybit.com", "mainnet": "https://api.bybit.com"}
Fetch = Callable[[int, int], CandleArrays]  # closed bars with start <= ts < end
Echo = Callable[[str], None]


def network(venue: Venue) -> str:
    """Bybit's market-data network for a venue (demo trading reads mainnet market data)."""
    return "testnet" if venue is Venue.BYBIT_TESTNET else "mainnet"


def public_url(venue: Venue, configured: str | None = None) -> str:
    """The setting (exchanges.bybit.public_stream_url), else WORKSTATION_PUBLIC_STREAM_URL, else Bybit."""
    if configured:
        return configured
    return os.environ.get(URL_ENV, "").strip() or PUBLIC_URLS[network(venue)].format(category="linear")


def rest_host(venue: Venue, configured: str | None = None) -> str:
    return configured.rstrip("/") if configured else REST_HOSTS[network(venue)]


class KlineFeed:
    """PublicStreamSink for one (symbol, Bybit interval code): confirmed bars into a queue."""

    def __init__(self, symbol: str, code: str, echo: Echo) -> None:
        self.symbol = symbol
        self.code = code
        self.echo = echo
        self.queue: asyncio.Queue[Candle] = asyncio.Queue()
        self.connected = asyncio.Event()

    async def public_connected(self) -> None:
        self.connected.set()
        self.echo(f"FEED connected: following kline.{self.code}.{self.symbol}")

    async def public_disconnected(self, reason: str) -> None:
        was = self.connected.is_set()
        self.connected.clear()
        if was:
            self.echo(f"FEED down ({reason}): reconnecting; missed bars are fetched over REST")

    async def on_klines(self, updates: list[KlineUpdate]) -> None:
        for u in updates:
            if u.confirmed and u.symbol == self.symbol and u.interval == self.code:
                self.queue.put_nowait(u.candle)

    async def on_ticker(self, update: TickerUpdate) -> None:
        return None


@dataclass
class CandleHistory:
    """The closed bars so far (the newest `keep`), fed one confirmed bar at a time."""

    step_ms: int
    fetch: Fetch
    keep: int = 5000
    bars: CandleArrays = field(default_factory=CandleArrays.empty)
    duplicates: int = 0
    backfilled: int = 0

    @property
    def last_ts(self) -> int | None:
        return int(self.bars.ts[-1]) if len(self.bars) else None

    def warm(self, bars: CandleArrays) -> None:
        self.bars = _trim(bars, self.keep)

    async def accept(self, candle: Candle) -> bool:
        """Add a confirmed bar (after the bars missing before it). False: a duplicate or older bar."""
        last = self.last_ts
        if last is not None and candle.ts <= last:
            self.duplicates += 1
            return False
        parts = [self.bars]
        if last is not None and candle.ts > last + self.step_ms:
            try:
                missing = await asyncio.to_thread(self.fetch, last + self.step_ms, candle.ts)
            except Exception as exc:  # the venue's REST is down too: trade on, the gap stays visible
                log.warning("live feed: could not fetch the bars before %d: %s", candle.ts, exc)
                missing = CandleArrays.empty()
            missing = missing.between(last + self.step_ms, candle.ts)
            self.backfilled += len(missing)
            parts.append(missing)
        parts.append(_one(candle))
        self.bars = _trim(CandleArrays.concat(parts), self.keep)
        return True


def _one(c: Candle) -> CandleArrays:
    return CandleArrays.from_columns([c.ts], [c.open], [c.high], [c.low], [c.close], [c.volume])


def _trim(bars: CandleArrays, keep: int) -> CandleArrays:
    if len(bars) > 1 and bool(np.any(np.diff(bars.ts) <= 0)):
        _, first = np.unique(bars.ts, return_index=True)  # sorted by ts, the first copy of each
        bars = bars.take(first)
    return bars.take(slice(max(0, len(bars) - keep), None))


def rest_fetcher(venue: Venue, symbol: str, interval: str, base_url: str | None, timeout_s: float) -> Fetch:
    """Closed bars from the venue's REST klines (the existing data source; never a key)."""
    from workstation.data.sources.bybit import BybitSource

    def fetch(start: int, end: int) -> CandleArrays:
        source = BybitSource("linear", base_url=rest_host(venue, base_url), timeout_s=timeout_s)
        try:
            pages = list(source.candle_pages(symbol, interval, start, end))
        finally:
            source.close()
        pages.sort(key=lambda p: int(p.ts[0]) if len(p) else 0)
        return _trim(CandleArrays.concat(pages), 1 << 30)

    return fetch
