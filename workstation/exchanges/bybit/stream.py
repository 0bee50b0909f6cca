"""BybitPrivateStream: the V5 private WebSocket (order, execution, position, wallet) on asyncio.

Built on the `websockets` library rather than pybit's WebSocket because pybit's stream ends
for good on a callback exception or a failed auth (pybit #209) and runs callbacks on its own
thread. Here everything runs on the engine's loop, and:

- an application ping ({"op": "ping"}) goes out every `ping_interval_s` (Bybit: 20 s); a pong
  not seen within `pong_timeout_s` means the socket is half-open and counts as DOWN;
- any drop is followed by a reconnect with exponential back-off (with jitter), forever, until
  stop(); the sink is told `stream_connected()` after EVERY successful auth + subscribe so the
  engine resyncs over REST (the stream never replays what was missed, and the wallet topic sends
  no snapshot on subscribe);
- a sink method that raises never ends the stream: the error is reported (`stream_alert`) and
  the stream reconnects, so the REST resync recovers whatever the failed handler dropped;
- auth refused with 10003 (a key for another environment) is a hard stop via the venue guard.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from websockets.asyncio.client import ClientConnection
from websockets.exceptions import WebSocketException

from workstation.core.enums import Category, Venue
from workstation.core.types import ApiCredentials
from workstation.exchanges.bybit import parse
from workstation.exchanges.bybit.guard import VenueGuard
from workstation.exchanges.bybit.ws_link import (
    LinkConfig,
    StreamDown,
    backoff_s,
    open_link,
    pump,
    request,
    stop_task,
)
from workstation.exchanges.ports import AccountStreamSink

log = logging.getLogger(__name__)

TOPICS = ("order", "execution", "position", "wallet")
PRIVATE_URLS = {
    Venue.BYBIT_TESTNET: "wss://stream-testnet.bybit.com/v5/private",
    Venue.BYBIT_DEMO: "wss://stream-demo.bybit.com/v5/private",
    Venue.BYBIT_MAINNET: "wss://stream.bybit.com/v5/private",
}
INVALID_KEY = 10003


@dataclass(frozen=True, slots=True)
class StreamConfig(LinkConfig):
    auth_expiry_ms: int = 10_000


class AuthRefused(Exception):
    def __init__(self, code: int, message: str) -> None:
        self.code = code
        super().__init__(f"auth refused (retCode {code}): {message}")


class BybitPrivateStream:
    """Implements AccountStream. `start(sink)` runs it as a task; `stop()` ends it."""

    def __init__(
        self,
        venue: Venue,
        credentials: ApiCredentials,
        *,
        url: str | None = None,
        config: StreamConfig | None = None,
        guard: VenueGuard | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._venue = venue
        self._credentials = credentials
        self.url = url or PRIVATE_URLS[venue]
        self.config = config or StreamConfig()
        self.guard = guard
        self._monotonic = monotonic
        self._task: asyncio.Task[None] | None = None
        self._ws: ClientConnection | None = None
        self._connected = False
        self.connects = 0  # successful auth + subscribe, for tests and the status line
        self.last_error = ""

    def __repr__(self) -> str:
        return f"BybitPrivateStream(venue={self._venue.value!r}, url={self.url!r})"

    @property
    def venue(self) -> str:
        return self._venue.value

    @property
    def connected(self) -> bool:
        return self._connected

    def start(self, sink: AccountStreamSink) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._supervise(sink), name=f"stream-{self.venue}")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            await stop_task(task)
        self._connected = False

    # --- supervision --------------------------------------------------------------------------
    async def _supervise(self, sink: AccountStreamSink) -> None:
        """Connect, run, reconnect: only cancellation (stop) or a hard stop ends this loop."""
        failures = 0
        while self.guard is None or self.guard.halted_reason is None:
            reason = ""
            try:
                await self._session(sink)
                reason = "closed"
            except AuthRefused as exc:
                reason = str(exc)
                if exc.code == INVALID_KEY and self.guard is not None:
                    self.guard.halt(
                        f"HARD STOP on {self.venue}: the private stream refused the API key (retCode 10003). "
                        f"This venue is {self.guard.environment}; the key belongs to another environment "
                        "or no longer exists. Store the right key and restart.",
                        INVALID_KEY,
                    )
            except (StreamDown, OSError, TimeoutError, WebSocketException, ValueError) as exc:
                reason = str(exc) or type(exc).__name__
            except Exception as exc:  # a bug must not end the stream: alert, reconnect, resync
                reason = f"stream failed: {type(exc).__name__}: {exc}"
                log.exception("private stream %s failed", self.venue)
                await self._notify(sink.stream_alert(reason))
            was_connected, self._connected = self._connected, False
            self.last_error = reason
            if was_connected:
                failures = 0
            log.warning("private stream %s down: %s", self.venue, reason)
            await self._notify(sink.stream_disconnected(reason))
            if self.guard is not None and self.guard.halted_reason is not None:
                break  # hard stop: nothing more goes to this venue
            await asyncio.sleep(self._backoff(failures))
            failures += 1

    def _backoff(self, failures: int) -> float:
        wait = backoff_s(self.config, failures)
        return max(wait, self.guard.blocked_for_s()) if self.guard is not None else wait

    @staticmethod
    async def _notify(awaitable: Any) -> None:
        try:
            await awaitable
        except Exception:
            log.exception("private stream sink failed while being told about the stream's state")

    # --- one connection -----------------------------------------------------------------------
    async def _session(self, sink: AccountStreamSink) -> None:
        async with open_link(self.url, self.config) as ws:
            self._ws = ws
            try:
                await self._authenticate(ws)
                await self._request(ws, {"op": "subscribe", "req_id": "sub", "args": list(TOPICS)}, "subscribe")
                self._connected = True
                self.connects += 1
                log.info("private stream %s connected (%d)", self.venue, self.connects)
                await self._deliver(sink, sink.stream_connected(), "stream_connected")
                await pump(ws, self.config, self._monotonic, lambda message: self._dispatch(message, sink))
            finally:
                self._ws = None

    def _auth_message(self) -> dict[str, Any]:
        offset = self.guard.clock_offset_ms if self.guard is not None else 0
        expires = time.time_ns() // 1_000_000 + offset + self.config.auth_expiry_ms
        secret = self._credentials.api_secret.encode()
        signature = hmac.new(secret, f"GET/realtime{expires}".encode(), hashlib.sha256).hexdigest()
        return {"op": "auth", "req_id": "auth", "args": [self._credentials.api_key, expires, signature]}

    async def _authenticate(self, ws: ClientConnection) -> None:
        await self._request(ws, self._auth_message(), "auth")

    async def _request(self, ws: ClientConnection, message: dict[str, Any], op: str) -> None:
        reply = await request(ws, message, op, self.config, self._monotonic)
        if reply.get("success") is False:
            code = int(reply.get("retCode") or 0)
            text = str(reply.get("retMsg") or reply.get("ret_msg") or "refused")
            if op == "auth":
                raise AuthRefused(code, text)
            raise StreamDown(f"{op} refused: {text}")

    async def _dispatch(self, message: dict[str, Any], sink: AccountStreamSink) -> None:
        topic = str(message.get("topic") or "")
        data = message.get("data") or []
        if not topic or not isinstance(data, list):
            return  # acks of our own requests and anything we did not subscribe to
        venue = self.venue
        if topic == "order":
            orders = [(Category(i.get("category") or "linear"), parse.to_order(i, venue)) for i in data]
            await self._deliver(sink, sink.stream_orders(orders), topic)
        elif topic == "execution":
            fills = [(Category(i.get("category") or "linear"), parse.to_fill(i)) for i in data if parse.is_fill(i)]
            if fills:
                await self._deliver(sink, sink.stream_fills(fills), topic)
            # funding settlements are not fills: a balance change, kept apart (other execTypes are dropped)
            funding = [
                (Category(i.get("category") or "linear"), parse.to_funding(i)) for i in data if parse.is_funding(i)
            ]
            if funding:
                await self._deliver(sink, sink.stream_funding(funding), topic)
        elif topic == "position":
            await self._deliver(sink, sink.stream_positions([parse.to_position(i, venue) for i in data]), topic)
        elif topic == "wallet":
            await self._deliver(sink, sink.stream_balances(parse.to_balances({"list": data}, venue)), topic)

    async def _deliver(self, sink: AccountStreamSink, awaitable: Any, what: str) -> None:
        """Run one sink call. If it raises, alert and end this connection: the reconnect's REST
        resync recovers whatever the handler dropped."""
        try:
            await awaitable
        except Exception as exc:
            reason = f"handler for {what} raised {type(exc).__name__}: {exc}; reconnecting to resync"
            log.exception("private stream %s: %s", self.venue, reason)
            await self._notify(sink.stream_alert(reason))
            raise StreamDown(reason) from None
