"""StreamingFakeBybit: FakeBybit plus the V5 private WebSocket, batch create and rule changes.

    with StreamingFakeBybit() as fake:          # HTTP on fake.base_url, WebSocket on fake.ws.url
        fake.ws.go_silent()                     # half-open: no pongs, no data, socket stays open
        fake.ws.drop()                          # abort every connection (no close frame)
        fake.ws.refuse(True)                    # refuse new connections (HTTP 503 at handshake)
        fake.ws.duplicate = True                # every topic message is sent twice
        fake.schedule_tick_change("BTCUSDT", "0.5", after_calls=1)

The WebSocket is real (tests.fakes.ws_server: 127.0.0.1, its own thread and loop): V5 auth
message (HMAC of "GET/realtime{expires}"), subscribe, ping/pong. Topic messages (order,
execution, position, wallet) are derived from the fake book's changes after every HTTP request
and every fill_order()/set_balance()/settle_funding() (Funding executions included); what happens
while nobody is connected is never replayed, like on Bybit.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from tests.fakes.bybit_exchange import ApiError, Params, public
from tests.fakes.bybit_server import FakeBybit
from tests.fakes.ws_server import FakeWsServer, WsConn

BATCH = "/v5/order/create-batch"
INSTRUMENTS = "/v5/market/instruments-info"


@dataclass(eq=False)
class _Conn(WsConn):
    authed: bool = False


class FakePrivateWs(FakeWsServer):
    thread_name = "fake-bybit-ws"

    def __init__(self, owner: StreamingFakeBybit) -> None:
        super().__init__("/v5/private")
        self.owner = owner
        self.duplicate = False
        self.auths = 0  # successful auths
        self.pings = 0
        self.sent: list[dict[str, Any]] = []  # topic messages actually delivered
        self.ops: list[str] = []  # every "op" a client sent (auth, subscribe, ping, order.create, ...)

    @property
    def live_connections(self) -> int:
        return sum(1 for c in list(self._conns) if c.authed and not c.silent)

    def send_raw(self, topic: str, data: list[dict[str, Any]]) -> None:
        """Push a hand-made topic message to every subscriber (duplicates, out-of-order reports)."""
        self.broadcast([_topic_message(topic, data, self.owner.server_time_ms())])

    def broadcast(self, messages: list[dict[str, Any]]) -> None:
        if self.loop is None or not messages:
            return

        async def push() -> None:
            for message in messages:
                for conn in list(self._conns):
                    if conn.authed and not conn.silent and message["topic"] in conn.topics:
                        for _ in range(2 if self.duplicate else 1):
                            await self._send(conn, message)
                            self.sent.append(message)

        self._call(push)

    # --- protocol ---------------------------------------------------------------------------
    def _new_conn(self, ws: ServerConnection) -> _Conn:
        return _Conn(ws)

    @staticmethod
    async def _send(conn: _Conn, message: dict[str, Any]) -> None:
        try:
            await conn.ws.send(json.dumps(message))
        except ConnectionClosed:
            pass

    async def _on_message(self, conn: _Conn, message: dict[str, Any]) -> None:
        self.ops.append(str(message.get("op")))
        reply = self._answer(conn, message)
        if reply is not None:
            await self._send(conn, reply)
            if message.get("op") == "auth" and not reply["success"]:
                await conn.ws.close()

    def _answer(self, conn: _Conn, message: dict[str, Any]) -> dict[str, Any] | None:
        op, req_id = message.get("op"), message.get("req_id", "")
        if op == "ping":
            self.pings += 1
            now = str(self.owner.server_time_ms())
            return {"req_id": req_id, "op": "pong", "args": [now], "conn_id": conn.id}
        if op == "auth":
            code, msg = self._check_auth(message.get("args") or [])
            conn.authed = code == 0
            self.auths += conn.authed
            return {
                "req_id": req_id,
                "op": "auth",
                "success": code == 0,
                "retCode": code,
                "retMsg": msg,
                "connId": conn.id,
            }
        if op == "subscribe":
            if not conn.authed:
                return {"req_id": req_id, "op": "subscribe", "success": False, "ret_msg": "Request not authorized"}
            conn.topics |= {str(t) for t in message.get("args") or []}
            return {"req_id": req_id, "op": "subscribe", "success": True, "ret_msg": "", "conn_id": conn.id}
        return None

    def _check_auth(self, args: list[Any]) -> tuple[int, str]:
        if len(args) != 3:
            return 10001, "Params Error"
        api_key, expires, signature = str(args[0]), int(args[1]), str(args[2])
        key = self.owner._keys.get(api_key)
        if key is None:
            return 10003, "Invalid apikey"
        if expires <= self.owner.server_time_ms():
            return 10002, "Params Error: expires is in the past"
        expected = hmac.new(key.api_secret.encode(), f"GET/realtime{expires}".encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, signature):
            return 10004, "Invalid sign"
        return 0, ""


def _topic_message(topic: str, data: list[dict[str, Any]], now_ms: int) -> dict[str, Any]:
    return {"id": uuid.uuid4().hex, "topic": topic, "creationTime": now_ms, "data": data}


class StreamingFakeBybit(FakeBybit):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.ws = FakePrivateWs(self)
        self._post[BATCH] = self._create_batch
        self.batch_failures: dict[str, tuple[int, str]] = {}  # orderLinkId -> refusal
        self._tick_changes: list[tuple[str, str, int]] = []  # (symbol, tick, after n answers)
        self.instrument_answers = 0
        self._order_sigs: dict[str, tuple[Any, ...]] = {}
        self._exec_seen = 0
        self._position_seqs: dict[tuple[str, str], Any] = {}
        self._wallet: Any = None

    def start(self) -> StreamingFakeBybit:
        super().start()
        self.ws.start()
        return self

    def stop(self) -> None:
        self.ws.stop()
        super().stop()

    def __enter__(self) -> StreamingFakeBybit:
        return self.start()

    # --- rule changes -----------------------------------------------------------------------
    def set_tick_size(self, symbol: str, tick: str) -> None:
        with self.exchange.lock:
            for i, inst in enumerate(self.exchange.instruments):
                if inst["symbol"] == symbol:  # a new nested dict: the defaults are shared
                    self.exchange.instruments[i] = inst | {"priceFilter": {**inst["priceFilter"], "tickSize": tick}}

    def schedule_tick_change(self, symbol: str, tick: str, after_calls: int = 1) -> None:
        """After `after_calls` more instruments-info answers, the symbol's tick size changes."""
        self._tick_changes.append((symbol, tick, self.instrument_answers + after_calls))

    # --- hooks ------------------------------------------------------------------------------
    def _handle(
        self, method: str, target: str, headers: dict[str, str], body: str
    ) -> tuple[int, dict[str, str], bytes]:
        status, extra, payload = super()._handle(method, target, headers, body)
        path = target.split("?", 1)[0]
        if path == INSTRUMENTS and status == 200:
            self.instrument_answers += 1
            for change in [c for c in self._tick_changes if c[2] <= self.instrument_answers]:
                self._tick_changes.remove(change)
                self.set_tick_size(change[0], change[1])
        if path == BATCH and payload.startswith(b"{"):
            envelope = json.loads(payload)
            ext = (envelope.get("result") or {}).pop("_ext", None)
            if ext is not None:
                envelope["retExtInfo"] = {"list": ext}
            payload = json.dumps(envelope).encode()
        self.publish_changes()
        return status, extra, payload

    def fill_order(self, order_link_id: str, price: Decimal | str, qty: Decimal | str) -> dict[str, Any]:
        execution = super().fill_order(order_link_id, price, qty)
        self.publish_changes()
        return execution

    def set_balance(self, coin: str, amount: Decimal | str, account_type: str = "UNIFIED") -> None:
        super().set_balance(coin, amount, account_type)
        self.publish_changes()

    def settle_funding(self) -> list[dict[str, Any]]:
        made = super().settle_funding()
        if made:  # on the execution (and wallet) topics at once, as Bybit pushes them
            self.publish_changes()
        return made

    def _create_batch(self, params: Params) -> dict[str, Any]:
        category = str(params.get("category") or "")
        results, ext = [], []
        for item in params.get("request") or []:
            link = str(item.get("orderLinkId") or "")
            try:
                if link in self.batch_failures:
                    raise ApiError(*self.batch_failures[link])
                created = self.exchange.order_create({**item, "category": category})
                results.append({"category": category, "symbol": item.get("symbol"), **created, "createAt": ""})
                ext.append({"code": 0, "msg": "OK"})
            except ApiError as err:
                results.append({"category": "", "symbol": "", "orderId": "", "orderLinkId": "", "createAt": ""})
                ext.append({"code": err.code, "msg": err.msg})
        return {"list": results, "_ext": ext}

    def publish_changes(self) -> None:
        """Diff the book against what was last announced; push order/execution/position/wallet."""
        ex = self.exchange
        messages: list[dict[str, Any]] = []
        with ex.lock:
            now = self.server_time_ms()
            orders = []
            for order in ex.orders.values():
                sig = (order["orderStatus"], order["cumExecQty"], order["qty"], order["price"], order["updatedTime"])
                if self._order_sigs.get(order["orderId"]) != sig:
                    self._order_sigs[order["orderId"]] = sig
                    orders.append(public(order) | {"category": order["_category"]})
            executions = [public(e) | {"category": e["_category"]} for e in ex.executions[self._exec_seen :]]
            self._exec_seen = len(ex.executions)
            positions = []
            for key, pos in ex.positions.items():
                if self._position_seqs.get(key) != pos["seq"]:
                    self._position_seqs[key] = pos["seq"]
                    positions.append(public(pos) | {"category": pos["_category"]})
            wallet = ex.wallet_balance({"accountType": "UNIFIED"})["list"]
            wallet_changed = wallet != self._wallet
            self._wallet = wallet
        for topic, data in (("order", orders), ("execution", executions), ("position", positions)):
            if data:
                messages.append(_topic_message(topic, data, now))
        if wallet_changed:
            messages.append(_topic_message("wallet", wallet, now))
        self.ws.broadcast(messages)


@pytest.fixture
def streaming_fake() -> Iterator[StreamingFakeBybit]:
    with StreamingFakeBybit() as fake:
        yield fake
