"""BybitExecutionClient: the ExecutionClient port on pybit's V5 HTTP session.

pybit blocks (requests + time.sleep), so every call runs in an executor. pybit's own retries are
off: a retried create is the caller's decision (same orderLinkId, 110072 resolved by lookup), and
pybit's 10002 retry silently widens recv_window. Errors become ExchangeError/ExchangeUnavailable
carrying the retCode (see errors.py); no message, repr or log line holds the key or secret.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from decimal import Decimal
from typing import Any

from pybit.unified_trading import HTTP

from workstation.core.enums import Category, OrderStatus, OrderType, Side, TimeInForce, Venue
from workstation.core.errors import ExchangeError
from workstation.core.funding import FundingPayment
from workstation.core.ids import new_client_order_id
from workstation.core.types import (
    AmendRequest,
    ApiCredentials,
    Balance,
    Fill,
    Order,
    OrderAck,
    OrderRequest,
    Position,
)
from workstation.exchanges.bybit import parse
from workstation.exchanges.bybit.batch import place_batch
from workstation.exchanges.bybit.errors import translate
from workstation.exchanges.bybit.guard import VenueGuard
from workstation.exchanges.bybit.parse import ApiKeyInfo

LEVERAGE_NOT_MODIFIED = 110043
TPSL_NOT_MODIFIED = 34040  # the trading stop already has these values
DUPLICATE_ORDER_LINK_ID = 110072
MAX_PAGES = 20


def _host_flags(venue: Venue) -> dict[str, bool]:
    if venue is Venue.BYBIT_TESTNET:
        return {"testnet": True, "demo": False}
    if venue is Venue.BYBIT_DEMO:
        return {"testnet": False, "demo": True}
    if venue is Venue.BYBIT_MAINNET:
        return {"testnet": False, "demo": False}
    raise ValueError(f"{venue} is not a Bybit venue")


def make_session(
    venue: Venue,
    credentials: ApiCredentials | None,
    *,
    base_url: str | None = None,
    recv_window_ms: int = 5000,
    timeout_s: float = 10.0,
) -> HTTP:
    """A pybit session with retries and request logging off, optionally on a custom host."""
    session = HTTP(
        **_host_flags(venue),
        api_key=credentials.api_key if credentials else None,
        api_secret=credentials.api_secret if credentials else None,
        log_requests=False,
        timeout=timeout_s,
        recv_window=recv_window_ms,
        max_retries=1,
        retry_delay=0,
    )
    # pybit replaces an empty retry_codes with its defaults in __post_init__, so clear it after.
    session.retry_codes = set()
    # pybit reads `endpoint` on every call: this is its supported way to change host.
    if base_url:
        session.endpoint = base_url.rstrip("/")
    _sign_with_clock_offset(session)
    pybit_logger = logging.getLogger("pybit")
    if pybit_logger.level == logging.NOTSET or pybit_logger.level < logging.INFO:
        pybit_logger.setLevel(logging.INFO)
    return session


def _sign_with_clock_offset(session: HTTP) -> None:
    """Make the session sign with `time + session.clock_offset_ms`.

    pybit stamps requests with the local clock only; after a 10002 the OMS measures the venue's
    offset and sets it here, so a computer whose clock drifts keeps trading inside Bybit's
    receive window. The headers are the ones pybit's own _prepare_headers builds."""
    session.clock_offset_ms = 0

    def prepare_headers(payload: Any, recv_window: int, content_type: str = "application/json") -> dict[str, str]:
        timestamp = time.time_ns() // 1_000_000 + session.clock_offset_ms
        sign = session._auth_binary if isinstance(payload, bytes) else session._auth
        signature = sign(payload=payload, recv_window=recv_window, timestamp=timestamp)
        return {
            "Content-Type": content_type,
            "X-BAPI-API-KEY": session.api_key,
            "X-BAPI-SIGN": signature,
            "X-BAPI-SIGN-TYPE": "2",
            "X-BAPI-TIMESTAMP": str(timestamp),
            "X-BAPI-RECV-WINDOW": str(recv_window),
        }

    session._prepare_headers = prepare_headers


class BybitExecutionClient:
    """Orders and account state on one Bybit venue (testnet, demo or mainnet).

    Failures raise ExchangeError (the venue refused: `.code` is the retCode) or ExchangeUnavailable
    (timeout, network, HTTP 403/5xx, rate limit: the outcome of a mutating call is unknown).
    """

    def __init__(
        self,
        venue: Venue,
        credentials: ApiCredentials | None,
        *,
        base_url: str | None = None,
        recv_window_ms: int = 5000,
        timeout_s: float = 10.0,
        executor: Executor | None = None,
        settle_coins: tuple[str, ...] = ("USDT",),
        account_type: str = "UNIFIED",
        guard: VenueGuard | None = None,
    ) -> None:
        self._venue = venue
        self.guard = guard or VenueGuard(venue.value)
        self._session = make_session(
            venue, credentials, base_url=base_url, recv_window_ms=recv_window_ms, timeout_s=timeout_s
        )
        self._secrets = (credentials.api_key, credentials.api_secret) if credentials else ()
        self._owns_executor = executor is None
        self._executor = executor or ThreadPoolExecutor(max_workers=4, thread_name_prefix="bybit-http")
        self._settle_coins = settle_coins
        self._account_type = account_type

    def __repr__(self) -> str:
        return f"BybitExecutionClient(venue={self._venue.value!r}, endpoint={self._session.endpoint!r})"

    @property
    def venue(self) -> str:
        return self._venue.value

    def set_clock_offset_ms(self, offset_ms: int) -> None:
        """Venue clock minus ours: signed requests are stamped with the venue's time from now on."""
        self._session.clock_offset_ms = int(offset_ms)
        self.guard.clock_offset_ms = int(offset_ms)

    @property
    def endpoint(self) -> str:
        return str(self._session.endpoint)

    async def close(self) -> None:
        if self._owns_executor:
            self._executor.shutdown(wait=False, cancel_futures=True)
        self._session.client.close()

    # --- plumbing ---------------------------------------------------------------------------
    async def _call(self, operation: str, method: str, **params: Any) -> dict[str, Any]:
        """Run one pybit method in the executor; return its `result` dict."""
        result = (await self._call_full(operation, method, **params)).get("result")
        return result if isinstance(result, dict) else {}

    async def _call_full(self, operation: str, method: str, **params: Any) -> dict[str, Any]:
        """One pybit call through the venue guard (bans, hard stop, 10006/110079 back-off, all
        awaited on the loop); returns the whole response envelope."""
        function: Callable[..., Any] = getattr(self._session, method)
        loop = asyncio.get_running_loop()
        attempt = 0
        while True:
            await self.guard.before(operation)
            try:
                return await loop.run_in_executor(
                    self._executor, functools.partial(self._invoke, operation, function, params)
                )
            except ExchangeError as exc:
                final = await self.guard.after_error(operation, exc, attempt)
                if final is exc:
                    raise
                if final is not None:
                    raise final from None
            attempt += 1

    def _invoke(self, operation: str, function: Callable[..., Any], params: dict[str, Any]) -> dict[str, Any]:
        error: ExchangeError | None = None
        try:
            response = function(**{k: v for k, v in params.items() if v is not None})
        except Exception as exc:
            error = translate(exc, operation, self._secrets)
            if error is None:
                raise
        if error is not None:
            raise error  # raised outside the except block: no pybit text survives as __context__
        return response if isinstance(response, dict) else {}

    async def _paged(self, operation: str, method: str, limit: int, **params: Any) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        cursor: str | None = None
        for _ in range(MAX_PAGES):
            result = await self._call(operation, method, limit=limit, cursor=cursor, **params)
            items.extend(result.get("list") or [])
            cursor = result.get("nextPageCursor") or None
            if not cursor:
                break
        return items

    def _scopes(self, category: Category, symbol: str | None) -> list[dict[str, str]]:
        """Linear/inverse list calls need a symbol or a settle coin: one call per settle coin."""
        if symbol:
            return [{"symbol": symbol}]
        if category in (Category.LINEAR, Category.INVERSE):
            return [{"settleCoin": coin} for coin in self._settle_coins]
        return [{}]

    # --- mutating ---------------------------------------------------------------------------
    async def place_order(self, request: OrderRequest) -> OrderAck:
        """Place an order under its client_order_id (orderLinkId). Resending the same request is
        safe: a duplicate orderLinkId (110072) is answered with the order that already exists."""
        params = order_params(request)
        params["category"] = request.category.value
        try:
            result = await self._call("place_order", "place_order", **params)
        except ExchangeError as exc:
            if exc.code != DUPLICATE_ORDER_LINK_ID:
                raise
            existing = await self.fetch_order(request.category, request.client_order_id)
            if existing is None:
                raise
            return OrderAck(existing.client_order_id, existing.venue_order_id, existing.status, "already exists")
        return OrderAck(request.client_order_id, result.get("orderId") or None, OrderStatus.NEW, "accepted")

    async def place_orders(self, requests: list[OrderRequest]) -> list[OrderAck | ExchangeError]:
        """/v5/order/create-batch (one category per call). Each order's outcome stands alone: an
        OrderAck, or the ExchangeError Bybit gave that order. A failure of the whole call raises."""
        return await place_batch(self, requests)

    async def amend_order(self, request: AmendRequest) -> OrderAck:
        result = await self._call(
            "amend_order",
            "amend_order",
            category=request.category.value,
            symbol=request.symbol,
            orderLinkId=request.client_order_id,
            qty=_s(request.qty),
            price=_s(request.price),
            triggerPrice=_s(request.trigger_price),
        )
        return OrderAck(request.client_order_id, result.get("orderId") or None, OrderStatus.NEW, "amend accepted")

    async def cancel_order(self, symbol: str, client_order_id: str, category: Category) -> OrderAck:
        result = await self._call(
            "cancel_order", "cancel_order", category=category.value, symbol=symbol, orderLinkId=client_order_id
        )
        return OrderAck(client_order_id, result.get("orderId") or None, OrderStatus.CANCELLED, "cancel accepted")

    async def cancel_all_orders(self, category: Category, symbol: str | None = None) -> list[OrderAck]:
        acks: list[OrderAck] = []
        for scope in self._scopes(category, symbol):
            result = await self._call("cancel_all_orders", "cancel_all_orders", category=category.value, **scope)
            acks.extend(
                OrderAck(
                    str(item.get("orderLinkId") or ""),
                    item.get("orderId") or None,
                    OrderStatus.CANCELLED,
                    "cancel accepted",
                )
                for item in result.get("list") or []
            )
        return acks

    async def close_position(self, symbol: str, category: Category) -> OrderAck | None:
        """Send a reduce-only market order for the whole position; None when already flat."""
        positions = [p for p in await self.fetch_positions(category, symbol) if p.side is not None and p.size]
        if not positions:
            return None
        position = positions[0]
        return await self.place_order(
            OrderRequest(
                client_order_id=new_client_order_id("close"),
                symbol=symbol,
                side=Side.SELL if position.side is Side.BUY else Side.BUY,
                qty=position.size,
                order_type=OrderType.MARKET,
                reduce_only=True,
                category=category,
            )
        )

    async def set_trading_stop(
        self, symbol: str, category: Category, stop_loss: Decimal | None = None, take_profit: Decimal | None = None
    ) -> None:
        """/v5/position/trading-stop on the one-way position, whole size (tpslMode Full): None
        leaves a leg as it is, 0 (or less) removes it. Nothing to change: no request."""
        if stop_loss is None and take_profit is None:
            return
        try:
            await self._call(
                "set_trading_stop",
                "set_trading_stop",
                category=category.value,
                symbol=symbol,
                tpslMode="Full",
                positionIdx=0,
                stopLoss=_s(None if stop_loss is None else max(stop_loss, Decimal(0))),
                takeProfit=_s(None if take_profit is None else max(take_profit, Decimal(0))),
            )
        except ExchangeError as exc:
            if exc.code != TPSL_NOT_MODIFIED:  # already at those values: the goal is met
                raise

    async def set_leverage(self, symbol: str, leverage: Decimal, category: Category) -> None:
        try:
            await self._call(
                "set_leverage",
                "set_leverage",
                category=category.value,
                symbol=symbol,
                buyLeverage=_s(leverage),
                sellLeverage=_s(leverage),
            )
        except ExchangeError as exc:
            if exc.code != LEVERAGE_NOT_MODIFIED:  # already at that leverage: the goal is met
                raise

    async def transfer(
        self, coin: str, amount: Decimal, from_account: str, to_account: str, *, transfer_id: str | None = None
    ) -> str:
        """Move funds between account types (UNIFIED, FUND, ...); returns the transfer id. Pass the
        same `transfer_id` again to retry safely after a timeout."""
        transfer_id = transfer_id or str(uuid.uuid4())
        result = await self._call(
            "transfer",
            "create_internal_transfer",
            transferId=transfer_id,
            coin=coin,
            amount=_s(amount),
            fromAccountType=from_account,
            toAccountType=to_account,
        )
        if str(result.get("status", "SUCCESS")).upper() == "FAILED":
            raise ExchangeError(f"bybit transfer: transfer {transfer_id} failed")
        return str(result.get("transferId") or transfer_id)

    # --- read -------------------------------------------------------------------------------
    async def fetch_balances(self) -> list[Balance]:
        result = await self._call("fetch_balances", "get_wallet_balance", accountType=self._account_type)
        return parse.to_balances(result, self.venue)

    async def fetch_positions(self, category: Category, symbol: str | None = None) -> list[Position]:
        items: list[dict[str, Any]] = []
        for scope in self._scopes(category, symbol):
            items += await self._paged("fetch_positions", "get_positions", 200, category=category.value, **scope)
        return [parse.to_position(item, self.venue) for item in items]

    async def fetch_open_orders(self, category: Category, symbol: str | None = None) -> list[Order]:
        items: list[dict[str, Any]] = []
        for scope in self._scopes(category, symbol):
            items += await self._paged(
                "fetch_open_orders", "get_open_orders", 50, category=category.value, openOnly=0, **scope
            )
        return [parse.to_order(item, self.venue) for item in items]

    async def fetch_order(self, category: Category, client_order_id: str) -> Order | None:
        """Find an order by orderLinkId: realtime first (open and the last 500 closed), then history."""
        for operation, method in (("fetch_order", "get_open_orders"), ("fetch_order", "get_order_history")):
            result = await self._call(operation, method, category=category.value, orderLinkId=client_order_id)
            for item in result.get("list") or []:
                if item.get("orderLinkId") == client_order_id:
                    return parse.to_order(item, self.venue)
        return None

    async def fetch_executions(self, category: Category, symbol: str | None = None) -> list[Fill]:
        """Trade executions, newest first (funding and other non-trade rows left out)."""
        items = await self._paged("fetch_executions", "get_executions", 100, category=category.value, symbol=symbol)
        return [parse.to_fill(item) for item in items if parse.is_fill(item)]

    async def fetch_funding(self, category: Category, symbol: str | None = None) -> list[FundingPayment]:
        """Funding settlements on the account's positions (executions of execType "Funding"), newest
        first; Bybit's execution list covers the last 7 days unless a start time is given."""
        items = await self._paged(
            "fetch_funding", "get_executions", 100, category=category.value, symbol=symbol, execType="Funding"
        )
        return [parse.to_funding(item) for item in items if parse.is_funding(item)]

    async def server_time_ms(self) -> int:
        return _time_ms(await self._call("server_time_ms", "get_server_time"))

    async def fetch_api_key_info(self) -> ApiKeyInfo:
        return parse.to_api_key_info(await self._call("fetch_api_key_info", "get_api_key_information"))


def fetch_server_time_ms(venue: Venue, base_url: str | None = None, timeout_s: float = 3.0) -> int:
    """Bybit's clock (public /v5/market/time, no key). Blocking: call it from a thread."""
    session = make_session(venue, None, base_url=base_url, timeout_s=timeout_s)
    error: ExchangeError | None = None
    try:
        response = session.get_server_time()
    except Exception as exc:
        error = translate(exc, "server_time", ())
        if error is None:
            raise
    finally:
        session.client.close()
    if error is not None:
        raise error
    return _time_ms(response.get("result") or {})


def _time_ms(result: dict[str, Any]) -> int:
    if result.get("timeNano"):
        return int(result["timeNano"]) // 1_000_000
    return int(result["timeSecond"]) * 1000


def order_params(request: OrderRequest) -> dict[str, Any]:
    """The V5 create-order fields for `request` (without category, which batches send once)."""
    params: dict[str, Any] = {
        "symbol": request.symbol,
        "side": request.side.value,
        "orderType": "Limit" if request.order_type is OrderType.LIMIT else "Market",
        "qty": _s(request.qty),
        "orderLinkId": request.client_order_id,
        "positionIdx": 0,
    }
    if request.order_type is OrderType.LIMIT:
        if request.price is None:
            raise ValueError("a limit order needs a price")
        params["price"] = _s(request.price)
        params["timeInForce"] = request.time_in_force.value
    elif request.time_in_force is not TimeInForce.GTC:
        params["timeInForce"] = request.time_in_force.value
    if request.trigger_price is not None:
        params["triggerPrice"] = _s(request.trigger_price)
        params["triggerDirection"] = 1 if request.side is Side.BUY else 2
    if request.reduce_only:
        params["reduceOnly"] = True
    if request.stop_loss is not None:
        params["stopLoss"] = _s(request.stop_loss)
    if request.take_profit is not None:
        params["takeProfit"] = _s(request.take_profit)
    return params


def _s(value: Decimal | None) -> str | None:
    """A Decimal as the plain string Bybit expects (never float, never exponent notation)."""
    if value is None:
        return None
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"
