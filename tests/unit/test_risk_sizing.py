"""Sizing: fixed-fractional from the stop distance, rounding to the step, minimums, leverage."""

from __future__ import annotations

import math
from decimal import Decimal as D

import numpy as np
import pytest

from workstation.core.enums import Category
from workstation.core.types import Instrument
from workstation.risk.sizing import (
    atr,
    fixed_fractional,
    realized_volatility,
    round_price,
    round_to_step,
    vol_scaled_leverage,
)

BTC = Instrument("bybit", "BTCUSDT", Category.LINEAR, "BTC", "USDT", D("0.1"), D("0.001"), D("0.001"), D("5"))
ETH = Instrument("bybit", "ETHUSDT", Category.LINEAR, "ETH", "USDT", D("0.01"), D("0.01"), D("0.01"), D("100"))


def test_size_when_stop_1200_below_entry_then_risk_budget_over_distance_rounded_down_to_step() -> None:
    # 10,000 * 0.5 % = 50 USDT at risk; 50 / 1,200 = 0.041666.. BTC -> 0.041 (step 0.001, never up)
    size = fixed_fractional(equity=D(10_000), risk_fraction=D("0.005"), entry=D(60_000), stop=D(58_800), instrument=BTC)
    assert size.ok
    assert size.risk_amount == D(50)
    assert size.stop_distance == D(1200)
    assert size.qty == D("0.041")
    assert size.notional == D("2460")  # 0.041 * 60,000
    assert size.capped_by == ()


def test_size_when_short_with_stop_above_then_same_distance_rule() -> None:
    size = fixed_fractional(equity=D(10_000), risk_fraction=D("0.005"), entry=D(60_000), stop=D(61_000), instrument=BTC)
    assert size.qty == D("0.05")  # 50 / 1,000


def test_size_when_notional_below_instrument_minimum_then_refused_with_reason() -> None:
    # 800 * 0.5 % = 4 USDT; 4 / 100 = 0.04 ETH; 0.04 * 2,000 = 80 USDT < 100 minimum
    size = fixed_fractional(equity=D(800), risk_fraction=D("0.005"), entry=D(2000), stop=D(1900), instrument=ETH)
    assert not size.ok
    assert size.qty == 0
    assert "notional 80.00 USDT is below the minimum order value 100.00 of ETHUSDT" in (size.refusal or "")


def test_size_when_rounds_to_zero_then_refused_below_minimum_quantity() -> None:
    # 100 * 0.5 % = 0.5 USDT; 0.5 / 1,000 = 0.0005 BTC -> 0.000
    size = fixed_fractional(equity=D(100), risk_fraction=D("0.005"), entry=D(60_000), stop=D(59_000), instrument=BTC)
    assert not size.ok
    assert "below the minimum quantity 0.001 of BTCUSDT" in (size.refusal or "")


def test_size_when_stop_equals_entry_then_refused() -> None:
    size = fixed_fractional(equity=D(10_000), risk_fraction=D("0.005"), entry=D(60_000), stop=D(60_000), instrument=BTC)
    assert not size.ok and "no stop distance" in (size.refusal or "")


def test_size_when_notional_cap_binds_then_qty_fits_cap_and_cap_is_named() -> None:
    # 10,000 * 1 % = 100 USDT over a 60 USDT stop = 1.666 BTC = 100,000 USDT (10x); a 20,000 cap -> 0.333
    size = fixed_fractional(
        equity=D(10_000),
        risk_fraction=D("0.01"),
        entry=D(60_000),
        stop=D(59_940),
        instrument=BTC,
        max_notional={"leverage": D(20_000), "total exposure": D(30_000)},
    )
    assert size.qty == D("0.333")
    assert size.capped_by == ("leverage",)


def test_round_when_price_between_ticks_then_nearest_tick_and_qty_always_down() -> None:
    assert round_price(D("60000.06"), D("0.1")) == D("60000.1")
    assert round_price(D("60000.04"), D("0.1")) == D("60000.0")
    assert round_to_step(D("0.0419999"), D("0.001")) == D("0.041")


@pytest.mark.parametrize(
    ("volatility", "expected"),
    [
        (0.25, D("2.00")),  # 0.5 / 0.25
        (0.1, D("3")),  # 0.5 / 0.1 = 5, capped at max_leverage 3
        (0.8, D("0.62")),  # 0.625 rounded down
        (None, D("1")),  # unknown volatility fails safe
        (math.nan, D("1")),
    ],
)
def test_leverage_when_volatility_given_then_target_over_vol_bounded_by_max(volatility, expected) -> None:
    assert vol_scaled_leverage(volatility, 0.5, 3.0) == expected


def test_realized_volatility_when_two_returns_then_sample_std_annualised() -> None:
    # two log returns a, b: sample std = |a - b| / sqrt(2)
    a, b = math.log(110 / 100), math.log(99 / 110)
    expected = abs(a - b) / math.sqrt(2) * math.sqrt(365)
    assert realized_volatility(np.array([100.0, 110.0, 99.0]), 365) == pytest.approx(expected, rel=1e-12)


def test_atr_when_gap_then_true_range_uses_previous_close() -> None:
    high = np.array([10.0, 12.0, 11.0])
    low = np.array([9.0, 11.0, 8.0])
    close = np.array([9.5, 11.5, 9.0])
    # bar 1: max(12-11, |12-9.5|, |11-9.5|) = 2.5; bar 2: max(11-8, |11-11.5|, |8-11.5|) = 3.5
    assert atr(high, low, close, 2) == pytest.approx(3.0)
