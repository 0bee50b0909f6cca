"""FakePublicWs: a real local Bybit V5 public WebSocket (subscribe, ping/pong, kline, tickers).

    with FakePublicWs() as fake:                 # ws://127.0.0.1:PORT/v5/public/linear
        fake.push_kline("BTCUSDT", "1", start_ms, 1, 2, 0.5, 1.5, 10, confirm=False)
        fake.push_ticker("BTCUSDT", {"lastPrice": "100"}, kind="snapshot")
        fake.go_silent()                         # half-open: no pongs, no data, socket stays open
        fake.drop()                              # abort every connection (no close frame)
        fake.refuse(True)                        # refuse new connections (HTTP 503 at handshake)

Runs the `websockets` server on its own thread and loop. Messages pushed while nobody is
subscribed are lost, like on Bybit.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

import pytest
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response


@dataclass(eq=False)
class _Conn:
    ws: ServerConnection
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    silent: bool = False
    topics: set[str] = field(default_factory=set)


class FakePublicWs:
    def __init__(self, category: str = "linear") -> None:
        self.category = category
        self.loop: asyncio.AbstractEventLoop | None = None
        self._server: Server | None = None
        self._thread: threading.Thread | None = None
        self._conns: set[_Conn] = set()
        self.refusing = False
        self.connections = 0
        self.pings = 0
        self.subscriptions: list[list[str]] = []  # args of every subscribe, in order

    def start(self) -> FakePublicWs:
        ready = threading.Event()
        self.loop = asyncio.new_event_loop()

        def run() -> None:
            assert self.loop is not None
            asyncio.set_event_loop(self.loop)

            async def open_server() -> Server:
                return await serve(
                    self._handler, "127.0.0.1", 0, ping_interval=None, process_request=self._process_request
                )

            self._server = self.loop.run_until_complete(open_server())
            ready.set()
            self.loop.run_forever()

        self._thread = threading.Thread(target=run, name="fake-bybit-public-ws", daemon=True)
        self._thread.start()
        ready.wait(5)
        return self

    def stop(self) -> None:
        if self.loop is None or self._server is None:
            return
        server, loop = self._server, self.loop

        async def shutdown() -> None:
            server.close()
            for conn in list(self._conns):
                conn.ws.transport.abort()
            await asyncio.wait_for(server.wait_closed(), 2)

        asyncio.run_coroutine_threadsafe(shutdown(), loop).result(5)
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(5)
        self._server = None

    def __enter__(self) -> FakePublicWs:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._server is not None, "the fake public WebSocket is not started"
        port = next(iter(self._server.sockets)).getsockname()[1]
        return f"ws://127.0.0.1:{port}/v5/public/{self.category}"

    # --- fault injection --------------------------------------------------------------------
    def _call(self, fn: Callable[[], Any]) -> Any:
        assert self.loop is not None
        return asyncio.run_coroutine_threadsafe(fn(), self.loop).result(5)

    def go_silent(self) -> None:
        async def silence() -> None:
            for conn in self._conns:
                conn.silent = True

        self._call(silence)

    def drop(self) -> None:
        async def abort() -> None:
            for conn in list(self._conns):
                conn.ws.transport.abort()

        self._call(abort)

    def refuse(self, refusing: bool) -> None:
        self.refusing = refusing

    @property
    def live_subscribers(self) -> int:
        return sum(1 for c in list(self._conns) if c.topics and not c.silent)

    # --- data -------------------------------------------------------------------------------
    def push_kline(
        self,
        symbol: str,
        interval: str,
        start_ms: int,
        o: float,
        h: float,
        low: float,
        c: float,
        volume: float,
        *,
        confirm: bool,
    ) -> int:
        item = {
            "start": start_ms,
            "end": start_ms + 59_999,
            "interval": interval,
            "open": str(o),
            "high": str(h),
            "low": str(low),
            "close": str(c),
            "volume": str(volume),
            "turnover": "0",
            "confirm": confirm,
            "timestamp": int(time.time() * 1000),
        }
        topic = f"kline.{interval}.{symbol}"
        return self.publish({"topic": topic, "data": [item], "ts": item["timestamp"], "type": "snapshot"})

    def push_ticker(self, symbol: str, fields: dict[str, str], *, kind: str = "snapshot") -> int:
        data = {"symbol": symbol, **fields}
        return self.publish({"topic": f"tickers.{symbol}", "type": kind, "data": data, "ts": int(time.time() * 1000)})

    def publish(self, message: dict[str, Any]) -> int:
        """Send to every live subscriber of the topic; returns how many got it."""

        async def push() -> int:
            delivered = 0
            for conn in list(self._conns):
                if not conn.silent and message["topic"] in conn.topics:
                    try:
                        await conn.ws.send(json.dumps(message))
                        delivered += 1
                    except ConnectionClosed:
                        pass
            return delivered

        return int(self._call(push))

    # --- protocol ---------------------------------------------------------------------------
    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        if self.refusing:
            return connection.respond(HTTPStatus.SERVICE_UNAVAILABLE, "stream unavailable\n")
        return None

    async def _handler(self, ws: ServerConnection) -> None:
        conn = _Conn(ws)
        self._conns.add(conn)
        self.connections += 1
        try:
            async for raw in ws:
                if conn.silent:
                    continue
                message = json.loads(raw)
                op, req_id = message.get("op"), message.get("req_id", "")
                if op == "ping":
                    self.pings += 1
                    reply = {"success": True, "ret_msg": "pong", "conn_id": conn.id, "req_id": req_id, "op": "ping"}
                elif op == "subscribe":
                    args = [str(a) for a in message.get("args") or []]
                    self.subscriptions.append(args)
                    conn.topics.update(args)
                    reply = {"success": True, "ret_msg": "", "conn_id": conn.id, "req_id": req_id, "op": "subscribe"}
                else:
                    reply = {"success": False, "ret_msg": f"unknown op {op}", "conn_id": conn.id, "op": op}
                await ws.send(json.dumps(reply))
        except ConnectionClosed:
            pass
        finally:
            self._conns.discard(conn)


@pytest.fixture
def fake_public_ws() -> Iterator[FakePublicWs]:
    with FakePublicWs() as fake:
        yield fake
