"""Live chart feed: follows Bybit's public kline and ticker topics for the series on the chart.

The chart follows the public stream only when the configured venue is a Bybit venue and the shown
symbol is one Bybit lists (USDT/USDC linear perpetual names such as BTCUSDT). The stream URL is,
in order: the `url` given to the feed (ChartPanel's `public_stream_url`), the environment variable
WORKSTATION_PUBLIC_STREAM_URL (tests and private relays), else Bybit's public linear stream of the
venue's network (demo trading reads mainnet market data).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
from collections.abc import Collection

from PySide6.QtCore import QObject, Signal

from workstation.core.enums import Venue
from workstation.data.intervals import BYBIT_KLINE_CODES
from workstation.exchanges.bybit.public_stream import (
    PUBLIC_URLS,
    BybitPublicStream,
    KlineUpdate,
    TickerUpdate,
    kline_topic,
    ticker_topic,
)

log = logging.getLogger(__name__)

URL_ENV = "WORKSTATION_PUBLIC_STREAM_URL"
_BYBIT_SYMBOL = re.compile(r"^[A-Z0-9]{2,20}(USDT|USDC|PERP)$")


def is_bybit_venue(venue: Venue | str | None) -> bool:
    return venue is not None and str(Venue(venue).value).startswith("bybit-")


def listed_on_bybit(symbol: str) -> bool:
    """True for names Bybit lists as linear contracts (BTCUSDT, ETHPERP, 1000PEPEUSDT)."""
    return bool(_BYBIT_SYMBOL.match(symbol))


def public_stream_url(venue: Venue | str, explicit: str | None = None) -> str:
    if explicit:
        return explicit
    from_env = os.environ.get(URL_ENV, "").strip()
    if from_env:
        return from_env
    network = "testnet" if Venue(venue) is Venue.BYBIT_TESTNET else "mainnet"
    return PUBLIC_URLS[network].format(category="linear")


class LiveFeed(QObject):
    """Runs one BybitPublicStream for (symbol, interval) on the asyncio loop and re-emits its
    messages as Qt signals. follow() with another series replaces the stream."""

    kline = Signal(object)  # KlineUpdate for the followed interval
    ticker = Signal(object)  # TickerUpdate
    connection = Signal(bool, str)  # connected, reason when down

    def __init__(self, url: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.url = url
        self.stream: BybitPublicStream | None = None
        self.following: tuple[str, str] | None = None  # (symbol, bybit interval)
        self._stopping: set[asyncio.Task[None]] = set()

    def follow(self, symbol: str, interval: str, listed: Collection[str] | None = None) -> bool:
        """Follow a chart series; returns False (and stops) when Bybit has no such kline. `listed`:
        Bybit's linear symbols from the stored instrument list (None: none stored, so the name
        decides, see listed_on_bybit)."""
        code = BYBIT_KLINE_CODES.get(interval)
        known = listed_on_bybit(symbol) if listed is None else symbol in listed
        if code is None or not known:
            self.stop()
            return False
        if self.following == (symbol, code) and self.stream is not None:
            return True
        self.stop()
        self.following = (symbol, code)
        self.stream = BybitPublicStream(self.url, [kline_topic(symbol, code), ticker_topic(symbol)])
        self.stream.start(self)
        log.info("chart follows %s %s on %s", symbol, interval, self.url)
        return True

    def stop(self) -> None:
        stream, self.stream, self.following = self.stream, None, None
        if stream is None:
            return
        with contextlib.suppress(RuntimeError):  # no loop running (the app is closing)
            task = asyncio.get_event_loop().create_task(stream.stop())
            self._stopping.add(task)
            task.add_done_callback(self._stopping.discard)

    @property
    def idle(self) -> bool:
        """No stream running and every stop finished (the socket is closed)."""
        return self.stream is None and not self._stopping

    # --- PublicStreamSink ---------------------------------------------------------------------
    async def public_connected(self) -> None:
        self.connection.emit(True, "")

    async def public_disconnected(self, reason: str) -> None:
        self.connection.emit(False, reason)

    async def on_klines(self, updates: list[KlineUpdate]) -> None:
        following = self.following
        for update in updates:
            if following is not None and (update.symbol, update.interval) == following:
                self.kline.emit(update)

    async def on_ticker(self, update: TickerUpdate) -> None:
        if self.following is not None and update.symbol == self.following[0]:
            self.ticker.emit(update)
