"""Fill rules: the one place that decides at what price and when an order or an exit fills.

Conventions: `side` is +1 for a buy / long and -1 for a sell / short. Prices are float64.
Every function is numba-compiled and plain-callable, so the batch kernel and an event-by-event
venue apply identical rules (`.py_func` gives the pure-Python original).

Intrabar order of events, the conservative rule: within one bar we do not know whether the
high or the low came first, so when both an adverse level (stop-loss, liquidation) and the
take-profit lie inside the bar's range, the adverse one is assumed to have hit first. A
position entered inside a bar (limit or stop entry) may be stopped out in that bar, but not
take profit, because the favourable extreme may have come before the entry.
"""

from __future__ import annotations

import numpy as np
from numba import njit

EXIT_NONE = 0
EXIT_SIGNAL = 1
EXIT_STOP_LOSS = 2
EXIT_TAKE_PROFIT = 3
EXIT_LIQUIDATION = 4
EXIT_END = 5  # still open at the end: marked to the last close, no exit fee
EXIT_WINDOW = 6  # closed at the last close because the run ends (a walk-forward test window): fee paid
EXIT_NAMES = ("none", "signal", "stop_loss", "take_profit", "liquidation", "end", "window_end")


@njit(cache=True)
def limit_fill_price(side: float, limit: float, open_: float, high: float, low: float) -> float:
    """A limit order resting from the bar's open: fills at the open if it gapped through, else at
    the limit if touched; NaN if not filled."""
    if side > 0:
        if open_ <= limit:
            return open_
        if low <= limit:
            return limit
    else:
        if open_ >= limit:
            return open_
        if high >= limit:
            return limit
    return np.nan


@njit(cache=True)
def stop_fill_price(side: float, stop: float, open_: float, high: float, low: float) -> float:
    """A stop (market-if-touched against us): fills at the open if it gapped through, else at the
    stop if touched; NaN if not triggered. Slippage is applied by the caller."""
    if side > 0:
        if open_ >= stop:
            return open_
        if high >= stop:
            return stop
    else:
        if open_ <= stop:
            return open_
        if low <= stop:
            return stop
    return np.nan


@njit(cache=True)
def liquidation_price(side: float, entry: float, leverage: float, mmr: float) -> float:
    """Isolated margin: liquidated when the loss eats the initial margin down to maintenance."""
    return entry * (1.0 - side * (1.0 / leverage - mmr))


@njit(cache=True)
def bankruptcy_price(side: float, entry: float, leverage: float) -> float:
    """Where the whole isolated margin is lost; a liquidation settles here (the remaining
    maintenance margin goes to the exchange, as on Bybit)."""
    return entry * (1.0 - side / leverage)


@njit(cache=True)
def exit_scan(
    side: float, stop_loss: float, take_profit: float, liq: float, open_: float, high: float, low: float, allow_tp: bool
) -> tuple[float, int]:
    """Which protective exit fills in this bar, and at what trigger price: (price, EXIT_*).

    `open_` is where the position's path in this bar starts (the bar's open, or the entry price
    for a position entered inside the bar). Gaps through a level fill at the open. Adverse
    levels win ties (see the module docstring). NaN levels are ignored.
    """
    if side > 0:
        adverse = liq
        reason = EXIT_LIQUIDATION
        if stop_loss == stop_loss and stop_loss > liq:
            adverse = stop_loss
            reason = EXIT_STOP_LOSS
        if open_ <= adverse:
            if reason == EXIT_LIQUIDATION or open_ <= liq:
                return liq, EXIT_LIQUIDATION
            return open_, EXIT_STOP_LOSS
        if low <= adverse:
            return adverse, reason
        if allow_tp and take_profit == take_profit:
            if open_ >= take_profit:
                return open_, EXIT_TAKE_PROFIT
            if high >= take_profit:
                return take_profit, EXIT_TAKE_PROFIT
    else:
        adverse = liq
        reason = EXIT_LIQUIDATION
        if stop_loss == stop_loss and stop_loss < liq:
            adverse = stop_loss
            reason = EXIT_STOP_LOSS
        if open_ >= adverse:
            if reason == EXIT_LIQUIDATION or open_ >= liq:
                return liq, EXIT_LIQUIDATION
            return open_, EXIT_STOP_LOSS
        if high >= adverse:
            return adverse, reason
        if allow_tp and take_profit == take_profit:
            if open_ <= take_profit:
                return open_, EXIT_TAKE_PROFIT
            if low <= take_profit:
                return take_profit, EXIT_TAKE_PROFIT
    return np.nan, EXIT_NONE


@njit(cache=True)
def order_qty(
    sizer: int, size: float, equity: float, price: float, target: float, fee_rate: float, leverage: float, step: float
) -> float:
    """Unsigned quantity for a target: the sizing hook (see costs.Sizer), leaving room for the fee,
    rounded down to the quantity step."""
    if sizer == 1:
        notional = size * abs(target)
    else:
        notional = max(equity, 0.0) * size * abs(target) * leverage
    qty = notional / (price * (1.0 + max(fee_rate, 0.0)))
    if step > 0.0:
        qty = np.floor(qty / step + 1e-9) * step
    return qty


SIZER_STOP_DISTANCE = 2  # costs.Sizer.STOP_DISTANCE


@njit(cache=True)
def sized_qty(
    sizer: int,
    size: float,
    equity: float,
    price: float,
    target: float,
    fee_rate: float,
    leverage: float,
    step: float,
    stop: float,
) -> float:
    """order_qty, plus the stop-distance sizer: the quantity whose loss at `stop` is
    `equity * size * |target|`, held under `equity * leverage` of notional (fee room left), rounded
    down to the step. Without a usable stop (NaN, or at the price) it opens nothing, like the risk
    engine, which refuses to size an entry without a stop distance."""
    if sizer != SIZER_STOP_DISTANCE:
        return order_qty(sizer, size, equity, price, target, fee_rate, leverage, step)
    distance = abs(price - stop)
    if not distance > 0.0 or equity <= 0.0 or price <= 0.0:
        return 0.0
    qty = equity * size * abs(target) / distance
    cap = equity * leverage / (price * (1.0 + max(fee_rate, 0.0)))
    qty = min(qty, cap)
    if step > 0.0:
        qty = np.floor(qty / step + 1e-9) * step
    return qty
