"""Position sizing in Decimal: fixed-fractional from the stop distance, caps on notional,
volatility-scaled leverage, and the instrument's tick / step / minimum quantity / minimum notional.

Quantities are always rounded DOWN to the step: rounding up would risk more than the budget.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

import numpy as np

from workstation.core.types import Instrument
from workstation.risk import fmt

ZERO = Decimal(0)
ONE = Decimal(1)


def round_to_step(value: Decimal, step: Decimal, rounding: str = ROUND_DOWN) -> Decimal:
    """`value` as a whole number of `step`s (down by default). A step of 0 leaves it alone."""
    if step <= 0:
        return value
    return (value / step).to_integral_value(rounding=rounding) * step


def round_price(price: Decimal, tick: Decimal) -> Decimal:
    """The nearest valid price (half up) on the instrument's tick grid."""
    return round_to_step(price, tick, ROUND_HALF_UP)


@dataclass(frozen=True, slots=True)
class SizeResult:
    qty: Decimal  # rounded to the step; 0 when refused
    raw_qty: Decimal  # from the risk budget alone, before caps and rounding
    risk_amount: Decimal  # what a stop-out would lose at `raw_qty`
    stop_distance: Decimal
    notional: Decimal  # of `qty` at the entry price
    capped_by: tuple[str, ...]  # names of the notional caps that bound the size
    refusal: str | None = None

    @property
    def ok(self) -> bool:
        return self.refusal is None


def fixed_fractional(
    *,
    equity: Decimal,
    risk_fraction: Decimal,
    entry: Decimal,
    stop: Decimal,
    instrument: Instrument,
    max_notional: Mapping[str, Decimal] | None = None,
) -> SizeResult:
    """Quantity whose loss at the stop is `equity * risk_fraction`, then held under every notional
    cap in `max_notional` (name -> limit), rounded down to the step and checked against minimums."""
    distance = abs(entry - stop)
    risk_amount = equity * risk_fraction
    if equity <= 0:
        return SizeResult(ZERO, ZERO, ZERO, distance, ZERO, (), f"equity is {fmt.money(equity)}: nothing to size from")
    if entry <= 0 or distance == 0:
        reason = (
            "entry price must be positive"
            if entry <= 0
            else f"stop {fmt.price(stop, instrument.tick_size)} equals the entry: no stop distance"
        )
        return SizeResult(ZERO, ZERO, risk_amount, distance, ZERO, (), reason)
    unit = instrument.contract_size
    raw = risk_amount / (distance * unit)
    qty, capped = raw, []
    for name, limit in (max_notional or {}).items():
        allowed = max(limit, ZERO) / (entry * unit)
        if allowed < qty:
            qty = allowed
            capped = [name]
        elif allowed == qty and capped:
            capped.append(name)
    return finalize(qty, entry, instrument, raw_qty=raw, risk_amount=risk_amount, stop_distance=distance, capped=capped)


def finalize(
    qty: Decimal,
    price: Decimal,
    instrument: Instrument,
    *,
    raw_qty: Decimal | None = None,
    risk_amount: Decimal = ZERO,
    stop_distance: Decimal = ZERO,
    capped: list[str] | tuple[str, ...] = (),
) -> SizeResult:
    """Round `qty` down to the step and refuse it below the minimum quantity or notional."""
    raw = qty if raw_qty is None else raw_qty
    rounded = round_to_step(qty, instrument.qty_step)
    notional = rounded * price * instrument.contract_size
    refusal = None
    if rounded < instrument.min_qty or rounded <= 0:
        refusal = (
            f"size {fmt.num(qty)} rounds down to {fmt.qty(rounded, instrument.qty_step)} {instrument.base}, below the "
            f"minimum quantity {fmt.qty(instrument.min_qty, instrument.qty_step)} of {instrument.symbol}"
        )
    elif notional < instrument.min_notional:
        refusal = (
            f"notional {fmt.money(notional)} {instrument.quote} is below the minimum order value "
            f"{fmt.money(instrument.min_notional)} of {instrument.symbol}"
        )
    if refusal is not None:
        return SizeResult(ZERO, raw, risk_amount, stop_distance, ZERO, tuple(capped), refusal)
    return SizeResult(rounded, raw, risk_amount, stop_distance, notional, tuple(capped))


# --- volatility and leverage --------------------------------------------------------------------
def realized_volatility(closes: np.ndarray, periods_per_year: float) -> float:
    """Annualised standard deviation of log returns (sample, ddof=1). NaN with fewer than 3 closes."""
    closes = np.asarray(closes, dtype=np.float64)
    if len(closes) < 3 or np.any(closes <= 0):
        return math.nan
    returns = np.diff(np.log(closes))
    return float(np.std(returns, ddof=1) * math.sqrt(periods_per_year))


def atr(high: np.ndarray, low: np.ndarray, close: np.ndarray, period: int) -> float:
    """Average true range over the last `period` bars (simple mean of true ranges)."""
    high, low, close = (np.asarray(a, dtype=np.float64) for a in (high, low, close))
    if len(close) < period + 1 or period < 1:
        return math.nan
    prev = close[:-1]
    tr = np.maximum(high[1:] - low[1:], np.maximum(np.abs(high[1:] - prev), np.abs(low[1:] - prev)))
    return float(tr[-period:].mean())


def atr_volatility(high: np.ndarray, low: np.ndarray, close: np.ndarray, period: int, periods_per_year: float) -> float:
    """ATR as a fraction of the last close, annualised: a volatility proxy when returns are noisy."""
    value = atr(high, low, close, period)
    last = float(np.asarray(close)[-1]) if len(close) else math.nan
    if not math.isfinite(value) or not last > 0:
        return math.nan
    return value / last * math.sqrt(periods_per_year)


def vol_scaled_leverage(volatility: float | None, target: float, max_leverage: float) -> Decimal:
    """Leverage that brings the position's volatility to `target`, never above `max_leverage`.
    Unknown volatility fails safe to 1x (or less, if the cap is below 1)."""
    cap = Decimal(str(max_leverage))
    if volatility is None or not math.isfinite(volatility) or volatility <= 0:
        return min(ONE, cap)
    wanted = Decimal(str(target)) / Decimal(str(volatility))
    return min(cap, wanted).quantize(Decimal("0.01"), rounding=ROUND_DOWN)
