"""CcxtExecutionClient: the ExecutionClient port on ccxt.async_support (any exchange id).

Behaviour mirrors BybitExecutionClient:
- our client order id is ccxt's `clientOrderId` (Bybit's orderLinkId); a create answered with
  "already exists" (Bybit 110072, which ccxt raises as a plain InvalidOrder) is resolved by
  fetching the order under that id;
- `maxRetriesOnFailure` is 0: ccxt would resend the same signed create on any NetworkError, so a
  timeout surfaces as ExchangeUnavailable and the OMS resolves it by querying the id;
- ccxt errors become ExchangeError / ExchangeUnavailable (errors.py) with secrets scrubbed and
  no chained ccxt exception; InvalidNonce carries code 10002 so the OMS resyncs the clock;
- the exchange object refuses every mutating HTTP request while `refuse_mutations` returns a
  reason (guard.py), so even a direct `client.exchange.privatePostV5OrderCreate(...)` is blocked
  in debug mode;
- the "ccxt" loggers are kept at INFO or above (ccxt logs request headers at DEBUG).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import ccxt.async_support as ccxt

from workstation.core.enums import Category, OrderStatus, OrderType, Side
from workstation.core.errors import ExchangeError
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
from workstation.exchanges.bybit.guard import VenueGuard
from workstation.exchanges.ccxt import parse
from workstation.exchanges.ccxt.errors import DuplicateClientOrderId, translate
from workstation.exchanges.ccxt.guard import Refusal, install_mutation_guard

LEVERAGE_NOT_MODIFIED = 110043
# Exchange-specific name of the client order id in raw params (ccxt's unified name otherwise).
CLIENT_ID_PARAMS = {"bybit": "orderLinkId"}


def quiet_ccxt_loggers() -> None:
    for name in ("ccxt", "ccxt.base.exchange", "aiohttp"):
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET or logger.level < logging.INFO:
            logger.setLevel(logging.INFO)


def _replace_urls(value: Any, base_url: str) -> Any:
    if isinstance(value, dict):
        return {k: _replace_urls(v, base_url) for k, v in value.items()}
    return base_url if isinstance(value, str) else value


class CcxtExecutionClient:
    """Orders and account state on one ccxt exchange. Construct it inside the running loop."""

    def __init__(
        self,
        exchange_id: str,
        credentials: ApiCredentials | None,
        *,
        refuse_mutations: Refusal,
        venue: str | None = None,
        base_url: str | None = None,
        timeout_s: float = 10.0,
        categories: tuple[Category, ...] = (Category.LINEAR,),
        settle_coins: tuple[str, ...] = ("USDT",),
        options: dict[str, Any] | None = None,
        enable_rate_limit: bool = True,
        guard: VenueGuard | None = None,
    ) -> None:
        """`guard`: the venue's VenueGuard, shared with its other clients (one is made otherwise)."""
        if exchange_id not in ccxt.exchanges:
            raise ExchangeError(f"ccxt has no exchange {exchange_id!r} (see ccxt.exchanges)")
        quiet_ccxt_loggers()
        self.exchange_id = exchange_id
        self._venue = venue or f"ccxt:{exchange_id}"
        self.guard = guard or VenueGuard(self._venue)
        self._is_bybit = exchange_id == "bybit"
        self._id_param = CLIENT_ID_PARAMS.get(exchange_id, "clientOrderId")
        self._categories = categories
        self._settle_coins = settle_coins
        self._secrets = (credentials.api_key, credentials.api_secret) if credentials else ()
        self._symbols: dict[str, str] = {}  # client order id -> unified symbol, to find it again
        merged: dict[str, Any] = {"maxRetriesOnFailure": 0, "maxRetriesOnFailureDelay": 0}
        if self._is_bybit:
            merged["fetchMarkets"] = {"types": [c.value for c in categories]}
            # Skip the account-type probe (two extra signed calls): this client trades unified accounts.
            merged.setdefault("enableUnifiedAccount", True)
            merged.setdefault("enableUnifiedMargin", False)
        merged.update(options or {})
        config: dict[str, Any] = {
            "enableRateLimit": enable_rate_limit,
            "timeout": int(timeout_s * 1000),
            "options": merged,
        }
        if credentials is not None:
            config.update(apiKey=credentials.api_key, secret=credentials.api_secret)
        self.exchange: Any = getattr(ccxt, exchange_id)(config)
        self.exchange.options["maxRetriesOnFailure"] = 0  # never resend a signed request blindly
        self.exchange.has["fetchCurrencies"] = False  # orders need markets, not the coin list
        if base_url:
            self.exchange.urls["api"] = _replace_urls(self.exchange.urls["api"], base_url.rstrip("/"))
        install_mutation_guard(self.exchange, refuse_mutations)
        self._markets_loaded = False

    def __repr__(self) -> str:
        return f"CcxtExecutionClient(exchange={self.exchange_id!r}, venue={self._venue!r})"

    @property
    def venue(self) -> str:
        return self._venue

    def set_clock_offset_ms(self, offset_ms: int) -> None:
        """Venue clock minus ours: ccxt's nonce is `now - timeDifference`."""
        self.exchange.options["timeDifference"] = -int(offset_ms)

    async def close(self) -> None:
        await self.exchange.close()

    # --- plumbing ---------------------------------------------------------------------------
    async def _call(self, operation: str, function: Callable[..., Awaitable[Any]], *args: Any, **kwargs: Any) -> Any:
        """One ccxt call through the venue guard: a ban or hard stop refuses it before it is sent;
        a rate limit is waited out on the loop and retried; a 403 starts the ban window; 10003 halts."""
        attempt = 0
        while True:
            await self.guard.before(operation)
            error: ExchangeError | None = None
            try:
                return await function(*args, **kwargs)
            except Exception as exc:
                error = translate(exc, f"{self._venue} {operation}", self._secrets)
                if error is None:
                    raise  # OrderDeniedError from the guard, or a bug: not an exchange answer
            final = await self.guard.after_error(operation, error, attempt)
            if final is not None:
                raise final  # outside the except block: no ccxt text survives as __context__
            attempt += 1

    async def _markets(self) -> dict[str, Any]:
        if not self._markets_loaded:
            await self._call("load_markets", self.exchange.load_markets)
            self._markets_loaded = True
        return dict(self.exchange.markets or {})

    async def _unified(self, symbol: str, category: Category) -> str:
        markets = await self._markets()
        if symbol in markets:
            return symbol
        candidates = self.exchange.markets_by_id.get(symbol) or []
        for market in candidates:
            if parse.category_of(market) is category:
                return str(market["symbol"])
        if candidates:
            return str(candidates[0]["symbol"])
        raise ExchangeError(f"{self._venue}: no {category.value} market {symbol!r}")

    def _id_of(self, unified: str | None) -> str:
        market = (self.exchange.markets or {}).get(unified) if unified else None
        return parse.market_id(market, unified or "")

    def _params(self, category: Category, **extra: Any) -> dict[str, Any]:
        params = {k: v for k, v in extra.items() if v is not None}
        if self._is_bybit:
            params["category"] = category.value
        return params

    def _scopes(self, category: Category, symbol: str | None) -> list[dict[str, str]]:
        """Bybit's linear/inverse list calls need a symbol or a settle coin."""
        if symbol is None and self._is_bybit and category in (Category.LINEAR, Category.INVERSE):
            return [{"settleCoin": coin} for coin in self._settle_coins]
        return [{}]

    # --- mutating ---------------------------------------------------------------------------
    async def place_order(self, request: OrderRequest) -> OrderAck:
        """Place under request.client_order_id. Resending the same request is safe: "already
        exists" is answered with the order that exists."""
        unified = await self._unified(request.symbol, request.category)
        kind, side, amount, price, params = parse.order_args(request, "clientOrderId")
        self._symbols[request.client_order_id] = unified
        try:
            result = await self._call(
                "place_order",
                self.exchange.create_order,
                unified,
                kind,
                side,
                amount,
                price,
                self._params(request.category, **params),
            )
        except DuplicateClientOrderId:
            existing = await self.fetch_order(request.category, request.client_order_id)
            if existing is None:
                raise
            return OrderAck(existing.client_order_id, existing.venue_order_id, existing.status, "already exists")
        return OrderAck(request.client_order_id, _id(result), OrderStatus.NEW, "accepted")

    async def place_orders(self, requests: list[OrderRequest]) -> list[OrderAck | ExchangeError]:
        """ccxt's create_orders (one batch call). A failure of the whole call raises."""
        batch: list[dict[str, Any]] = []
        for request in requests:
            unified = await self._unified(request.symbol, request.category)
            kind, side, amount, price, params = parse.order_args(request, "clientOrderId")
            self._symbols[request.client_order_id] = unified
            batch.append(
                {"symbol": unified, "type": kind, "side": side, "amount": amount, "price": price, "params": params}
            )
        category = requests[0].category if requests else Category.LINEAR
        results = await self._call("place_orders", self.exchange.create_orders, batch, self._params(category))
        outcomes: list[OrderAck | ExchangeError] = []
        for request, item in zip(requests, results or [], strict=False):
            if str(item.get("status") or "").lower() == "rejected":
                outcomes.append(ExchangeError(f"{self._venue} place_orders: {request.client_order_id} rejected"))
            else:
                outcomes.append(OrderAck(request.client_order_id, _id(item), OrderStatus.NEW, "accepted"))
        return outcomes

    async def amend_order(self, request: AmendRequest) -> OrderAck:
        unified = await self._unified(request.symbol, request.category)
        params = self._params(request.category, **{self._id_param: request.client_order_id})
        if request.trigger_price is not None:
            params["triggerPrice"] = float(request.trigger_price)
        existing = await self.fetch_order(request.category, request.client_order_id)  # ccxt wants the side
        if existing is None:
            raise ExchangeError(f"{self._venue} amend_order: no order {request.client_order_id} on the exchange")
        result = await self._call(
            "amend_order",
            self.exchange.edit_order,
            None if self._is_bybit else existing.venue_order_id,
            unified,
            "limit" if request.price is not None else None,
            existing.side.value.lower(),
            None if request.qty is None else float(request.qty),
            None if request.price is None else float(request.price),
            params,
        )
        return OrderAck(request.client_order_id, _id(result), OrderStatus.NEW, "amend accepted")

    async def cancel_order(self, symbol: str, client_order_id: str, category: Category) -> OrderAck:
        unified = await self._unified(symbol, category)
        params = self._params(category, **{self._id_param: client_order_id})
        result = await self._call("cancel_order", self.exchange.cancel_order, None, unified, params)
        return OrderAck(client_order_id, _id(result), OrderStatus.CANCELLED, "cancel accepted")

    async def cancel_all_orders(self, category: Category, symbol: str | None = None) -> list[OrderAck]:
        unified = await self._unified(symbol, category) if symbol else None
        acks: list[OrderAck] = []
        for scope in self._scopes(category, symbol):
            results = await self._call(
                "cancel_all_orders", self.exchange.cancel_all_orders, unified, self._params(category, **scope)
            )
            acks.extend(
                OrderAck(parse.client_order_id(item), _id(item), OrderStatus.CANCELLED, "cancel accepted")
                for item in results or []
                if isinstance(item, dict)
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

    async def set_leverage(self, symbol: str, leverage: Decimal, category: Category) -> None:
        unified = await self._unified(symbol, category)
        try:
            await self._call(
                "set_leverage", self.exchange.set_leverage, float(leverage), unified, self._params(category)
            )
        except ExchangeError as exc:
            if exc.code != LEVERAGE_NOT_MODIFIED:  # already at that leverage: the goal is met
                raise

    async def transfer(
        self, coin: str, amount: Decimal, from_account: str, to_account: str, *, transfer_id: str | None = None
    ) -> str:
        """Move funds between account types; pass the same `transfer_id` to retry safely."""
        transfer_id = transfer_id or str(uuid.uuid4())
        result = await self._call(
            "transfer",
            self.exchange.transfer,
            coin,
            float(amount),
            from_account,
            to_account,
            {"transferId": transfer_id} if self._is_bybit else {},
        )
        if str((result or {}).get("status") or "ok").lower() == "failed":
            raise ExchangeError(f"{self._venue} transfer: transfer {transfer_id} failed")
        return str((result or {}).get("id") or transfer_id)

    # --- read -------------------------------------------------------------------------------
    async def fetch_balances(self) -> list[Balance]:
        return parse.to_balances(await self._call("fetch_balances", self.exchange.fetch_balance), self._venue)

    async def fetch_positions(self, category: Category, symbol: str | None = None) -> list[Position]:
        unified = [await self._unified(symbol, category)] if symbol else None
        items: list[dict[str, Any]] = []
        for scope in self._scopes(category, symbol):
            items += await self._call(
                "fetch_positions", self.exchange.fetch_positions, unified, self._params(category, **scope)
            )
        return [parse.to_position(item, self._venue, self._id_of(item.get("symbol"))) for item in items]

    async def fetch_open_orders(self, category: Category, symbol: str | None = None) -> list[Order]:
        unified = await self._unified(symbol, category) if symbol else None
        items: list[dict[str, Any]] = []
        for scope in self._scopes(category, symbol):
            items += await self._call(
                "fetch_open_orders",
                self.exchange.fetch_open_orders,
                unified,
                None,
                None,
                self._params(category, **scope),
            )
        return [parse.to_order(item, self._venue, self._id_of(item.get("symbol"))) for item in items]

    async def fetch_order(self, category: Category, client_order_id: str) -> Order | None:
        """Find an order by client order id: open orders first, then closed ones."""
        if self._is_bybit:
            return await self._fetch_bybit_order(category, client_order_id)
        unified = self._symbols.get(client_order_id)
        for operation, method in (
            ("fetch_order", self.exchange.fetch_open_orders),
            ("fetch_order", self.exchange.fetch_closed_orders),
        ):
            for item in await self._call(operation, method, unified, None, None, self._params(category)):
                if parse.client_order_id(item) == client_order_id:
                    return parse.to_order(item, self._venue, self._id_of(item.get("symbol")))
        return None

    async def _fetch_bybit_order(self, category: Category, client_order_id: str) -> Order | None:
        """Bybit: /v5/order/realtime, then /v5/order/history, by orderLinkId (no symbol needed)."""
        await self._markets()
        query = {"category": category.value, "orderLinkId": client_order_id}
        for endpoint in (self.exchange.privateGetV5OrderRealtime, self.exchange.privateGetV5OrderHistory):
            response = await self._call("fetch_order", endpoint, dict(query))
            for raw in ((response or {}).get("result") or {}).get("list") or []:
                if raw.get("orderLinkId") == client_order_id:
                    item = self.exchange.parse_order(raw)
                    return parse.to_order(item, self._venue, str(raw.get("symbol") or ""))
        return None

    async def fetch_executions(self, category: Category, symbol: str | None = None) -> list[Fill]:
        unified = await self._unified(symbol, category) if symbol else None
        items = await self._call(
            "fetch_executions", self.exchange.fetch_my_trades, unified, None, None, self._params(category)
        )
        return [parse.to_fill(item, self._id_of(item.get("symbol"))) for item in items]

    async def server_time_ms(self) -> int:
        return int(await self._call("server_time_ms", self.exchange.fetch_time))


def _id(item: Any) -> str | None:
    return str(item["id"]) if isinstance(item, dict) and item.get("id") else None
