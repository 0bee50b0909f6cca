"""StrategyRunner: a strategy trading through the engine's OMS, one candle at a time.

At the open of each bar it runs the strategy's `signals()` on the candles closed so far (the same
function a backtest runs over the whole history; the last row is the current intent) and turns a
change of target into orders through the kernel: close or resize at market, enter at market, with
a limit or with a stop, sized by the cost model's sizer. It follows the batch kernel's decisions
exactly (see backtest/simulator.py), which is what lets the parity test demand identical fills:

- a target is "acted" once its order filled (a limit/stop entry that did not fill in its bar is
  cancelled and re-placed with the next signal's price), and after a stop-loss, take-profit or
  liquidation the runner stays flat until the target changes;
- market entries are sized at the open with the expected slippage, limit/stop entries at the
  price they would fill at, resizes on equity at the open, all by the backtest's own sizing
  function (fills.sized_qty, every costs.Sizer: the stop-distance sizer with the entry signal's
  stop, a resize with the position's current stop);
- a signal's non-NaN stop-loss / take-profit replaces the open position's levels.

Acting at the open, not at the previous close, is what a live engine does too: the order goes out
right after the close, and the next trade price is the new candle's open.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from decimal import Decimal

from workstation.backtest import costs as C
from workstation.backtest import fills as F
from workstation.backtest.costs import CostModel, Sizer
from workstation.core.enums import Category, OrderStatus, OrderType, Side
from workstation.core.errors import OrderDeniedError, WorkstationError
from workstation.core.ids import new_client_order_id
from workstation.core.types import Candle, OrderRequest
from workstation.data.arrays import CandleArrays
from workstation.engine.kernel import EngineKernel
from workstation.exchanges.simulated.book import dec
from workstation.paper.risk_path import RiskPath
from workstation.risk.engine import TradeIntent
from workstation.risk.limits import AccountState, Exposure
from workstation.strategies.base import OrderKind, Strategy, StrategyError, signals

log = logging.getLogger(__name__)

TradingStop = Callable[[str, Category, Decimal | None, Decimal | None], Awaitable[None]]
REFUSED = frozenset({OrderStatus.DENIED, OrderStatus.REJECTED})


@dataclass(frozen=True, slots=True)
class Intent:
    """The last row of the strategy's signals: what it wants from the next bar on."""

    target: float
    kind: int
    entry_price: float
    stop_loss: float
    take_profit: float


class StrategyRunner:
    def __init__(
        self,
        kernel: EngineKernel,
        strategy: Strategy,
        symbol: str,
        cost: CostModel,
        *,
        category: Category = Category.LINEAR,
        window: int | None = None,
        trading_stop: TradingStop | None = None,
        prefix: str = "pp",
        risk: RiskPath | None = None,
    ) -> None:
        """`window`: bars handed to `signals()` each time (None: every bar seen, which makes each
        row identical to a whole-history backtest for any causal strategy).

        `risk`: every change of target becomes a TradeIntent the RiskEngine sizes or denies (a
        denial is its event and no order); the cost model's sizer is then not used, and an open
        position is not resized when only the target's weight changes. None: sized exactly as the
        backtest sizes (what the parity test holds the runner to)."""
        self.kernel = kernel
        self.strategy = strategy
        self.symbol = symbol
        self.cost = cost
        self.category = category
        self.window = window
        self.trading_stop = trading_stop
        self.prefix = prefix if risk is None else risk.order_prefix(prefix)  # a candidate's orders carry its id
        self.risk = risk
        self._stop_loss = math.nan  # the strategy's own stop for the entry being risked
        self._position_stop = math.nan  # the open position's stop-loss as the backtest tracks it (stop-distance sizer)
        self._seen_target = 0.0
        self._trade: tuple[float, float, bool] | None = None  # (equity before the entry, entry notional, long)
        self._equity_before = math.nan
        self.acted = 0.0
        self._entry: tuple[str, float] | None = None  # resting entry order and its target
        self.orders_sent = 0
        self.refusals = 0
        self.strategy_errors = 0
        self._refused_target: float | None = None  # a refused intent is not retried until it changes
        self._want = 0.0

    # --- the bar cycle --------------------------------------------------------------------------
    async def on_open(self, history: CandleArrays, bar: Candle) -> None:
        """Act on the signal of the last closed candle; the venue's bar is open at `bar.open`."""
        if len(history) == 0:
            return
        if self.risk is not None:
            self.risk.tick(bar.ts)
        intent = self.intent(history)
        await self._settle_entry()
        if intent is None:
            return
        qty = await self._position()
        if qty != 0.0:
            if not math.isnan(intent.stop_loss):
                self._position_stop = intent.stop_loss
            await self._protect(intent, Side.BUY if qty > 0 else Side.SELL)
        want = intent.target
        if self.risk is not None and want != self._seen_target:  # a denied target is retried once it changed
            self._refused_target = None
        self._seen_target = want
        if want == self.acted or want == self._refused_target:
            return
        self._refused_target = None
        self._want = want
        if self.risk is not None:
            await self._risk_open(self.risk, intent, qty, history, bar)
            return
        prev = history.take(slice(len(history) - 1, None))
        if qty != 0.0 and (want == 0.0 or (qty > 0) != (want > 0)):
            side = Side.SELL if qty > 0 else Side.BUY
            if not await self._send(side, abs(qty), reduce_only=True):
                return
            qty = 0.0
        if want == 0.0:
            self.acted = want
        elif qty != 0.0:
            await self._resize(qty, want, bar.open)
        else:
            await self._enter(intent, bar.open, prev)

    async def on_close(self, bar: Candle, *, new_fills: bool = True) -> None:
        """After the venue matched the bar: pull its executions into the ledger."""
        if new_fills:
            await self.kernel.sync()
            self.kernel.portfolio.set_balances(self.kernel.venue, await self.kernel.client.fetch_balances())
        self.kernel.portfolio.set_mark(self.symbol, dec(bar.close))
        if self.risk is not None:
            qty = await self._position()
            if qty != 0.0 or new_fills:  # flat and nothing filled: equity did not move
                self.risk.tick(bar.ts + self.risk.bar_ms - 1)  # the candle's last moment, in its UTC day
                account = await self._account(bar.close, qty)
                self.risk.engine.on_account(account)
                self._track_trade(self.risk, qty, float(account.equity))

    def _track_trade(self, rp: RiskPath, qty: float, equity: float) -> None:
        """A closed trade's return (equity change over the entry's notional) to the performance monitor.

        A trade closes when the position goes flat, or when it reverses (long straight to short or
        back, an exit and an entry at one open): that closes one trade and opens the next, as
        graduation.compare.round_trips counts it. The reversed trade ends at the equity between its
        exit and the next entry (read when that entry was sized), which is where a flat exit ends."""
        if self._trade is not None:
            before, notional, long = self._trade
            reversed_ = qty != 0.0 and (qty > 0) != long
            if qty == 0.0 or reversed_:
                self._trade = None
                end = self._equity_before if reversed_ else equity
                if rp.monitor is not None and notional > 0:
                    rp.monitor.record_trade(rp.strategy_id, (end - before) / notional)
        if qty != 0.0 and self._trade is None:
            price = float(self.kernel.portfolio.position(self.kernel.venue, self.symbol).entry_price)
            self._trade = (self._equity_before, abs(qty) * price, qty > 0)

    async def resume(self, history: CandleArrays) -> None:
        """Pick up after a restart (the ledger reconciled with the venue): take the open position
        as acted on, and the newest resting entry of this runner as the one to settle at the next
        open (older ones are cancelled). A runner that was flat after a protective exit may enter
        again at the next open: what it did not write down is not guessed."""
        qty = await self._position()
        intent = self.intent(history) if len(history) else None
        want = intent.target if intent is not None else 0.0
        if qty != 0.0:
            self.acted = want if want != 0.0 and (want > 0) == (qty > 0) else (1.0 if qty > 0 else -1.0)
        else:
            self.acted = 0.0
        mine = [
            r
            for r in self.kernel.oms.records(open_only=True)
            if r.order.symbol == self.symbol and r.client_order_id.startswith(f"{self.prefix}-") and not r.reduce_only
        ]
        mine.sort(key=lambda r: r.client_order_id)
        for stale in mine[:-1]:
            await self.kernel.cancel(stale.client_order_id)
        if mine:
            self._entry = (mine[-1].client_order_id, want)
        log.info(
            "%s runner resumed: position %s, acted %s, resting entry %s", self.symbol, qty, self.acted, self._entry
        )

    def intent(self, history: CandleArrays) -> Intent | None:
        window = history if self.window is None else history.take(slice(max(0, len(history) - self.window), None))
        try:
            sig = signals(self.strategy, window, locate=False)
        except StrategyError as exc:
            self.strategy_errors += 1
            log.error("%s", exc)
            return None
        return Intent(
            float(sig.target[-1]),
            int(sig.order_kind[-1]),
            float(sig.entry_price[-1]),
            float(sig.stop_loss[-1]),
            float(sig.take_profit[-1]),
        )

    # --- steps ---------------------------------------------------------------------------------
    async def _settle_entry(self) -> None:
        """A resting entry lives for one bar: filled means its target is acted, else cancel it."""
        if self._entry is None:
            return
        coid, target = self._entry
        self._entry = None
        order = self.kernel.oms.order(coid)
        if order is not None and order.filled_qty > 0:
            self.acted = target
            return
        if order is not None and order.status not in REFUSED:
            await self.kernel.cancel(coid)

    async def _position(self) -> float:
        for p in await self.kernel.client.fetch_positions(self.category, self.symbol):
            if p.side is not None and p.size:
                return float(p.size) if p.side is Side.BUY else -float(p.size)
        return 0.0

    async def _balance(self) -> tuple[float, float]:
        """(cash, equity at the current mark) of the venue account: the symbol's settlement coin
        when the venue lists several (a Bybit wallet holds BTC, USDT, ...)."""
        balances = await self.kernel.client.fetch_balances()
        for b in [b for b in balances if self.symbol.endswith(b.coin)] or balances:
            return float(b.total), float(b.extra.get("equity", b.total))
        return 0.0, 0.0

    async def _protect(self, intent: Intent, side: Side) -> None:
        if math.isnan(intent.stop_loss) and math.isnan(intent.take_profit):
            return
        setter = self.trading_stop or getattr(self.kernel.client, "set_trading_stop", None)
        if setter is None:
            return
        sl = None if math.isnan(intent.stop_loss) else dec(intent.stop_loss)
        tp = None if math.isnan(intent.take_profit) else dec(intent.take_profit)
        try:
            sl, tp = await self.kernel.round_stops(self.symbol, self.category, side, sl, tp)
            await setter(self.symbol, self.category, sl, tp)
        except (OrderDeniedError, WorkstationError) as exc:
            log.warning("%s: stop-loss/take-profit not moved: %s", self.symbol, exc)

    async def _resize(self, qty: float, want: float, open_: float) -> None:
        cm, stop = self.cost, self._position_stop
        if cm.sizer is Sizer.STOP_DISTANCE and math.isnan(stop):
            self.acted = want  # resumed after a restart without the position's stop: keep the size, never close on it
            return
        _, equity = await self._balance()
        new = F.sized_qty(int(cm.sizer), cm.size, equity, open_, want, cm.taker_fee, cm.leverage, cm.qty_step, stop)
        d = new - abs(qty)
        ps = 1.0 if qty > 0 else -1.0
        if d != 0.0:
            side = Side.BUY if (ps if d > 0 else -ps) > 0 else Side.SELL
            if not await self._send(side, abs(d), reduce_only=d < 0):
                return
        self.acted = want

    async def _enter(self, intent: Intent, open_: float, prev: CandleArrays) -> None:
        cm, want = self.cost, intent.target
        side = 1.0 if want > 0 else -1.0
        cash, _ = await self._balance()
        sizing = (int(cm.sizer), cm.size, cash)
        stop = intent.stop_loss  # the stop-distance sizer risks the fraction at the entry signal's stop
        if intent.kind == OrderKind.LIMIT:
            gapped = open_ <= intent.entry_price if side > 0 else open_ >= intent.entry_price
            px = open_ if gapped else intent.entry_price
            q = F.sized_qty(*sizing, px, want, cm.maker_fee, cm.leverage, cm.qty_step, stop)
        else:
            px = open_
            if intent.kind == OrderKind.STOP:
                gapped = open_ >= intent.entry_price if side > 0 else open_ <= intent.entry_price
                px = open_ if gapped else intent.entry_price
            q0 = F.sized_qty(*sizing, px, want, cm.taker_fee, cm.leverage, cm.qty_step, stop)
            frac = C.slippage_fraction(
                cm.slippage_bps * 1e-4,
                cm.volatility_impact,
                cm.volume_impact,
                float(prev.high[0]),
                float(prev.low[0]),
                float(prev.close[0]),
                q0,
                float(prev.volume[0]),
            )
            q = F.sized_qty(*sizing, C.slipped(px, side, frac), want, cm.taker_fee, cm.leverage, cm.qty_step, stop)
        if q <= 0.0:
            if intent.kind == OrderKind.MARKET:
                self.acted = want
            return
        order_side = Side.BUY if side > 0 else Side.SELL
        coid = await self._send(order_side, q, intent=intent)
        if not coid:
            return
        self._position_stop = stop
        if intent.kind == OrderKind.MARKET:
            self.acted = want
        else:
            self._entry = (coid, want)

    # --- through the risk engine ----------------------------------------------------------------
    async def _risk_open(self, rp: RiskPath, intent: Intent, qty: float, history: CandleArrays, bar: Candle) -> None:
        want = intent.target
        if qty != 0.0 and (want == 0.0 or (qty > 0) != (want > 0)):
            side = Side.SELL if qty > 0 else Side.BUY
            exit_ = TradeIntent(
                rp.strategy_id, self.symbol, side, dec(bar.open), reduce_qty=dec(abs(qty)), category=self.category
            )
            if not await self._send_risked(rp, exit_, history, bar, qty):
                return
            qty = 0.0
        if want == 0.0 or qty != 0.0:  # flat, or already on the target's side: nothing to open
            self.acted = want
            return
        side = Side.BUY if want > 0 else Side.SELL
        kind = OrderKind(intent.kind)
        entry = bar.open if kind == OrderKind.MARKET else intent.entry_price
        stop = intent.stop_loss if not math.isnan(intent.stop_loss) else rp.stop_for(history, entry, side)
        order_type = {OrderKind.MARKET: OrderType.MARKET, OrderKind.LIMIT: OrderType.LIMIT}.get(kind, OrderType.STOP)
        entry_ = TradeIntent(
            rp.strategy_id,
            self.symbol,
            side,
            dec(entry),
            stop_price=None if math.isnan(stop) else dec(stop),
            weight=dec(min(abs(want), 1.0)),
            order_type=order_type,
            take_profit=None if math.isnan(intent.take_profit) else dec(intent.take_profit),
            category=self.category,
        )
        self._stop_loss = intent.stop_loss
        coid = await self._send_risked(rp, entry_, history, bar, qty)
        if not coid:
            return
        if kind == OrderKind.MARKET:
            self.acted = want
        else:
            self._entry = (coid, want)

    async def _account(self, mark: float, qty: float) -> AccountState:
        _, equity = await self._balance()
        positions = (Exposure(self.symbol, dec(qty), dec(mark)),) if qty != 0.0 else ()
        return AccountState(dec(equity), positions)

    async def _send_risked(
        self, rp: RiskPath, intent: TradeIntent, history: CandleArrays, bar: Candle, qty: float
    ) -> str:
        """Evaluate `intent`; a sized request goes to the OMS. "" when denied, refused or rejected."""
        account = await self._account(bar.open, qty)
        if intent.reduce_qty is None:  # an entry, always from flat (after a reversal's exit: where that trade ended)
            self._equity_before = float(account.equity)
        cash, _ = await self._balance()
        margin = rp.margin_cap(cash, self.cost)
        result = rp.engine.evaluate(
            intent, account, rp.instrument, volatility=rp.volatility(history), max_notional=margin
        )
        rp.decisions += 1
        if result.request is None:  # the engine published RiskDenied and OrderDenied with its numbers
            rp.denials += 1
            self._refused_target = self._want
            return ""
        request = replace(result.request, client_order_id=new_client_order_id(self.prefix))
        if intent.reduce_qty is None and not rp.attach_stop and math.isnan(self._stop_loss):
            request = replace(request, stop_loss=None)  # the ATR stop sized the order; the strategy set none
        if request.order_type is OrderType.STOP:
            request = replace(request, trigger_price=intent.entry_price, price=None)
        return await self._submit(request)

    async def _send(self, side: Side, qty: float, *, reduce_only: bool = False, intent: Intent | None = None) -> str:
        """Submit through the OMS; the client order id, or "" when it was denied or rejected."""
        kind = OrderKind(intent.kind) if intent is not None else OrderKind.MARKET
        price = dec(intent.entry_price) if intent is not None and kind != OrderKind.MARKET else None
        request = OrderRequest(
            client_order_id=new_client_order_id(self.prefix),
            symbol=self.symbol,
            side=side,
            qty=dec(qty),
            order_type={OrderKind.MARKET: OrderType.MARKET, OrderKind.LIMIT: OrderType.LIMIT}.get(kind, OrderType.STOP),
            price=price if kind == OrderKind.LIMIT else None,
            trigger_price=price if kind == OrderKind.STOP else None,
            reduce_only=reduce_only,
            category=self.category,
            stop_loss=dec(intent.stop_loss) if intent is not None and not math.isnan(intent.stop_loss) else None,
            take_profit=dec(intent.take_profit) if intent is not None and not math.isnan(intent.take_profit) else None,
        )
        return await self._submit(request)

    async def _submit(self, request: OrderRequest) -> str:
        self.orders_sent += 1
        order = await self.kernel.submit(request)
        if order.status in REFUSED:
            self.refusals += 1
            self._refused_target = self._want
            log.warning("%s %s %s refused: %s", self.symbol, request.side.value, request.qty, order.status.value)
            return ""
        return request.client_order_id
