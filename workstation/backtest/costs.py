"""Costs: fees, slippage and market impact, funding, and the settings that drive the fill rules.

The scalar functions are numba-compiled and plain-callable: the batch kernel inlines them and a
per-event venue calls the very same objects (or their `.py_func` for pure Python).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np
from numba import njit

# Bybit linear perpetual defaults (non-VIP): maker 0.02 %, taker 0.055 %.
BYBIT_MAKER_FEE = 0.0002
BYBIT_TAKER_FEE = 0.00055
# Bybit BTCUSDT risk-limit tier 1 maintenance margin rate.
BYBIT_MAINTENANCE_MARGIN = 0.005


class Sizer(IntEnum):
    """Position sizing rules the kernel knows; the risk engine will add its own."""

    FIXED_FRACTION = 0  # notional = equity * fraction * |target| * leverage
    FIXED_NOTIONAL = 1  # notional = fraction (in quote currency) * |target|
    STOP_DISTANCE = 2  # qty = equity * fraction * |target| / |entry - strategy's stop|, notional <= equity * leverage


@dataclass(frozen=True, slots=True)
class CostModel:
    """Everything that turns a signal into a fill and a cash flow, apart from the signal itself."""

    taker_fee: float = BYBIT_TAKER_FEE
    maker_fee: float = BYBIT_MAKER_FEE
    slippage_bps: float = 0.0  # fixed, against us, on market and stop fills
    volatility_impact: float = 0.0  # extra slippage = k * previous bar's (high - low) / close
    volume_impact: float = 0.0  # extra slippage = k * sqrt(order qty / previous bar's volume)
    leverage: float = 1.0
    maintenance_margin: float = BYBIT_MAINTENANCE_MARGIN
    qty_step: float = 0.0  # round order quantities down to this step (0 = continuous)
    sizer: Sizer = Sizer.FIXED_FRACTION
    size: float = 1.0  # the sizer's parameter (fraction of equity, or notional)

    def __post_init__(self) -> None:
        if self.leverage < 1:
            raise ValueError("leverage must be at least 1")
        if not 0 <= self.maintenance_margin < 1 / self.leverage:
            raise ValueError("maintenance margin must be below the initial margin (1 / leverage)")
        if min(self.slippage_bps, self.volatility_impact, self.volume_impact, self.qty_step, self.size) < 0:
            raise ValueError("slippage, impact, qty_step and size must not be negative")

    def to_array(self) -> np.ndarray:
        """The packed form the kernel takes (see the CFG_* indices)."""
        out = np.zeros(CFG_LEN)
        out[CFG_TAKER] = self.taker_fee
        out[CFG_MAKER] = self.maker_fee
        out[CFG_SLIP] = self.slippage_bps * 1e-4
        out[CFG_VOL_K] = self.volatility_impact
        out[CFG_VOLUME_K] = self.volume_impact
        out[CFG_LEVERAGE] = self.leverage
        out[CFG_MMR] = self.maintenance_margin
        out[CFG_STEP] = self.qty_step
        out[CFG_SIZER] = int(self.sizer)
        out[CFG_SIZE] = self.size
        return out


(
    CFG_TAKER,
    CFG_MAKER,
    CFG_SLIP,
    CFG_VOL_K,
    CFG_VOLUME_K,
    CFG_LEVERAGE,
    CFG_MMR,
    CFG_STEP,
    CFG_SIZER,
    CFG_SIZE,
    CFG_CASH,
    CFG_CLOSE_AT_END,
    CFG_LEN,
) = range(13)


@njit(cache=True)
def fee(notional: float, rate: float) -> float:
    """Exchange fee on a fill's notional value (negative rate = rebate)."""
    return abs(notional) * rate


@njit(cache=True)
def slippage_fraction(
    fixed: float,
    vol_k: float,
    volume_k: float,
    prev_high: float,
    prev_low: float,
    prev_close: float,
    qty: float,
    prev_volume: float,
) -> float:
    """Adverse price move as a fraction of price, from bar i-1 only (known when the order is sent)."""
    frac = fixed
    if vol_k > 0.0 and prev_close > 0.0:
        frac += vol_k * (prev_high - prev_low) / prev_close
    if volume_k > 0.0:
        if prev_volume > 0.0:
            frac += volume_k * np.sqrt(abs(qty) / prev_volume)
        else:
            frac += volume_k
    return frac


@njit(cache=True)
def slipped(price: float, side: float, frac: float) -> float:
    """Buys pay more, sells receive less."""
    return price * (1.0 + side * frac)


@njit(cache=True)
def funding_payment(qty: float, price: float, rate: float) -> float:
    """What the holder pays at a settlement (negative = receives): longs pay positive rates."""
    return qty * price * rate


def funding_per_bar(bar_ts: np.ndarray, funding_ts: np.ndarray, rates: np.ndarray) -> np.ndarray:
    """The funding rate settled at each bar's open.

    Settlement times carry a few ms of jitter (7:59:59.996, 8:00:00.004), so they are rounded to
    the second. A settlement at time T is charged at the first bar opening at or after T, on the
    position carried into that bar; settlements before the first bar or after the last are dropped.
    """
    out = np.zeros(len(bar_ts))
    if len(funding_ts) == 0 or len(bar_ts) == 0:
        return out
    t = (np.asarray(funding_ts, dtype=np.int64) + 500) // 1000 * 1000
    idx = np.searchsorted(bar_ts, t, side="left")
    keep = (t >= bar_ts[0]) & (idx < len(bar_ts))
    np.add.at(out, idx[keep], np.asarray(rates, dtype=np.float64)[keep])
    return out
