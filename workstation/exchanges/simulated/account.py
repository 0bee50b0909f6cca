"""PaperAccount: the matching engine of the paper venue, driven one candle at a time.

A candle is processed in two steps, the same ones the backtest kernel runs inside bar i:

    open_bar(symbol, candle, funding_rate)  funding on the position carried in (at the open), then
                                            queued market orders fill at the open with slippage;
                                            market orders placed now also fill at this open
    close_bar(symbol)                       resting limit/stop orders by the touch rules, then the
                                            position's stop-loss / take-profit / liquidation
                                            (`exit_scan`, adverse level first), then mark to close

Every price, fee and cash flow comes from `workstation.backtest.fills` and `costs`: the paper
venue and the batch backtest share one set of rules (see tests/integration/test_parity_*.py).
One known difference: with `volume_impact` the backtest measures a market entry's slippage on the
quantity sized before slippage, the venue on the order's own quantity.
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Callable
from decimal import Decimal

from workstation.backtest import costs as C
from workstation.backtest import fills as F
from workstation.backtest.costs import CostModel
from workstation.core.enums import Category, OrderStatus, OrderType
from workstation.core.errors import ExchangeError
from workstation.core.types import Candle, OrderRequest
from workstation.exchanges.simulated.book import (
    DUPLICATE_ORDER_LINK_ID,
    INSUFFICIENT_BALANCE,
    ORDER_NOT_FOUND,
    PARAMS_ERROR,
    REDUCE_ONLY_REFUSED,
    PaperFill,
    PaperOrder,
    SymbolBook,
    sign,
)

EXECUTION_WINDOW_MS = 7 * 24 * 3600 * 1000  # Bybit's execution list covers the last 7 days


def _f(value: Decimal | None) -> float:
    return math.nan if value is None else float(value)


class PaperAccount:
    def __init__(
        self,
        *,
        cost: CostModel | None = None,
        cash: float = 10_000.0,
        coin: str = "USDT",
        session: str | None = None,
        clock: Callable[[], int] | None = None,
    ) -> None:
        self.cost = cost or CostModel()
        self.cash = float(cash)
        self.fund = 0.0  # the FUND account that transfer() moves money to and from
        self.coin = coin
        self.session = session or secrets.token_hex(4)  # keeps ids unique across restarts
        self._clock = clock
        self.now_ms = 0
        self.books: dict[str, SymbolBook] = {}
        self.orders: dict[str, PaperOrder] = {}
        self.fills: list[PaperFill] = []
        self.fees_paid = 0.0
        self.funding_paid = 0.0
        self._seq = 0

    # --- time, ids, books ------------------------------------------------------------------
    def time_ms(self) -> int:
        return self._clock() if self._clock is not None else self.now_ms

    def _next(self, kind: str) -> str:
        self._seq += 1
        return f"{self.session}-{kind}{self._seq}"

    def book(self, symbol: str, category: Category = Category.LINEAR) -> SymbolBook:
        if symbol not in self.books:
            self.books[symbol] = SymbolBook(symbol, category, self.cost.leverage)
        return self.books[symbol]

    # --- account values --------------------------------------------------------------------
    def equity(self) -> float:
        """Cash plus unrealized PnL at the marks (for one symbol, exactly the backtest's equity)."""
        eq = self.cash
        for b in self.books.values():
            if b.qty != 0.0 and not math.isnan(b.mark):
                eq += b.qty * (b.mark - b.avg)
        return eq

    def position_margin(self) -> float:
        return sum(abs(b.qty) * b.mark / b.leverage for b in self.books.values() if b.qty and not math.isnan(b.mark))

    def order_margin(self) -> float:
        return sum(
            (o.qty - o.filled_qty) * self._ref_price(o) / self.books[o.request.symbol].leverage
            for o in self.orders.values()
            if o.is_open and not o.request.reduce_only and not math.isnan(self._ref_price(o))
        )

    def available(self) -> float:
        return self.equity() - self.position_margin() - self.order_margin()

    # --- market data -------------------------------------------------------------------------
    def open_bar(self, symbol: str, candle: Candle, funding_rate: float = 0.0) -> None:
        b = self.book(symbol)
        if b.bar is not None:
            self.close_bar(symbol)
        b.bar, b.mark = candle, candle.open
        b.path_open, b.allow_tp = candle.open, True
        self.now_ms = max(self.now_ms, candle.ts)
        if funding_rate != 0.0 and b.qty != 0.0:
            pay = C.funding_payment(b.qty, candle.open, funding_rate)
            self.cash -= pay
            self.funding_paid += pay
            b.funding_paid += pay
        for order in [o for o in b.orders if o.kind is OrderType.MARKET]:
            self._fill_market(b, order)

    def close_bar(self, symbol: str) -> None:
        b = self.books[symbol]
        bar = b.bar
        if bar is None:
            return
        for order in [o for o in b.orders if o.kind is not OrderType.MARKET]:
            if order.is_open:
                self._fill_resting(b, order, bar)
        self._protect(b, bar)
        b.mark, b.prev, b.bar = bar.close, bar, None

    def on_candle(self, symbol: str, candle: Candle, funding_rate: float = 0.0) -> None:
        """A whole candle at once (live candles, or a replay with no strategy in between)."""
        self.open_bar(symbol, candle, funding_rate)
        self.close_bar(symbol)

    # --- orders ------------------------------------------------------------------------------
    def place(self, request: OrderRequest) -> PaperOrder:
        coid = request.client_order_id
        if not coid:
            raise ExchangeError("paper place_order: orderLinkId is required", code=PARAMS_ERROR)
        if coid in self.orders:
            raise ExchangeError(f"paper place_order: duplicate orderLinkId {coid}", code=DUPLICATE_ORDER_LINK_ID)
        if request.qty <= 0:
            raise ExchangeError("paper place_order: qty must be positive", code=PARAMS_ERROR)
        if request.order_type is OrderType.LIMIT and (request.price is None or request.price <= 0):
            raise ExchangeError("paper place_order: a limit order needs a positive price", code=PARAMS_ERROR)
        if request.order_type is OrderType.LIMIT and request.trigger_price is not None:
            raise ExchangeError("paper place_order: conditional limit orders are not simulated", code=PARAMS_ERROR)
        if request.order_type is OrderType.STOP and (request.trigger_price is None or request.trigger_price <= 0):
            raise ExchangeError("paper place_order: a stop order needs a positive trigger price", code=PARAMS_ERROR)
        now = self.time_ms()
        order = PaperOrder(
            request, self._next("o"), now, updated_ms=now, qty=float(request.qty), price=_f(request.price)
        )
        order.trigger = _f(request.trigger_price)
        b = self.book(request.symbol, request.category)
        if request.reduce_only:
            if b.qty == 0.0 or sign(request.side) == b.side:
                raise ExchangeError(
                    f"paper place_order: reduce-only {request.side.value} with no opposite position",
                    code=REDUCE_ONLY_REFUSED,
                )
        else:
            self._check_margin(b, order)
        self.orders[coid] = order
        b.orders.append(order)
        if order.kind is OrderType.MARKET and b.bar is not None:
            self._fill_market(b, order)
        return order

    def amend(self, coid: str, qty: Decimal | None, price: Decimal | None, trigger: Decimal | None) -> PaperOrder:
        order = self._open_order(coid, "amend_order")
        if qty is not None:
            if float(qty) <= order.filled_qty:
                raise ExchangeError("paper amend_order: qty must exceed the filled quantity", code=PARAMS_ERROR)
            order.qty = float(qty)
        if price is not None:
            order.price = float(price)
        if trigger is not None:
            order.trigger = float(trigger)
        order.updated_ms = max(order.updated_ms, self.time_ms())
        return order

    def cancel(self, coid: str, reason: str = "cancelled on request") -> PaperOrder:
        order = self._open_order(coid, "cancel_order")
        self._finish(order, OrderStatus.CANCELLED, reason)
        return order

    def open_orders(self, symbol: str | None = None) -> list[PaperOrder]:
        return [o for b in self.books.values() if symbol in (None, b.symbol) for o in b.orders]

    def set_trading_stop(self, symbol: str, stop_loss: Decimal | None, take_profit: Decimal | None) -> None:
        """Bybit's position trading-stop: replace the position's SL and/or TP (None leaves one as is)."""
        b = self.book(symbol)
        if b.qty == 0.0:
            raise ExchangeError(f"paper set_trading_stop: no {symbol} position", code=PARAMS_ERROR)
        if stop_loss is not None:
            b.sl = float(stop_loss) if stop_loss > 0 else math.nan
        if take_profit is not None:
            b.tp = float(take_profit) if take_profit > 0 else math.nan

    def transfer(self, amount: float, from_account: str, to_account: str) -> str:
        accounts = {"UNIFIED", "FUND"}
        if {from_account, to_account} != accounts:
            raise ExchangeError(f"paper transfer: only UNIFIED <-> FUND, not {from_account} -> {to_account}")
        if amount <= 0:
            raise ExchangeError("paper transfer: amount must be positive", code=PARAMS_ERROR)
        source = self.available() if from_account == "UNIFIED" else self.fund
        if amount > source:
            raise ExchangeError("paper transfer: insufficient balance", code=INSUFFICIENT_BALANCE)
        delta = amount if from_account == "FUND" else -amount
        self.cash += delta
        self.fund -= delta
        return self._next("t")

    def executions(self, symbol: str | None = None) -> list[PaperFill]:
        """Newest first, the last 7 days of venue time (as Bybit's execution list)."""
        since = self.time_ms() - EXECUTION_WINDOW_MS
        out = []
        for fill in reversed(self.fills):
            if fill.ts < since:
                break
            if symbol in (None, fill.symbol):
                out.append(fill)
        return out

    # --- matching ----------------------------------------------------------------------------
    def _open_order(self, coid: str, action: str) -> PaperOrder:
        order = self.orders.get(coid)
        if order is None or not order.is_open:
            raise ExchangeError(f"paper {action}: order not exists or too late ({coid})", code=ORDER_NOT_FOUND)
        return order

    def _finish(self, order: PaperOrder, status: OrderStatus, reason: str = "") -> None:
        order.move(status, self.time_ms(), reason)
        book = self.books[order.request.symbol]
        if order in book.orders:
            book.orders.remove(order)

    def _ref_price(self, order: PaperOrder) -> float:
        b = self.books[order.request.symbol]
        if order.kind is OrderType.LIMIT:
            # a marketable limit fills at the current price, which is better than its limit
            if not math.isnan(b.mark):
                return min(order.price, b.mark) if order.side > 0 else max(order.price, b.mark)
            return order.price
        if order.kind is OrderType.STOP:
            return order.trigger
        if b.bar is not None:
            return self._market_price(b, order.side, order.qty)
        return b.mark

    def _check_margin(self, b: SymbolBook, order: PaperOrder) -> None:
        adds = order.qty if (b.qty == 0.0 or order.side == b.side) else max(0.0, order.qty - abs(b.qty))
        ref = self._ref_price(order)
        if adds <= 0.0 or math.isnan(ref):
            return
        need = adds * ref / b.leverage
        free = self.available()
        if need > free * (1.0 + 1e-12) + 1e-12:
            raise ExchangeError(
                f"paper place_order: needs {need:.2f} {self.coin} margin, {free:.2f} available",
                code=INSUFFICIENT_BALANCE,
            )

    def _slip(self, b: SymbolBook, qty: float) -> float:
        cm, p = self.cost, b.prev
        if p is None:
            return C.slippage_fraction(cm.slippage_bps * 1e-4, 0.0, 0.0, 0.0, 0.0, 0.0, qty, 0.0)
        return C.slippage_fraction(
            cm.slippage_bps * 1e-4, cm.volatility_impact, cm.volume_impact, p.high, p.low, p.close, qty, p.volume
        )

    def _market_price(self, b: SymbolBook, side: float, qty: float) -> float:
        assert b.bar is not None
        return C.slipped(b.bar.open, side, self._slip(b, qty))

    def _fill_market(self, b: SymbolBook, order: PaperOrder) -> None:
        qty = self._fillable(b, order)
        if qty > 0.0:
            px = self._market_price(b, order.side, qty)
            self._execute(b, order, order.side, qty, px, self.cost.taker_fee, F.EXIT_NONE, maker=False)

    def _fill_resting(self, b: SymbolBook, order: PaperOrder, bar: Candle) -> None:
        side = order.side
        if order.kind is OrderType.LIMIT:
            px = F.limit_fill_price(side, order.price, bar.open, bar.high, bar.low)
        else:
            px = F.stop_fill_price(side, order.trigger, bar.open, bar.high, bar.low)
        if math.isnan(px):
            return
        qty = self._fillable(b, order)
        if qty <= 0.0:
            return
        from_flat = b.qty == 0.0
        if order.kind is OrderType.LIMIT:
            self._execute(b, order, side, qty, px, self.cost.maker_fee, F.EXIT_NONE, maker=True)
        else:
            px = C.slipped(px, side, self._slip(b, qty))
            self._execute(b, order, side, qty, px, self.cost.taker_fee, F.EXIT_NONE, maker=False)
        if from_flat and b.qty != 0.0 and px != bar.open:
            # entered inside the bar: it may be stopped out in this bar but not take profit
            b.path_open, b.allow_tp = px, False

    def _fillable(self, b: SymbolBook, order: PaperOrder) -> float:
        """What is left to fill; a reduce-only order never grows or flips the position."""
        qty = order.qty - order.filled_qty
        if order.request.reduce_only:
            if b.qty == 0.0 or order.side == b.side:
                self._finish(order, OrderStatus.CANCELLED, "reduce-only: no position left to reduce")
                return 0.0
            qty = min(qty, abs(b.qty))
        return qty

    def _protect(self, b: SymbolBook, bar: Candle) -> None:
        if b.qty == 0.0:
            return
        cm, ps = self.cost, b.side
        liq = F.liquidation_price(ps, b.avg, b.leverage, cm.maintenance_margin)
        px, why = F.exit_scan(ps, b.sl, b.tp, liq, b.path_open, bar.high, bar.low, b.allow_tp)
        if why == F.EXIT_NONE:
            return
        qty = abs(b.qty)
        if why == F.EXIT_LIQUIDATION:
            self._execute(b, None, -ps, qty, F.bankruptcy_price(ps, b.avg, b.leverage), 0.0, why, maker=False)
        elif why == F.EXIT_STOP_LOSS:
            px = C.slipped(px, -ps, self._slip(b, b.qty))
            self._execute(b, None, -ps, qty, px, cm.taker_fee, why, maker=False)
        else:
            self._execute(b, None, -ps, qty, px, cm.maker_fee, why, maker=True)
        for order in [o for o in b.orders if o.request.reduce_only]:
            self._finish(order, OrderStatus.CANCELLED, "reduce-only: position closed")

    def _execute(
        self,
        b: SymbolBook,
        order: PaperOrder | None,
        side: float,
        qty: float,
        px: float,
        rate: float,
        reason: int,
        *,
        maker: bool,
    ) -> None:
        """Book one fill on the position and cash, with the backtest's arithmetic."""
        f = C.fee(qty * px, rate)
        self.fees_paid += f
        if b.qty == 0.0 or side == b.side:
            if b.qty == 0.0:
                b.qty, b.avg = side * qty, px
                b.sl, b.tp = math.nan, math.nan
            else:
                b.avg = (abs(b.qty) * b.avg + qty * px) / (abs(b.qty) + qty)
                b.qty += side * qty
            self.cash -= f
            if order is not None:
                if order.request.stop_loss is not None:
                    b.sl = float(order.request.stop_loss)
                if order.request.take_profit is not None:
                    b.tp = float(order.request.take_profit)
        else:
            ps, close = b.side, min(qty, abs(b.qty))
            f_close = f if close == qty else f * close / qty
            self.cash += ps * close * (px - b.avg) - f_close
            b.qty = 0.0 if close == abs(b.qty) else b.qty - ps * close
            if b.qty == 0.0:
                b.sl, b.tp = math.nan, math.nan
            if close < qty:  # a flip: the remainder opens the other side at the same price
                b.qty, b.avg = side * (qty - close), px
                self.cash -= f - f_close
        coid = order.request.client_order_id if order is not None else ""
        ts = b.bar.ts if b.bar is not None else self.time_ms()
        self.fills.append(PaperFill(self._next("e"), coid, b.symbol, ts, side, qty, px, f, reason, maker))
        if order is not None:
            order.filled_qty += qty
            order.filled_value += qty * px
            if order.kind is OrderType.MARKET and order.filled_qty < order.qty:
                order.qty = order.filled_qty  # a reduce-only market order shrinks to the position
            if order.filled_qty >= order.qty:
                self._finish(order, OrderStatus.FILLED, "filled")
            else:
                order.move(OrderStatus.PARTIALLY_FILLED, self.time_ms())
