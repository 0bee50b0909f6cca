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
OnBars = Callable[[CandleArrays], None]  # the bars just added to a history (to record them)
Echo = Callable[[str], None]


def network(venue: Venue) -> str:
    """Bybit's market-data network for a venue (demo trading reads mainnet market data)."""
    return "testnet" if venue is Venue.BYBIT_TESTNET else "mainnet"


def market_data_venue(venue: Venue) -> str:
    """The candle store's venue name for the market data a live venue trades on: testnet prices are
    their own ("bybit-testnet"); demo trading reads mainnet market data, stored as "bybit" like
    `data download --source bybit`."""
    return "bybit-testnet" if venue is Venue.BYBIT_TESTNET else "bybit"


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
    on_bars: OnBars | None = None  # told of every bar added: the warm-up, each accepted and backfilled one

    @property
    def last_ts(self) -> int | None:
        return int(self.bars.ts[-1]) if len(self.bars) else None

    def warm(self, bars: CandleArrays) -> None:
        self.bars = _trim(bars, self.keep)
        self._added(self.bars)

    async def accept(self, candle: Candle) -> bool:
        """Add a confirmed bar (after the bars missing before it). False: a duplicate or older bar."""
        last = self.last_ts
        if last is not None and candle.ts <= last:
            self.duplicates += 1
            return False
        missing = CandleArrays.empty()
        if last is not None and candle.ts > last + self.step_ms:
            missing = await self._fetch_missing(last + self.step_ms, candle.ts)
        new = CandleArrays.concat([missing, _one(candle)])
        self.bars = _trim(CandleArrays.concat([self.bars, new]), self.keep)
        self._added(new)
        return True

    async def catch_up(self, until_ts: int) -> int:
        """Fetch over REST the bars after the newest one up to and including `until_ts` (a series that
        should have closed a bar the stream has not sent). Returns the bars added."""
        last = self.last_ts
        if last is None or until_ts <= last:
            return 0
        missing = await self._fetch_missing(last + self.step_ms, until_ts + self.step_ms)
        if len(missing):
            self.bars = _trim(CandleArrays.concat([self.bars, missing]), self.keep)
            self._added(missing)
        return len(missing)

    async def _fetch_missing(self, start: int, end: int) -> CandleArrays:
        try:
            missing = await asyncio.to_thread(self.fetch, start, end)
        except Exception as exc:  # the venue's REST is down too: trade on, the gap stays visible
            log.warning("live feed: could not fetch the bars in [%d, %d): %s", start, end, exc)
            return CandleArrays.empty()
        missing = missing.between(start, end)
        self.backfilled += len(missing)
        return missing

    def _added(self, bars: CandleArrays) -> None:
        if self.on_bars is not None and len(bars):
            self.on_bars(bars)


def next_open(bars: CandleArrays, step_ms: int) -> Candle:
    """The bar opening after the newest closed one, priced at its close: what a live strategy acts on
    (the venue's next open is not known yet when the closed bar is settled)."""
    px = float(bars.close[-1])
    return Candle(int(bars.ts[-1]) + step_ms, px, px, px, px, 0.0)


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


class FeedGroup:
    """PublicStreamSink for several KlineFeeds on one public stream (the traded series and its peers)."""

    def __init__(self, feeds: list[KlineFeed]) -> None:
        self.feeds = feeds

    async def public_connected(self) -> None:
        for f in self.feeds:
            await f.public_connected()

    async def public_disconnected(self, reason: str) -> None:
        for f in self.feeds:
            await f.public_disconnected(reason)

    async def on_klines(self, updates: list[KlineUpdate]) -> None:
        for f in self.feeds:
            await f.on_klines(updates)

    async def on_ticker(self, update: TickerUpdate) -> None:
        return None
