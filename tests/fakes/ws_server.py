"""FakeWsServer: the lifecycle and fault injection the fake Bybit WebSockets share.

A real `websockets` server on 127.0.0.1 (a free port), run on its own thread and event loop so
the code under test talks to it over TCP from any loop. Subclasses answer messages in
`_on_message` and may carry more per-connection state by overriding `_new_conn`:

    server.start() / server.stop() / with server: ...   # url: ws://127.0.0.1:PORT{path}
    server.go_silent()                                   # half-open: no pongs, no data, socket stays open
    server.drop()                                        # abort every connection (no close frame)
    server.refuse(True)                                  # refuse new connections (HTTP 503 at handshake)
"""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, Self

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response


@dataclass(eq=False)
class WsConn:
    ws: ServerConnection
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    silent: bool = False
    topics: set[str] = field(default_factory=set)


class FakeWsServer:
    """Subclasses set `path` (the URL path) and `thread_name`, and implement `_on_message`."""

    thread_name = "fake-ws"
    not_started = "the fake WebSocket is not started"

    def __init__(self, path: str) -> None:
        self.path = path
        self.loop: asyncio.AbstractEventLoop | None = None
        self._server: Server | None = None
        self._thread: threading.Thread | None = None
        self._conns: set[Any] = set()
        self.refusing = False
        self.connections = 0  # accepted handshakes

    # --- lifecycle --------------------------------------------------------------------------
    def start(self) -> Self:
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

        self._thread = threading.Thread(target=run, name=self.thread_name, daemon=True)
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

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._server is not None, self.not_started
        port = next(iter(self._server.sockets)).getsockname()[1]
        return f"ws://127.0.0.1:{port}{self.path}"

    # --- fault injection --------------------------------------------------------------------
    def _call(self, fn: Callable[[], Coroutine[Any, Any, Any]]) -> Any:
        """Run a coroutine function on the server's loop and wait for its result."""
        assert self.loop is not None
        return asyncio.run_coroutine_threadsafe(fn(), self.loop).result(5)

    def go_silent(self) -> None:
        """Every current connection stops answering and sending, but stays open (half-open)."""

        async def silence() -> None:
            for conn in self._conns:
                conn.silent = True

        self._call(silence)

    def drop(self) -> None:
        """Abort every connection at the TCP level."""

        async def abort() -> None:
            for conn in list(self._conns):
                conn.ws.transport.abort()

        self._call(abort)

    def refuse(self, refusing: bool) -> None:
        self.refusing = refusing

    # --- protocol ---------------------------------------------------------------------------
    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        if self.refusing:
            return connection.respond(HTTPStatus.SERVICE_UNAVAILABLE, "stream unavailable\n")
        return None

    def _new_conn(self, ws: ServerConnection) -> WsConn:
        return WsConn(ws)

    async def _on_message(self, conn: Any, message: dict[str, Any]) -> None:
        raise NotImplementedError

    async def _handler(self, ws: ServerConnection) -> None:
        conn = self._new_conn(ws)
        self._conns.add(conn)
        self.connections += 1
        try:
            async for raw in ws:
                if conn.silent:
                    continue
                await self._on_message(conn, json.loads(raw))
        except ConnectionClosed:
            pass
        finally:
            self._conns.discard(conn)
