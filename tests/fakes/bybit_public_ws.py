"""FakePublicWs: a real local Bybit V5 public WebSocket (subscribe, ping/pong, kline, tickers).

    with FakePublicWs() as fake:                 # ws://127.0.0.1:PORT/v5/public/linear
        fake.push_kline("BTCUSDT", "1", start_ms, 1, 2, 0.5, 1.5, 10, confirm=False)
        fake.push_ticker("BTCUSDT", {"lastPrice": "100"}, kind="snapshot")
        fake.go_silent()                         # half-open: no pongs, no data, socket stays open
        fake.drop()                              # abort every connection (no close frame)
        fake.refuse(True)                        # refuse new connections (HTTP 503 at handshake)

Runs the `websockets` server on its own thread and loop (tests.fakes.ws_server). Messages pushed while nobody is
subscribed are lost, like on Bybit.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed

from tests.fakes.ws_server import FakeWsServer, WsConn


class FakePublicWs(FakeWsServer):
    thread_name = "fake-bybit-public-ws"
    not_started = "the fake public WebSocket is not started"

    def __init__(self, category: str = "linear") -> None:
        super().__init__(f"/v5/public/{category}")
        self.category = category
        self.pings = 0
        self.subscriptions: list[list[str]] = []  # args of every subscribe, in order

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
    async def _on_message(self, conn: WsConn, message: dict[str, Any]) -> None:
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
        await conn.ws.send(json.dumps(reply))


@pytest.fixture
def public_ws() -> Iterator[FakePublicWs]:
    """One started fake Bybit public WebSocket per test, stopped afterwards."""
    with FakePublicWs() as fake:
        yield fake
