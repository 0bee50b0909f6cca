"""Fill and cost rules on hand-computed cases: timing, fees, slippage, SL/TP order, liquidation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from workstation.backtest import fills as F
from workstation.backtest import simulator as S
from workstation.backtest.costs import CostModel, fee, funding_per_bar, slippage_fraction
from workstation.backtest.simulator import simulate
from workstation.data.arrays import CandleArrays
from workstation.strategies.base import OrderKind, Signals

NAN = math.nan


def _candles(rows: list[tuple[float, float, float, float]], volume: float = 10.0) -> CandleArrays:
    ts = np.arange(len(rows)) * 3_600_000 + 1_700_000_000_000 // 3_600_000 * 3_600_000
    o, h, lo, c = (np.array(col, dtype=float) for col in zip(*rows, strict=True))
    return CandleArrays.from_columns(ts, o, h, lo, c, np.full(len(rows), volume))


FLAT_BARS = [(100, 101, 99, 100), (100, 101, 99, 100), (102, 103, 101, 102), (104, 105, 103, 104), (106, 107, 105, 106)]


def test_simulate_when_signal_on_bar_close_then_fill_at_next_bar_open_with_fees() -> None:
    candles = _candles(FLAT_BARS)
    sig = Signals.from_target(np.array([0.0, 1.0, 1.0, 0.0, 0.0]))
    cost = CostModel(taker_fee=0.001, maintenance_margin=0.0)
    r = simulate(candles, sig, cost, cash=1000.0)
    (t,) = r.trades
    assert (t[S.T_ENTRY_I], t[S.T_EXIT_I]) == (2, 4)  # signal at bar 1 -> bar 2 open; exit signal bar 3 -> bar 4
    qty = 1000.0 / (102 * 1.001)
    entry_fee, exit_fee = qty * 102 * 0.001, qty * 106 * 0.001
    assert t[S.T_QTY] == pytest.approx(qty)
    assert (t[S.T_ENTRY_PX], t[S.T_EXIT_PX]) == pytest.approx((102, 106))
    assert t[S.T_FEES] == pytest.approx(entry_fee + exit_fee)
    assert t[S.T_PNL] == pytest.approx(qty * 4 - entry_fee - exit_fee)
    assert r.equity[-1] == pytest.approx(1000 + qty * 4 - entry_fee - exit_fee)
    assert r.equity[2] == pytest.approx(1000 - entry_fee)  # bar 2 closes at the entry price
    np.testing.assert_array_equal(r.position != 0, [False, False, True, True, False])


def test_simulate_when_fixed_slippage_then_buys_pay_more_and_sells_receive_less() -> None:
    candles = _candles(FLAT_BARS)
    sig = Signals.from_target(np.array([1.0, 1.0, 0.0, 0.0, 0.0]))
    r = simulate(candles, sig, CostModel(taker_fee=0.0, slippage_bps=10, maintenance_margin=0.0), cash=1000.0)
    (t,) = r.trades
    assert t[S.T_ENTRY_PX] == pytest.approx(100 * 1.001)
    assert t[S.T_EXIT_PX] == pytest.approx(104 * 0.999)
    assert t[S.T_PNL] == pytest.approx(1000 / 100.1 * (103.896 - 100.1))


def test_slippage_when_volatility_and_volume_impact_then_added_to_fixed_part() -> None:
    # 5 bps fixed + 0.1 x range 2/100 + 0.01 x sqrt(4 / 100)
    assert slippage_fraction(5e-4, 0.1, 0.01, 101.0, 99.0, 100.0, 4.0, 100.0) == pytest.approx(5e-4 + 0.002 + 0.002)
    assert fee(-2500.0, 0.00055) == pytest.approx(1.375)


def test_exit_scan_when_stop_and_target_both_inside_bar_then_stop_loss_assumed_first() -> None:
    assert F.exit_scan(1.0, 95.0, 105.0, 0.0, 100.0, 106.0, 94.0, True) == (95.0, F.EXIT_STOP_LOSS)
    assert F.exit_scan(-1.0, 105.0, 95.0, 1e9, 100.0, 106.0, 94.0, True) == (105.0, F.EXIT_STOP_LOSS)
    assert F.exit_scan(1.0, 95.0, 105.0, 0.0, 100.0, 106.0, 96.0, True) == (105.0, F.EXIT_TAKE_PROFIT)
    # gaps fill at the open, not at the level
    assert F.exit_scan(1.0, 95.0, 105.0, 0.0, 93.0, 94.0, 90.0, True) == (93.0, F.EXIT_STOP_LOSS)
    assert F.exit_scan(1.0, 95.0, 105.0, 0.0, 107.0, 108.0, 106.0, True) == (107.0, F.EXIT_TAKE_PROFIT)
    # entered inside the bar: no take-profit in that bar
    assert F.exit_scan(1.0, 95.0, 105.0, 0.0, 100.0, 106.0, 96.0, False)[1] == F.EXIT_NONE


def test_simulate_when_both_levels_hit_in_one_bar_then_trade_exits_at_the_stop() -> None:
    bars = [(100, 101, 99, 100), (100, 101, 99, 100), (100, 112, 88, 100), (100, 101, 99, 100)]
    sig = Signals.from_target(np.array([1.0, 1, 1, 1]), stop_loss=np.full(4, 90.0), take_profit=np.full(4, 110.0))
    r = simulate(_candles(bars), sig, CostModel(taker_fee=0.0, maker_fee=0.0, maintenance_margin=0.0), cash=1000.0)
    (t,) = r.trades
    assert (t[S.T_EXIT_PX], t[S.T_REASON], t[S.T_EXIT_I]) == (90.0, F.EXIT_STOP_LOSS, 2)
    assert t[S.T_PNL] == pytest.approx(-100.0)
    assert r.position[-1] == 0.0  # no re-entry while the target stays the same


def test_limit_and_stop_fill_when_touched_or_gapped_then_touch_rules_apply() -> None:
    assert F.limit_fill_price(1.0, 99.0, 100.0, 101.0, 98.0) == 99.0
    assert F.limit_fill_price(1.0, 99.0, 98.5, 101.0, 98.0) == 98.5  # gapped below: better price
    assert math.isnan(F.limit_fill_price(1.0, 97.0, 100.0, 101.0, 98.0))
    assert F.stop_fill_price(1.0, 101.0, 100.0, 102.0, 99.0) == 101.0
    assert F.stop_fill_price(-1.0, 99.0, 98.0, 100.0, 97.0) == 98.0  # gapped through: worse price
    assert math.isnan(F.stop_fill_price(1.0, 103.0, 100.0, 102.0, 99.0))


def test_simulate_when_limit_entry_not_touched_then_it_waits_and_pays_maker_fee_when_filled() -> None:
    bars = [(100, 101, 99, 100), (100, 101, 99.5, 100), (100, 101, 98.5, 99), (99, 100, 98, 99)]
    sig = Signals.from_target(np.ones(4), order_kind=OrderKind.LIMIT, entry_price=np.full(4, 99.0))
    r = simulate(_candles(bars), sig, CostModel(maker_fee=0.0002, taker_fee=0.001), cash=990.0)
    (t,) = r.trades
    assert (t[S.T_ENTRY_I], t[S.T_ENTRY_PX]) == (2, 99.0)
    assert t[S.T_FEES] == pytest.approx(990 / (99 * 1.0002) * 99 * 0.0002)


def test_simulate_when_low_reaches_maintenance_margin_then_isolated_margin_is_lost() -> None:
    # 10x long from 100: liquidation at 100 * (1 - 0.1 + 0.005) = 90.5
    bars = [(100, 100, 100, 100), (100, 101, 99, 100), (95, 96, 90.6, 92), (92, 93, 90.4, 91), (91, 95, 90, 94)]
    sig = Signals.from_target(np.ones(5))
    cost = CostModel(taker_fee=0.0, leverage=10, maintenance_margin=0.005)
    r = simulate(_candles(bars), sig, cost, cash=1000.0)
    (t,) = r.trades
    assert F.liquidation_price(1.0, 100.0, 10.0, 0.005) == pytest.approx(90.5)
    assert (t[S.T_EXIT_I], t[S.T_REASON]) == (3, F.EXIT_LIQUIDATION)  # 90.6 survives, 90.4 does not
    assert t[S.T_QTY] == pytest.approx(100.0)  # 1000 x 10 / 100
    assert t[S.T_PNL] == pytest.approx(-1000.0)  # the whole isolated margin
    assert r.equity[-1] == pytest.approx(0.0)


def test_funding_per_bar_when_settlements_jitter_by_4ms_then_rounded_onto_the_hour() -> None:
    hour = 3_600_000
    bars = np.arange(24) * hour
    settle = np.array([8 * hour - 4, 16 * hour + 4, 30 * hour, -hour])
    out = funding_per_bar(bars, settle, np.array([1e-4, -2e-4, 5e-4, 9.0]))
    assert out[8] == 1e-4 and out[16] == -2e-4
    assert np.count_nonzero(out) == 2  # before the first bar and after the last are dropped
