"""In-memory state and endpoint handlers of the fake Bybit V5 exchange (one account, one-way mode).

Shapes follow the examples in /work/shared/data/bybit_api/docs_examples. Transport, signing,
faults and the request log live in bybit_server.py.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

Params = dict[str, Any]
OPEN_STATUSES = frozenset({"New", "PartiallyFilled", "Untriggered"})
DEFAULT_LEVERAGE = Decimal(10)
TAKER_FEE = Decimal("0.00055")


class ApiError(Exception):
    """A V5 business error: becomes an envelope with this retCode."""

    def __init__(self, code: int, msg: str) -> None:
        super().__init__(f"{code} {msg}")
        self.code = code
        self.msg = msg


@dataclass
class KeyRecord:
    api_key: str
    api_secret: str
    permissions: dict[str, list[str]]
    read_only: bool = False
    ips: list[str] = field(default_factory=lambda: ["*"])
    expired_at: str = "2099-01-01T00:00:00Z"


def default_permissions() -> dict[str, list[str]]:
    return {
        "ContractTrade": ["Order", "Position"],
        "Spot": ["SpotTrade"],
        "Wallet": ["AccountTransfer", "SubMemberTransfer"],
        "Options": [],
        "Derivatives": ["DerivativesTrade"],
        "CopyTrading": [],
        "BlockTrade": [],
        "Exchange": [],
        "NFT": [],
        "Affiliate": [],
    }


def _linear(symbol: str, base: str, tick: str, step: str, min_qty: str, max_lev: str) -> dict[str, Any]:
    return {
        "symbol": symbol,
        "contractType": "LinearPerpetual",
        "status": "Trading",
        "baseCoin": base,
        "quoteCoin": "USDT",
        "launchTime": "1585526400000",
        "deliveryTime": "0",
        "deliveryFeeRate": "",
        "priceScale": str(max(0, -Decimal(tick).as_tuple().exponent)),  # type: ignore[operator]
        "leverageFilter": {"minLeverage": "1", "maxLeverage": max_lev, "leverageStep": "0.01"},
        "priceFilter": {"minPrice": tick, "maxPrice": "1999999.80", "tickSize": tick},
        "lotSizeFilter": {
            "maxOrderQty": "1190.000",
            "minOrderQty": min_qty,
            "qtyStep": step,
            "postOnlyMaxOrderQty": "1190.000",
            "maxMktOrderQty": "500.000",
            "minNotionalValue": "5",
        },
        "unifiedMarginTrade": True,
        "fundingInterval": 480,
        "settleCoin": "USDT",
        "copyTrading": "both",
        "upperFundingRate": "0.00375",
        "lowerFundingRate": "-0.00375",
        "isPreListing": False,
        "preListingInfo": None,
        "symbolType": "",
    }


DEFAULT_INSTRUMENTS: tuple[dict[str, Any], ...] = (
    _linear("BTCUSDT", "BTC", "0.10", "0.001", "0.001", "100.00"),
    _linear("ETHUSDT", "ETH", "0.01", "0.01", "0.01", "100.00"),
    _linear("SOLUSDT", "SOL", "0.010", "0.1", "0.1", "75.00"),
    _linear("XRPUSDT", "XRP", "0.0001", "1", "1", "75.00"),
    _linear("DOGEUSDT", "DOGE", "0.00001", "1", "1", "75.00"),
)


def s(value: Decimal) -> str:
    """A Decimal as Bybit prints it: plain notation, no exponent."""
    text = format(value.normalize(), "f")
    return text if text != "-0" else "0"


def dec(params: Params, name: str, *, required: bool = True) -> Decimal | None:
    raw = params.get(name)
    if raw in (None, ""):
        if required:
            raise ApiError(10001, f"params error: {name} is required")
        return None
    try:
        value = Decimal(str(raw))
    except InvalidOperation:
        raise ApiError(10001, f"params error: {name} invalid") from None
    if not value.is_finite():
        raise ApiError(10001, f"params error: {name} invalid")
    return value


def page(items: list[Any], params: Params, default: int, maximum: int) -> tuple[list[Any], str]:
    """Offset paging behind an opaque cursor, like Bybit's nextPageCursor."""
    try:
        limit = int(params.get("limit") or default)
        # pybit sends the cursor as received ("offset%3D20"); the server sees it decoded.
        start = int(str(params.get("cursor") or "0").replace("%3D", "=").removeprefix("offset="))
    except ValueError:
        raise ApiError(10001, "params error: limit or cursor invalid") from None
    if not 1 <= limit <= maximum:
        raise ApiError(10001, f"params error: limit must be 1-{maximum}")
    chunk = items[start : start + limit]
    more = start + limit < len(items)
    return chunk, (f"offset%3D{start + limit}" if more else "")


def public(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if not k.startswith("_")}


class FakeExchangeState:
    """The account behind the fake: instruments, candles, orders, positions, fills, wallets."""

    def __init__(self, now_ms: Callable[[], int]) -> None:
        self.now_ms = now_ms
        self.lock = threading.RLock()
        self.instruments: list[dict[str, Any]] = [dict(i) for i in DEFAULT_INSTRUMENTS]
        self.candles: dict[tuple[str, str, str], list[list[str]]] = {}
        self.mark_candles: dict[tuple[str, str, str], list[list[str]]] = {}
        self.funding: dict[tuple[str, str], list[tuple[int, str]]] = {}
        self.kline_overlap = 0
        self.orders: dict[str, dict[str, Any]] = {}
        self.order_id_by_link: dict[str, str] = {}
        self.positions: dict[tuple[str, str], dict[str, Any]] = {}
        self.executions: list[dict[str, Any]] = []
        self.wallets: dict[str, dict[str, Decimal]] = {
            "UNIFIED": {"USDT": Decimal(10_000), "BTC": Decimal("0.5")},
            "FUND": {"USDT": Decimal(0)},
        }
        self.transfers: dict[str, dict[str, Any]] = {}
        self.mark_prices: dict[str, Decimal] = {}
        self.trading_stops: list[dict[str, str]] = []  # every accepted /v5/position/trading-stop
        self._seq = 1000

    # --- helpers ----------------------------------------------------------------------------
    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def instrument(self, category: str, symbol: str) -> dict[str, Any]:
        if category != "linear":
            raise ApiError(10001, f"params error: category {category!r} not supported by the fake")
        for inst in self.instruments:
            if inst["symbol"] == symbol:
                return inst
        raise ApiError(10001, "params error: symbol invalid")

    def find_order(self, params: Params) -> dict[str, Any]:
        order_id = params.get("orderId") or self.order_id_by_link.get(str(params.get("orderLinkId") or ""))
        order = self.orders.get(str(order_id or ""))
        if order is None or order["_category"] != params.get("category"):
            raise ApiError(110001, "Order does not exist.")
        return order

    def position(self, category: str, symbol: str) -> dict[str, Any]:
        key = (category, symbol)
        if key not in self.positions:
            now = str(self.now_ms())
            self.positions[key] = {
                "positionIdx": 0,
                "riskId": 1,
                "riskLimitValue": "2000000",
                "symbol": symbol,
                "side": "",
                "size": "0",
                "avgPrice": "0",
                "positionValue": "0",
                "tradeMode": 0,
                "positionStatus": "Normal",
                "autoAddMargin": 0,
                "adlRankIndicator": 0,
                "leverage": s(DEFAULT_LEVERAGE),
                "markPrice": s(self.mark_prices.get(symbol, Decimal(0))),
                "liqPrice": "",
                "bustPrice": "",
                "takeProfit": "",
                "stopLoss": "",
                "trailingStop": "0",
                "unrealisedPnl": "0",
                "curRealisedPnl": "0",
                "cumRealisedPnl": "0",
                "seq": self._next_seq(),
                "isReduceOnly": False,
                "createdTime": now,
                "updatedTime": now,
                "_category": category,
            }
        return self.positions[key]

    @staticmethod
    def _require_scope(params: Params, *names: str) -> None:
        if params.get("category") == "linear" and not any(params.get(n) for n in names):
            raise ApiError(10001, f"params error: one of {', '.join(names)} is required for linear")

    # --- account / user ---------------------------------------------------------------------
    def wallet_balance(self, params: Params) -> dict[str, Any]:
        account_type = params.get("accountType")
        if not account_type:
            raise ApiError(10001, "params error: accountType is required")
        wanted = set(str(params["coin"]).split(",")) if params.get("coin") else None
        coins = []
        for coin, amount in sorted(self.wallets.get(str(account_type), {}).items()):
            if wanted is not None and coin not in wanted:
                continue
            locked = self._locked(coin) if account_type == "UNIFIED" else Decimal(0)
            coins.append(
                {
                    "coin": coin,
                    "equity": s(amount),
                    "usdValue": s(amount),
                    "walletBalance": s(amount),
                    "locked": "0",
                    "totalOrderIM": s(locked),
                    "totalPositionIM": "0",
                    "totalPositionMM": "0",
                    "unrealisedPnl": "0",
                    "cumRealisedPnl": "0",
                    "availableToWithdraw": s(amount - locked),
                    "borrowAmount": "0",
                    "accruedInterest": "0",
                    "bonus": "0",
                    "spotBorrow": "0",
                    "marginCollateral": True,
                    "collateralSwitch": True,
                }
            )
        total = sum((Decimal(c["walletBalance"]) for c in coins if c["coin"] == "USDT"), Decimal(0))
        return {
            "list": [
                {
                    "accountType": account_type,
                    "totalEquity": s(total),
                    "totalWalletBalance": s(total),
                    "totalMarginBalance": s(total),
                    "totalAvailableBalance": s(total),
                    "totalPerpUPL": "0",
                    "totalInitialMargin": "0",
                    "totalMaintenanceMargin": "0",
                    "accountIMRate": "0",
                    "accountMMRate": "0",
                    "accountLTV": "0",
                    "coin": coins,
                }
            ]
        }

    def _locked(self, coin: str) -> Decimal:
        if coin != "USDT":
            return Decimal(0)
        locked = Decimal(0)
        for order in self.orders.values():
            if order["orderStatus"] in OPEN_STATUSES and order["price"]:
                leverage = Decimal(self.position(order["_category"], order["symbol"])["leverage"])
                locked += Decimal(order["leavesQty"]) * Decimal(order["price"]) / leverage
        return locked

    def query_api(self, key: KeyRecord) -> dict[str, Any]:
        return {
            "id": "2208369",
            "note": "fake",
            "apiKey": key.api_key,
            "readOnly": 1 if key.read_only else 0,
            "secret": "",
            "permissions": {k: list(v) for k, v in key.permissions.items()},
            "ips": list(key.ips),
            "type": 1,
            "deadlineDay": 66,
            "expiredAt": key.expired_at,
            "createdAt": "2025-10-13T03:20:45Z",
            "unified": 0,
            "uta": 1,
            "userID": 1448939,
            "inviterID": 0,
            "vipLevel": "No VIP",
            "mktMakerLevel": "0",
            "affiliateID": 0,
            "rsaPublicKey": "",
            "isMaster": True,
            "parentUid": "0",
        }
