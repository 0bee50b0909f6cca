"""RiskEngine: between every strategy and the SafetyGate. A strategy's intent plus the account state
become a sized OrderRequest or a denial, and every decision is an event with its numbers:

    OrderSized        sized by the risk budget alone
    OrderSizeReduced  smaller than the budget alone would give (taper, allocation, leverage or
                      exposure cap); the event says which
    RiskDenied        nothing goes out (plus an OrderDenied, like every denied order)

Orders that reduce an open position (the intent is on the other side of it) are always allowed
except by the order-rate limit, in every state: they go out reduce-only, at most the position's
size, so a strategy can never flip through the risk engine in one order.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from workstation.bus import EventBus
from workstation.core.clock import Clock
from workstation.core.enums import Category, OrderType, Side, TradingState
from workstation.core.events import OrderDenied, OrderSized, OrderSizeReduced, RiskDecision, RiskDenied
from workstation.core.ids import new_client_order_id
from workstation.core.types import Instrument, OrderRequest
from workstation.risk import fmt
from workstation.risk.growth import GrowthPlan, RateUnavailable
from workstation.risk.limits import AccountState, RiskLimits
from workstation.risk.sizing import finalize, fixed_fractional, round_price, vol_scaled_leverage
from workstation.settings.models import RiskSettings

log = logging.getLogger(__name__)
ZERO = Decimal(0)
ONE = Decimal(1)


@dataclass(frozen=True, slots=True)
class TradeIntent:
    """What a strategy wants. `weight` is |target| (the share of the risk budget, 0..1)."""

    strategy_id: str
    symbol: str
    side: Side
    entry_price: Decimal  # the limit price, or the last price for a market order
    stop_price: Decimal | None = None
    weight: Decimal = ONE
    reduce_qty: Decimal | None = None  # for an exit: how much to close (None: all of it)
    order_type: OrderType = OrderType.MARKET
    take_profit: Decimal | None = None
    category: Category = Category.LINEAR
    client_order_id: str | None = None


@dataclass(frozen=True, slots=True)
class RiskResult:
    decision: RiskDecision
    request: OrderRequest | None

    @property
    def approved(self) -> bool:
        return self.request is not None


def _s(value: object) -> str:
    """A detail value for people: text as given, numbers to 6 significant digits (money fields are
    formatted by the caller with fmt.money)."""
    if isinstance(value, Decimal | float | int) and not isinstance(value, bool):
        return fmt.num(value)
    return str(value)


class RiskEngine:
    def __init__(
        self,
        *,
        settings: RiskSettings,
        limits: RiskLimits,
        bus: EventBus,
        clock: Clock,
        growth: GrowthPlan | None = None,
        allocation: Callable[[str], float] | None = None,
        venue: str = "risk",
    ) -> None:
        """`growth` None: every trade risks `max_risk_per_trade`. `allocation(strategy_id)` is the
        performance monitor's multiplier (1.0 = full size)."""
        self.settings = settings
        self.limits = limits
        self.store = limits.store
        self.bus = bus
        self.clock = clock
        self.growth = growth
        self._allocation = allocation or (lambda _sid: 1.0)
        self.venue = venue

    def on_account(self, account: AccountState) -> None:
        """Feed the latest equity to the limits (call on every balance update)."""
        self.limits.on_equity(account.equity)

    def evaluate(
        self,
        intent: TradeIntent,
        account: AccountState,
        instrument: Instrument,
        *,
        volatility: float | None = None,
        max_notional: Mapping[str, Decimal] | None = None,
    ) -> RiskResult:
        """Size `intent` or deny it. `volatility` is annualised (realised or ATR-based); without it
        leverage falls back to 1x. `max_notional`: further caps on a new order's notional by name
        (e.g. the venue's available margin)."""
        self.limits.on_equity(account.equity)
        view = self.store.refresh()
        ctx = _Ctx(self, intent, account, view.state)
        refusal = self.limits.order_rate_refusal()
        if refusal is not None:
            return ctx.deny(refusal)
        position = account.size(intent.symbol)
        if position != 0 and (position > 0) != (intent.side is Side.BUY):
            return self._reduce(ctx, instrument, position)
        if view.state is TradingState.HALTED:
            kill = "the kill switch is engaged: " if self.store.kill_switch_engaged else ""
            return ctx.deny(f"HALTED: {kill}{view.reason}; only risk-reducing orders pass")
        if view.state is TradingState.REDUCING:
            return ctx.deny(f"REDUCING: {view.reason}; only risk-reducing orders pass")
        refusal = self.limits.open_positions_refusal(account, intent.symbol)
        if refusal is not None:
            return ctx.deny(refusal)
        if intent.stop_price is None:
            return ctx.deny("no stop price: fixed-fractional sizing needs the stop distance")
        return self._size(ctx, instrument, volatility, max_notional or {})

    # --- opening / adding ---------------------------------------------------------------------
    def _size(
        self, ctx: _Ctx, instrument: Instrument, volatility: float | None, extra: Mapping[str, Decimal]
    ) -> RiskResult:
        intent, equity = ctx.intent, ctx.account.equity
        cap = Decimal(str(self.settings.max_risk_per_trade))
        base = cap
        if self.growth is not None:
            try:
                status = self.growth.status(equity, self.clock.now_ms())
            except RateUnavailable as exc:
                return ctx.deny(f"cannot size: {exc}")
            base = min(status.risk_fraction, cap)
            ctx.add(
                growth_rate=status.rate.value,
                rate_source=status.rate.source,
                equity_converted=fmt.money(status.equity_converted),
                growth_risk=status.risk_fraction,
                max_risk_per_trade=cap,
                milestone_currency=status.currency,
                previous_milestone=fmt.money(status.previous_milestone),
                next_milestone="none (past the last)"
                if status.next_milestone is None
                else fmt.money(status.next_milestone),
                milestone_progress=status.progress.quantize(Decimal("0.0001")),
            )
        weight = min(max(intent.weight, ZERO), ONE)
        allocation = Decimal(str(self._allocation(intent.strategy_id)))
        taper, taper_reason = self.limits.size_scale()
        scale = weight * allocation * taper
        ctx.add(weight=weight, allocation=allocation, taper=taper.quantize(Decimal("0.0001")))
        reasons = [r for r in (taper_reason,) if r]
        if weight < 1:
            reasons.append(f"target weight {fmt.num(weight)}")
        if allocation < 1:
            reasons.append(f"strategy allocation cut to {fmt.num(allocation)}")
        entry = round_price(intent.entry_price, instrument.tick_size)
        stop = round_price(intent.stop_price or ZERO, instrument.tick_size)
        leverage = vol_scaled_leverage(volatility, self.settings.target_volatility, self.settings.max_leverage)
        caps = {"leverage": max(equity, ZERO) * leverage}
        caps.update(self.limits.notional_headroom(ctx.account, intent.symbol, intent.side))
        caps.update(extra)
        ctx.leverage = leverage
        ctx.add(volatility="none" if volatility is None else volatility, **{k: fmt.money(v) for k, v in caps.items()})
        risk_fraction = base * scale
        size = fixed_fractional(
            equity=equity, risk_fraction=risk_fraction, entry=entry, stop=stop, instrument=instrument, max_notional=caps
        )
        ctx.stop_distance = size.stop_distance
        ctx.requested = (equity * base / size.stop_distance) if size.stop_distance > 0 else ZERO
        ctx.risk_fraction, ctx.scale = risk_fraction, scale
        if not size.ok:
            return ctx.deny(f"cannot size: {size.refusal}")
        ctx.risk_amount = size.qty * size.stop_distance * instrument.contract_size
        ctx.risk_fraction = ctx.risk_amount / equity
        if size.capped_by:
            reasons.append(f"capped by {' and '.join(size.capped_by)}")
        request = OrderRequest(
            client_order_id=intent.client_order_id or new_client_order_id(),
            symbol=intent.symbol,
            side=intent.side,
            qty=size.qty,
            order_type=intent.order_type,
            price=entry if intent.order_type is OrderType.LIMIT else None,
            category=intent.category,
            stop_loss=stop,
            take_profit=None if intent.take_profit is None else round_price(intent.take_profit, instrument.tick_size),
        )
        if reasons:
            return ctx.approve(request, size.notional, "; ".join(reasons), reduced=True)
        return ctx.approve(request, size.notional, f"risking {fmt.pct(ctx.risk_fraction)} of equity at the stop")

    # --- reducing -----------------------------------------------------------------------------
    def _reduce(self, ctx: _Ctx, instrument: Instrument, position: Decimal) -> RiskResult:
        intent = ctx.intent
        held = abs(position)
        wanted = held if intent.reduce_qty is None else min(abs(intent.reduce_qty), held)
        size = finalize(wanted, intent.entry_price, instrument)
        ctx.requested = wanted
        if not size.ok:
            return ctx.deny(f"cannot reduce: {size.refusal}")
        request = OrderRequest(
            client_order_id=intent.client_order_id or new_client_order_id(),
            symbol=intent.symbol,
            side=intent.side,
            qty=size.qty,
            order_type=intent.order_type,
            price=round_price(intent.entry_price, instrument.tick_size)
            if intent.order_type is OrderType.LIMIT
            else None,
            reduce_only=True,
            category=intent.category,
        )
        ctx.add(position=fmt.qty(position, instrument.qty_step))
        after, step = held - size.qty, instrument.qty_step
        return ctx.approve(
            request,
            size.notional,
            f"reduces the {intent.symbol} position from {fmt.qty(held, step)} to {fmt.qty(after, step)}",
        )


class _Ctx:
    """The numbers collected while deciding one intent; turns into the decision event."""

    def __init__(self, engine: RiskEngine, intent: TradeIntent, account: AccountState, state: TradingState) -> None:
        self.engine, self.intent, self.account, self.state = engine, intent, account, state
        self.risk_fraction = ZERO
        self.risk_amount = ZERO
        self.stop_distance: Decimal | None = None
        self.requested = ZERO
        self.scale = ONE
        self.leverage = ONE
        self.detail: dict[str, str] = {}

    def add(self, **numbers: object) -> None:
        self.detail.update({k.replace(" ", "_"): _s(v) for k, v in numbers.items()})

    def _fields(self, reason: str, qty: Decimal, notional: Decimal) -> dict[str, object]:
        i = self.intent
        return {
            "strategy_id": i.strategy_id,
            "symbol": i.symbol,
            "side": i.side,
            "state": self.state,
            "reason": reason,
            "equity": self.account.equity,
            "risk_fraction": self.risk_fraction,
            "risk_amount": self.risk_amount,
            "stop_distance": self.stop_distance,
            "requested_qty": self.requested,
            "qty": qty,
            "notional": notional,
            "leverage_cap": self.leverage,
            "scale": self.scale,
            "detail": tuple(sorted(self.detail.items())),
        }

    def deny(self, reason: str) -> RiskResult:
        e = self.engine
        event = RiskDenied(**self._fields(reason, ZERO, ZERO))  # type: ignore[arg-type]
        log.warning(
            "risk DENIED %s %s %s: %s", self.intent.strategy_id, self.intent.side.value, self.intent.symbol, reason
        )
        e.bus.publish(event)
        e.bus.publish(
            OrderDenied(
                venue=e.venue,
                action="place_order",
                reason=f"risk: {reason}",
                client_order_id=self.intent.client_order_id,
                symbol=self.intent.symbol,
            )
        )
        return RiskResult(event, None)

    def approve(self, request: OrderRequest, notional: Decimal, reason: str, *, reduced: bool = False) -> RiskResult:
        cls = OrderSizeReduced if reduced else OrderSized
        event = cls(client_order_id=request.client_order_id, **self._fields(reason, request.qty, notional))  # type: ignore[arg-type]
        log.info("risk %s %s %s %s: %s", cls.__name__, request.side.value, request.qty, request.symbol, reason)
        self.engine.limits.record_order()
        self.engine.bus.publish(event)
        return RiskResult(event, request)
