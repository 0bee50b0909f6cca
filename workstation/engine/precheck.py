"""Instrument rules checked with Decimal before an order is written or sent (scenarios 13, 14).

Quantities round DOWN to the step (never more risk than asked); limit prices round to the tick
in the order's favour (a buy down, a sell up: never a worse price than asked). Stop-loss and
take-profit prices, sent with an order or later by set_trading_stop, round to the tick toward the
entry (a long's stop up, a short's down; a take-profit likewise): never more risk than asked, and
a target that is reached a tick sooner rather than never. What cannot be
made valid (rounds to zero, below the minimum quantity or notional) is refused with a reason the
user can act on. When the venue refuses a price or quantity anyway, the instrument is re-read:
its rules may have changed since they were cached.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import ROUND_CEILING, ROUND_DOWN, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import Protocol

from workstation.core.enums import Category, OrderType, Side
from workstation.core.errors import WorkstationError
from workstation.core.types import Instrument, OrderRequest

# retCodes that can mean "your price/qty does not fit the instrument" (10001 covers tick/step).
RULE_CODES = frozenset({10001, 110017, 110094, 170134, 170136, 170137})


class OrderInvalid(WorkstationError):
    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class InstrumentSource(Protocol):
    async def get(self, symbol: str, category: Category) -> Instrument | None: ...

    def invalidate(self, symbol: str, category: Category) -> None: ...


def _to_step(value: Decimal, step: Decimal, rounding: str) -> Decimal:
    if step <= 0:
        return value
    return (value / step).to_integral_value(rounding=rounding) * step


def round_stops(
    side: Side, stop_loss: Decimal | None, take_profit: Decimal | None, tick: Decimal, *, what: str = ""
) -> tuple[Decimal | None, Decimal | None]:
    """Stop-loss and take-profit of a `side` (BUY: long) position on the tick, rounded toward the
    entry. None (leave) and 0 or less (remove the leg) pass through; a stop that would round to
    zero is refused rather than silently turned into "remove"."""
    long = side is Side.BUY
    sl, tp = stop_loss, take_profit
    if sl is not None and sl > 0:
        sl = _to_step(sl, tick, ROUND_CEILING if long else ROUND_FLOOR)
        if sl <= 0:
            raise OrderInvalid(f"{what}: stop-loss {stop_loss} rounds to zero with the tick {tick}")
    if tp is not None and tp > 0:
        tp = _to_step(tp, tick, ROUND_FLOOR if long else ROUND_CEILING)
        if tp <= 0:
            raise OrderInvalid(f"{what}: take-profit {take_profit} rounds to zero with the tick {tick}")
    # Keep the caller's Decimals when they were already on the grid.
    return (stop_loss if sl == stop_loss else sl), (take_profit if tp == take_profit else tp)


def check_order(request: OrderRequest, inst: Instrument, *, reference_price: Decimal | None = None) -> OrderRequest:
    """`request` rounded onto the instrument's grid, or OrderInvalid saying why it cannot be."""
    what = f"{request.side.value} {request.qty} {request.symbol}"
    if request.qty <= 0:
        raise OrderInvalid(f"{what}: quantity must be positive")
    qty = _to_step(request.qty, inst.qty_step, ROUND_DOWN)
    if qty == 0:
        raise OrderInvalid(f"{what}: quantity {request.qty} rounds to zero with the step {inst.qty_step}")
    if qty < inst.min_qty:
        raise OrderInvalid(f"{what}: quantity {qty} is below the minimum {inst.min_qty} for {inst.symbol}")
    price = request.price
    if request.order_type is OrderType.LIMIT:
        if price is None or price <= 0:
            raise OrderInvalid(f"{what}: a limit order needs a positive price")
        price = _to_step(price, inst.tick_size, ROUND_FLOOR if request.side is Side.BUY else ROUND_CEILING)
        if price <= 0:
            raise OrderInvalid(f"{what}: price {request.price} rounds to zero with the tick {inst.tick_size}")
    trigger = request.trigger_price
    if trigger is not None:
        trigger = _to_step(trigger, inst.tick_size, ROUND_HALF_UP)
    stop_loss, take_profit = round_stops(
        request.side, request.stop_loss, request.take_profit, inst.tick_size, what=what
    )
    reference = price if price is not None else reference_price
    if reference is not None and inst.min_notional > 0 and not request.reduce_only:
        notional = qty * reference * inst.contract_size
        if notional < inst.min_notional:
            raise OrderInvalid(
                f"{what}: order value {notional.normalize():f} is below the minimum {inst.min_notional} "
                f"for {inst.symbol} (raise the quantity)"
            )
    # Keep the caller's Decimals when they were already on the grid (same value, same exponent).
    return replace(
        request,
        qty=request.qty if qty == request.qty else qty,
        price=request.price if price == request.price else price,
        trigger_price=request.trigger_price if trigger == request.trigger_price else trigger,
        stop_loss=stop_loss,
        take_profit=take_profit,
    )


class OrderPrecheck:
    """What the OMS calls before writing an order: the cached rules, re-read after a refusal."""

    def __init__(self, instruments: InstrumentSource, *, require_instrument: bool = True) -> None:
        self.instruments = instruments
        self.require_instrument = require_instrument

    async def check(self, request: OrderRequest) -> OrderRequest:
        inst = await self.instruments.get(request.symbol, request.category)
        if inst is None:
            if self.require_instrument:
                raise OrderInvalid(f"{request.symbol}: unknown instrument on this venue (not listed or not trading)")
            return request
        return check_order(request, inst)

    async def check_stops(
        self, symbol: str, category: Category, side: Side, stop_loss: Decimal | None, take_profit: Decimal | None
    ) -> tuple[Decimal | None, Decimal | None]:
        """A `side` position's new stop-loss/take-profit (set_trading_stop) on the instrument's tick."""
        inst = await self.instruments.get(symbol, category)
        if inst is None:
            if self.require_instrument:
                raise OrderInvalid(f"{symbol}: unknown instrument on this venue (not listed or not trading)")
            return stop_loss, take_profit
        return round_stops(side, stop_loss, take_profit, inst.tick_size, what=f"{symbol} {side.value} position")

    def venue_refused(self, request: OrderRequest, code: int | None) -> None:
        """The venue refused the order's numbers: the cached rules may be stale, re-read them next time."""
        if code in RULE_CODES:
            self.instruments.invalidate(request.symbol, request.category)
