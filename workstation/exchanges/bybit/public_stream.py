"""BybitPublicStream: the V5 public WebSocket (kline and ticker topics) for the chart.

Same supervision as the private stream (stream.py; the shared parts are in ws_link.py), without auth:
- an application ping every `ping_interval_s` (Bybit: 20 s); no pong within `pong_timeout_s`
  means the socket is half-open and counts as DOWN;
- any drop is followed by a reconnect with exponential back-off (jitter), forever, until stop();
  every topic subscribed so far is subscribed again on the new connection;
- a sink method that raises is logged and does not end the stream (the chart just misses an
  update; the next kline message carries the whole bar again).
Ticker messages on derivatives come as a snapshot and then deltas carrying only the fields that
changed; they are merged so the sink always gets the full ticker.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from websockets.asyncio.client import ClientConnection
from websockets.exceptions import WebSocketException

from workstation.core.types import Candle
from workstation.exchanges.bybit.ws_link import (
    LinkConfig,
    StreamDown,
    backoff_s,
    open_link,
    pump,
    request,
    stop_task,
)

log = logging.getLogger(__name__)

PUBLIC_URLS = {
    "mainnet": "wss://stream.bybit.com/v5/public/{category}",
    "testnet": "wss://stream-testnet.bybit.com/v5/public/{category}",
}


PublicStreamConfig = LinkConfig  # the public stream needs no more than the shared timings


@dataclass(frozen=True, slots=True)
class KlineUpdate:
    symbol: str
    interval: str  # Bybit's interval code: "1", "5", "60", "D", ...
    candle: Candle
    confirmed: bool  # True once the bar is closed


@dataclass(frozen=True, slots=True)
class TickerUpdate:
    symbol: str
    last_price: Decimal | None
    mark_price: Decimal | None
    bid: Decimal | None
    ask: Decimal | None
    ts: int


class PublicStreamSink(Protocol):
    async def public_connected(self) -> None: ...

    async def public_disconnected(self, reason: str) -> None: ...

    async def on_klines(self, updates: list[KlineUpdate]) -> None: ...

    async def on_ticker(self, update: TickerUpdate) -> None: ...


def kline_topic(symbol: str, interval: str) -> str:
    return f"kline.{interval}.{symbol}"


def ticker_topic(symbol: str) -> str:
    return f"tickers.{symbol}"


class BybitPublicStream:
    def __init__(
        self,
        url: str,
        topics: Iterable[str] = (),
        *,
        config: PublicStreamConfig | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = url
        self.config = config or PublicStreamConfig()
        self._topics: list[str] = list(dict.fromkeys(topics))
        self._monotonic = monotonic
        self._task: asyncio.Task[None] | None = None
        self._ws: ClientConnection | None = None
        self._connected = False
        self._tickers: dict[str, dict[str, Any]] = {}
        self.connects = 0
        self.last_error = ""

    def __repr__(self) -> str:
        return f"BybitPublicStream(url={self.url!r}, topics={len(self._topics)})"

    @property
    def connected(self) -> bool:
        return self._connected

    @property
    def topics(self) -> list[str]:
        return list(self._topics)

    def start(self, sink: PublicStreamSink) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._supervise(sink), name="bybit-public-stream")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            await stop_task(task)
        self._connected = False

    async def subscribe(self, *topics: str) -> None:
        """Add topics; sent now when connected, and again after every reconnect."""
        new = [t for t in topics if t not in self._topics]
        self._topics.extend(new)
        ws = self._ws
        if new and ws is not None and self._connected:
            with contextlib.suppress(WebSocketException, OSError):
                await ws.send(json.dumps({"op": "subscribe", "req_id": "sub-more", "args": new}))

    # --- supervision --------------------------------------------------------------------------
    async def _supervise(self, sink: PublicStreamSink) -> None:
        failures = 0
        while True:
            try:
                await self._session(sink)
                reason = "closed"
            except (StreamDown, OSError, TimeoutError, WebSocketException, ValueError) as exc:
                reason = str(exc) or type(exc).__name__
            except Exception as exc:  # a bug must not end the chart's stream
                reason = f"stream failed: {type(exc).__name__}: {exc}"
                log.exception("public stream failed")
            was_connected, self._connected = self._connected, False
            self.last_error = reason
            if was_connected:
                failures = 0
            log.warning("public stream down: %s", reason)
            await self._notify(sink.public_disconnected(reason))
            await asyncio.sleep(backoff_s(self.config, failures))
            failures += 1

    @staticmethod
    async def _notify(awaitable: Any) -> None:
        try:
            await awaitable
        except Exception:
            log.exception("public stream sink failed")

    async def _session(self, sink: PublicStreamSink) -> None:
        async with open_link(self.url, self.config) as ws:
            self._ws = ws
            try:
                if self._topics:
                    subscribe = {"op": "subscribe", "req_id": "sub", "args": list(self._topics)}
                    reply = await request(ws, subscribe, "subscribe", self.config, self._monotonic)
                    if reply.get("success") is False:
                        raise StreamDown(f"subscribe refused: {reply.get('ret_msg') or 'refused'}")
                self._connected = True
                self.connects += 1
                log.info("public stream connected (%d), %d topics", self.connects, len(self._topics))
                await self._notify(sink.public_connected())
                await pump(ws, self.config, self._monotonic, lambda message: self._dispatch(message, sink))
            finally:
                self._ws = None

    async def _dispatch(self, message: dict[str, Any], sink: PublicStreamSink) -> None:
        topic = str(message.get("topic") or "")
        data = message.get("data")
        if topic.startswith("kline.") and isinstance(data, list):
            _, interval, symbol = topic.split(".", 2)
            updates = [_kline(symbol, interval, item) for item in data]
            await self._notify(sink.on_klines(updates))
        elif topic.startswith("tickers.") and isinstance(data, dict):
            symbol = topic.split(".", 1)[1]
            state = {} if message.get("type") == "snapshot" else self._tickers.get(symbol, {})
            state = {**state, **{k: v for k, v in data.items() if v not in (None, "")}}
            self._tickers[symbol] = state
            await self._notify(sink.on_ticker(_ticker(symbol, state, int(message.get("ts") or 0))))


def _kline(symbol: str, interval: str, item: dict[str, Any]) -> KlineUpdate:
    candle = Candle(
        ts=int(item["start"]),
        open=float(item["open"]),
        high=float(item["high"]),
        low=float(item["low"]),
        close=float(item["close"]),
        volume=float(item.get("volume") or 0),
    )
    return KlineUpdate(symbol, interval, candle, bool(item.get("confirm")))


def _dec(value: Any) -> Decimal | None:
    return None if value in (None, "") else Decimal(str(value))


def _ticker(symbol: str, state: dict[str, Any], ts: int) -> TickerUpdate:
    return TickerUpdate(
        symbol=symbol,
        last_price=_dec(state.get("lastPrice")),
        mark_price=_dec(state.get("markPrice")),
        bid=_dec(state.get("bid1Price")),
        ask=_dec(state.get("ask1Price")),
        ts=ts,
    )
