"""FakeBybit: a real local HTTP server that speaks Bybit V5 (signing, clock window, envelopes).

    with FakeBybit() as fake:
        client = BybitExecutionClient(Venue.BYBIT_TESTNET, creds, base_url=fake.base_url)
        ...
        assert fake.mutating_requests() == []

In a test module or conftest: `from tests.fakes.bybit_server import fake_bybit` makes the
`fake_bybit` fixture available (one server per test).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
import uuid
from collections import defaultdict, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from tests.fakes.bybit_book import FakeExchange
from tests.fakes.bybit_exchange import ApiError, KeyRecord, Params, default_permissions, page, public, s
from tests.fakes.bybit_market import kline_rows

DEFAULT_API_KEY = "FAKEKEY0000000000001"
DEFAULT_API_SECRET = "FAKESECRET000000000000000000000000001"
MUTATING_PREFIXES = ("/v5/order/", "/v5/position/", "/v5/asset/")
_RATE_LIMITS = {"/v5/order/create": 10, "/v5/order/amend": 10, "/v5/order/cancel": 10}

Handler = Callable[[dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    params: dict[str, Any]
    raw: str  # the query string (GET) or the raw JSON body (POST), exactly as signed
    has_auth: bool
    api_key: str | None
    ts_ms: int


@dataclass(frozen=True)
class _Fault:
    kind: str  # "ret_code" | "http_status" | "delay"
    ret_code: int = 0
    ret_msg: str = ""
    status: int = 0
    seconds: float = 0.0


@dataclass
class _Faults:
    queues: dict[str, deque[_Fault]] = field(default_factory=lambda: defaultdict(deque))

    def pop(self, path: str, kind: str) -> _Fault | None:
        queue = self.queues.get(path)
        if queue and queue[0].kind == kind:
            return queue.popleft()
        return None


class FakeBybit:
    """A local Bybit V5 exchange on 127.0.0.1 and an ephemeral port."""

    def __init__(self, api_key: str = DEFAULT_API_KEY, api_secret: str = DEFAULT_API_SECRET) -> None:
        self.api_key = api_key
        self.api_secret = api_secret
        self._clock_offset_ms = 0
        self._lock = threading.RLock()
        self._keys: dict[str, KeyRecord] = {}
        self._log: list[RecordedRequest] = []
        self._faults = _Faults()
        self._hits: dict[tuple[str, str, int], int] = defaultdict(int)
        self.errors: list[BaseException] = []  # bugs inside the fake itself (answered with HTTP 500)
        self.exchange = FakeExchange(self.server_time_ms)
        self.add_key(api_key, api_secret, default_permissions())
        self._funding_settled: set[tuple[str, str, int]] = set()  # (category, symbol, ts) looked at
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        ex = self.exchange
        self._get: dict[str, Handler] = {
            "/v5/market/time": ex.market_time,
            "/v5/market/kline": ex.market_kline,
            "/v5/market/mark-price-kline": ex.market_mark_kline,
            "/v5/market/funding/history": ex.market_funding_history,
            "/v5/market/instruments-info": ex.market_instruments,
            "/v5/account/wallet-balance": ex.wallet_balance,
            "/v5/position/list": ex.position_list,
            "/v5/order/realtime": ex.order_realtime,
            "/v5/order/history": ex.order_history,
            "/v5/execution/list": self._execution_list,
            "/v5/user/query-api": dict,  # answered from the caller's KeyRecord in _handle
        }
        self._post: dict[str, Handler] = {
            "/v5/order/create": ex.order_create,
            "/v5/order/amend": ex.order_amend,
            "/v5/order/cancel": ex.order_cancel,
            "/v5/order/cancel-all": ex.order_cancel_all,
            "/v5/position/set-leverage": ex.set_leverage,
            "/v5/position/trading-stop": ex.set_trading_stop,
            "/v5/asset/transfer/inter-transfer": ex.inter_transfer,
        }

    # --- lifecycle --------------------------------------------------------------------------
    def start(self) -> FakeBybit:
        fake = self

        class _Handler(_RequestHandler):
            owner = fake

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._server.block_on_close = False
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), name="fake-bybit", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeBybit:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        assert self._server is not None, "FakeBybit is not started"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    # --- configuration ----------------------------------------------------------------------
    def add_key(
        self,
        api_key: str,
        api_secret: str,
        permissions: dict[str, list[str]] | None = None,
        read_only: bool = False,
        ips: list[str] | None = None,
        expired_at: str = "2099-01-01T00:00:00Z",
    ) -> None:
        """Register a key. Give withdraw rights with permissions={"Wallet": ["Withdraw"], ...}."""
        with self._lock:
            self._keys[api_key] = KeyRecord(
                api_key,
                api_secret,
                default_permissions() if permissions is None else permissions,
                read_only,
                ["*"] if ips is None else list(ips),
                expired_at,
            )

    def set_clock_offset_ms(self, ms: int) -> None:
        """Skew the server clock: positive means the server is ahead of the client."""
        self._clock_offset_ms = ms

    def server_time_ms(self) -> int:
        return time.time_ns() // 1_000_000 + self._clock_offset_ms

    def fail_next(self, path: str, ret_code: int, ret_msg: str = "injected failure", times: int = 1) -> None:
        """The next `times` authenticated requests to `path` answer with this retCode."""
        self._push(path, _Fault("ret_code", ret_code=ret_code, ret_msg=ret_msg), times)

    def http_status_next(self, path: str, status: int, times: int = 1) -> None:
        """The next request to `path` answers with this HTTP status (403 = IP rate limit)."""
        self._push(path, _Fault("http_status", status=status), times)

    def delay_next(self, path: str, seconds: float, times: int = 1) -> None:
        """The next request to `path` waits before it is processed (and still takes effect)."""
        self._push(path, _Fault("delay", seconds=seconds), times)

    def clear_faults(self) -> None:
        with self._lock:
            self._faults = _Faults()

    def _push(self, path: str, fault: _Fault, times: int) -> None:
        with self._lock:
            self._faults.queues[path].extend([fault] * times)

    def set_candles(self, symbol: str, interval: str, rows: list[Any], category: str = "linear") -> None:
        """Rows are (ts_ms, open, high, low, close, volume[, turnover]) tuples or objects with those
        attributes (e.g. core Candle). Kline answers serve them newest first. `interval` is Bybit's
        ("1", "60", "D")."""
        with self.exchange.lock:
            self.exchange.candles[(category, symbol, interval)] = kline_rows(rows)
            if category == "linear" and not any(i["symbol"] == symbol for i in self.exchange.instruments):
                self._list(symbol)

    def set_mark_candles(self, symbol: str, interval: str, rows: list[Any], category: str = "linear") -> None:
        """Mark-price kline rows: (ts_ms, open, high, low, close[, ignored volume])."""
        with self.exchange.lock:
            self.exchange.mark_candles[(category, symbol, interval)] = kline_rows(rows, with_volume=False)

    def set_funding(self, symbol: str, rows: list[tuple[int, Any]], category: str = "linear") -> None:
        """Funding settlements as (ts_ms, rate) pairs: served by /v5/market/funding/history, and
        settled on the account's open position as the exchange clock passes each one (only those
        still ahead of the clock now: the past is market data, not the account's)."""
        with self.exchange.lock:
            self.exchange.funding[(category, symbol)] = sorted((int(t), str(r)) for t, r in rows)
            now = self.exchange.now_ms()
            self._funding_settled |= {(category, symbol, int(t)) for t, _ in rows if int(t) <= now}

    def settle_funding(self) -> list[dict[str, Any]]:
        """Settle every funding time the exchange clock has reached on the position held then, as
        Bybit does: an execution of execType "Funding" (execQty the position's size, side its side,
        execPrice the mark price, execValue size x mark, feeRate the rate, execFee what the account
        paid: value x rate for a long, -value x rate for a short; negative = received), and the
        wallet moves by -execFee. Runs before every request is handled (so a settlement always
        sees the position from before the request's orders); returns the executions it made."""
        ex = self.exchange
        made: list[dict[str, Any]] = []
        with ex.lock:
            now = ex.now_ms()
            for (category, symbol), rows in ex.funding.items():
                for ts, rate in rows:
                    key = (category, symbol, ts)
                    if ts > now or key in self._funding_settled:
                        continue
                    self._funding_settled.add(key)
                    position = ex.positions.get((category, symbol))
                    if position is not None and Decimal(position["size"]) != 0:
                        made.append(self._funding_execution(category, position, ts, Decimal(rate)))
        return made

    def _funding_execution(self, category: str, position: dict[str, Any], ts: int, rate: Decimal) -> dict[str, Any]:
        ex = self.exchange
        symbol, size = position["symbol"], Decimal(position["size"])
        mark = ex.mark_prices.get(symbol) or Decimal(position["avgPrice"])
        value = size * mark
        paid = value * rate if position["side"] == "Buy" else -value * rate
        execution = {
            "symbol": symbol,
            "orderId": str(uuid.uuid4()),
            "orderLinkId": "",
            "side": position["side"],
            "orderPrice": "0",
            "orderQty": "0",
            "leavesQty": "0",
            "createType": "",
            "orderType": "UNKNOWN",
            "stopOrderType": "UNKNOWN",
            "execFee": s(paid),
            "execId": str(uuid.uuid4()),
            "execPrice": s(mark),
            "execQty": s(size),
            "execType": "Funding",
            "execValue": s(value),
            "execTime": str(ts),
            "feeCurrency": "USDT",
            "isMaker": False,
            "feeRate": s(rate),
            "markPrice": s(mark),
            "indexPrice": "",
            "closedSize": "0",
            "seq": ex._next_seq(),
            "_category": category,
        }
        ex.executions.append(execution)
        ex.wallets["UNIFIED"]["USDT"] = ex.wallets["UNIFIED"].get("USDT", Decimal(0)) - paid
        return public(execution)

    def funding_executions(self, symbol: str | None = None) -> list[dict[str, Any]]:
        """The Funding executions settled so far, oldest first."""
        with self.exchange.lock:
            return [
                public(e)
                for e in self.exchange.executions
                if e["execType"] == "Funding" and (symbol is None or e["symbol"] == symbol)
            ]

    def _execution_list(self, params: Params) -> dict[str, Any]:
        """/v5/execution/list, newest first, with Bybit's filters (execType included)."""
        items = [
            public(e)
            for e in reversed(self.exchange.executions)
            if e["_category"] == params.get("category")
            and all(not params.get(k) or e[k] == params[k] for k in ("symbol", "orderLinkId", "orderId", "execType"))
        ]
        chunk, cursor = page(items, params, default=50, maximum=100)
        return {"list": chunk, "nextPageCursor": cursor, "category": params.get("category")}

    def add_instruments(self, count: int, status: str = "Trading") -> list[str]:
        """Add `count` synthetic linear instruments (like Bybit's 500+); returns their symbols."""
        added = [f"FAKE{i:04d}USDT" for i in range(count)]
        with self.exchange.lock:
            for symbol in added:
                self._list(symbol, status)
        return added

    def _list(self, symbol: str, status: str = "Trading") -> None:
        """A linear instrument shaped like BTCUSDT's (a symbol with candles is a listed one)."""
        base = dict(self.exchange.instruments[0])
        self.exchange.instruments.append(base | {"symbol": symbol, "baseCoin": symbol[:-4], "status": status})

    def set_mark_price(self, symbol: str, price: Decimal | str) -> None:
        """With a mark price set, market orders on `symbol` fill at once at that price."""
        with self.exchange.lock:
            self.exchange.mark_prices[symbol] = Decimal(str(price))

    def set_balance(self, coin: str, amount: Decimal | str, account_type: str = "UNIFIED") -> None:
        with self.exchange.lock:
            self.exchange.wallets.setdefault(account_type, {})[coin] = Decimal(str(amount))

    def fill_order(self, order_link_id: str, price: Decimal | str, qty: Decimal | str) -> dict[str, Any]:
        """Fill (part of) a resting order: updates the order, position, executions and fees."""
        with self.exchange.lock:
            order_id = self.exchange.order_id_by_link[order_link_id]
            order = self.exchange.orders[order_id]
            return self.exchange.fill(order, Decimal(str(price)), Decimal(str(qty)))

    def order(self, order_link_id: str) -> dict[str, Any] | None:
        with self.exchange.lock:
            order_id = self.exchange.order_id_by_link.get(order_link_id)
            return dict(self.exchange.orders[order_id]) if order_id else None

    def open_orders(self) -> list[dict[str, Any]]:
        with self.exchange.lock:
            return [dict(o) for o in self.exchange.orders.values() if o["orderStatus"] in ("New", "PartiallyFilled")]

    # --- request log ------------------------------------------------------------------------
    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._log)

    def requests_to(self, path_prefix: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path.startswith(path_prefix)]

    def mutating_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.method == "POST" and r.path.startswith(MUTATING_PREFIXES)]

    def reset_log(self) -> None:
        with self._lock:
            self._log.clear()

    # --- request processing (called on server threads) -------------------------------------
    def _handle(
        self, method: str, target: str, headers: dict[str, str], body: str
    ) -> tuple[int, dict[str, str], bytes]:
        split = urlsplit(target)
        path, raw = split.path, (split.query if method == "GET" else body)
        api_key = headers.get("x-bapi-api-key")
        has_auth = bool(api_key and headers.get("x-bapi-sign"))
        params = self._parse(method, raw)
        now = self.server_time_ms()
        with self._lock:
            self._log.append(RecordedRequest(method, path, params or {}, raw, has_auth, api_key, now))
            delay = self._faults.pop(path, "delay")
            status_fault = self._faults.pop(path, "http_status")
        if delay is not None:
            time.sleep(delay.seconds)
        limit_headers = self._limit_headers(api_key or "ip", path, now)
        if status_fault is not None:
            return status_fault.status, limit_headers, _status_page(status_fault.status)
        self.settle_funding()  # the clock may have passed a settlement since the last request
        routes = self._get if method == "GET" else self._post
        handler = routes.get(path)
        if handler is None:
            return 404, {}, b"Not Found"
        try:
            if params is None:
                raise ApiError(10001, "Request parameter error.")
            key = None if path.startswith("/v5/market/") else self._authenticate(headers, raw)
            self._authorize(key, method, path, params)
            with self._lock:
                fault = self._faults.pop(path, "ret_code")
            if fault is not None:
                raise ApiError(fault.ret_code, fault.ret_msg)
            with self.exchange.lock:
                result = self.exchange.query_api(key) if path == "/v5/user/query-api" and key else handler(params)
            envelope = {"retCode": 0, "retMsg": "OK", "result": result, "retExtInfo": {}}
        except ApiError as err:
            envelope = {"retCode": err.code, "retMsg": err.msg, "result": {}, "retExtInfo": {}}
        envelope["time"] = self.server_time_ms()
        return 200, limit_headers, json.dumps(envelope).encode()

    @staticmethod
    def _parse(method: str, raw: str) -> dict[str, Any] | None:
        if method == "GET":
            return dict(parse_qsl(raw, keep_blank_values=True))
        try:
            parsed = json.loads(raw or "{}")
        except json.JSONDecodeError:
            return None
        return parsed if isinstance(parsed, dict) else None

    def _authenticate(self, headers: dict[str, str], raw: str) -> KeyRecord:
        api_key = headers.get("x-bapi-api-key", "")
        with self._lock:
            key = self._keys.get(api_key)
        if key is None:
            raise ApiError(10003, "API key is invalid.")
        try:
            ts = int(headers.get("x-bapi-timestamp", ""))
            recv_window = int(headers.get("x-bapi-recv-window") or 5000)
        except ValueError:
            raise ApiError(10001, "Request parameter error.") from None
        server = self.server_time_ms()
        if not server - recv_window <= ts < server + 1000:
            raise ApiError(
                10002,
                "invalid request, please check your server timestamp or recv_window param. "
                f"req_timestamp[{ts}],server_timestamp[{server}],recv_window[{recv_window}]",
            )
        origin = f"{ts}{api_key}{recv_window}{raw}"
        expected = hmac.new(key.api_secret.encode(), origin.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, headers.get("x-bapi-sign", "")):
            # Real Bybit echoes the signed string, api key included: clients must redact it.
            raise ApiError(10004, f"error sign! origin_string[{origin}]")
        return key

    @staticmethod
    def _authorize(key: KeyRecord | None, method: str, path: str, params: dict[str, Any]) -> None:
        if key is None or method != "POST":
            return
        if key.read_only:
            raise ApiError(10005, "Permission denied, please check your API key permissions.")
        perms = key.permissions
        needed: tuple[str, str] | None = None
        if path.startswith("/v5/order/"):
            needed = ("Spot", "SpotTrade") if params.get("category") == "spot" else ("ContractTrade", "Order")
        elif path.startswith("/v5/position/"):
            needed = ("ContractTrade", "Position")
        elif path.startswith("/v5/asset/transfer/"):
            needed = ("Wallet", "AccountTransfer")
        if needed and needed[1] not in perms.get(needed[0], []):
            raise ApiError(10005, "Permission denied, please check your API key permissions.")

    def _limit_headers(self, who: str, path: str, now: int) -> dict[str, str]:
        second = now // 1000
        limit = _RATE_LIMITS.get(path, 50)
        with self._lock:
            self._hits[(who, path, second)] += 1
            used = self._hits[(who, path, second)]
        return {
            "X-Bapi-Limit": str(limit),
            "X-Bapi-Limit-Status": str(max(limit - used, 0)),
            "X-Bapi-Limit-Reset-Timestamp": str((second + 1) * 1000),
        }


def _status_page(status: int) -> bytes:
    """An HTML error page like the CDN in front of Bybit serves (not a V5 JSON envelope)."""
    reason = {403: "Forbidden", 429: "Too Many Requests", 502: "Bad Gateway", 503: "Service Unavailable"}
    title = f"{status} {reason.get(status, 'Error')}"
    return f"<html><head><title>{title}</title></head><body><h1>{title}</h1></body></html>".encode()


class _RequestHandler(BaseHTTPRequestHandler):
    owner: FakeBybit
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # else keep-alive answers stall 40 ms on delayed ACKs

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def _serve(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        headers = {k.lower(): v for k, v in self.headers.items()}
        try:
            status, extra, payload = self.owner._handle(method, self.path, headers, body)
        except Exception as exc:  # a bug in the fake: make it loud, not a hang
            self.owner.errors.append(exc)
            status, extra, payload = 500, {}, repr(exc).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json" if payload.startswith(b"{") else "text/html")
            self.send_header("Content-Length", str(len(payload)))
            for name, value in extra.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test): the request still took effect

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def fake_bybit() -> Iterator[FakeBybit]:
    """One started FakeBybit per test, stopped afterwards."""
    with FakeBybit() as fake:
        yield fake
