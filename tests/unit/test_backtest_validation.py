"""Monte Carlo on hand-made trade sequences, window layout, the indicator cache and the one-pass metrics."""

from __future__ import annotations

import dataclasses
import itertools
import math

import numpy as np
import pytest

from workstation.backtest import simulator as S
from workstation.backtest.metrics import compute_metrics
from workstation.backtest.montecarlo import MonteCarloBand, monte_carlo, trade_returns
from workstation.backtest.simulator import SimResult
from workstation.backtest.walkforward import make_windows
from workstation.strategies import indicators as ind

DAY = 86_400_000


def _from_trade_returns(r: list[float], cash: float = 1000.0) -> SimResult:
    """One trade per bar: trade k enters at bar k + 1 with the equity of bar k and books r[k]."""
    eq = cash * np.cumprod(np.concatenate([[1.0], 1.0 + np.asarray(r)]))
    trades = np.zeros((len(r), S.T_COLS))
    trades[:, S.T_ENTRY_I] = np.arange(1, len(r) + 1)
    trades[:, S.T_EXIT_I] = np.arange(1, len(r) + 1)
    trades[:, S.T_PNL] = eq[:-1] * np.asarray(r)
    trades[:, S.T_QTY], trades[:, S.T_ENTRY_PX], trades[:, S.T_SIDE] = 1.0, 1.0, 1.0
    trades[:, S.T_REASON] = 1
    ts = np.arange(len(eq), dtype=np.int64) * DAY
    return SimResult(ts, eq, np.ones(len(eq)), trades, 0.0, 0.0, cash)


def test_trade_returns_when_compounded_then_replay_the_equity_path() -> None:
    r = [0.1, -0.05, 0.2, -0.3]
    res = _from_trade_returns(r)
    np.testing.assert_allclose(trade_returns(res), r, rtol=1e-12)
    assert res.equity[-1] == pytest.approx(1000 * 1.1 * 0.95 * 1.2 * 0.7)


def test_monte_carlo_when_same_seed_then_identical_band_and_different_seed_differs() -> None:
    res = _from_trade_returns(list(np.random.default_rng(1).normal(0.002, 0.02, 300)))
    a = monte_carlo(res, method="bootstrap", iterations=2000, seed=7)
    b = monte_carlo(res, method="bootstrap", iterations=2000, seed=7)
    c = monte_carlo(res, method="bootstrap", iterations=2000, seed=8)
    assert a.band == b.band and isinstance(a.band, MonteCarloBand)
    np.testing.assert_array_equal(a.samples, b.samples)
    assert a.band.final_return.quantiles != c.band.final_return.quantiles
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.band.iterations = 1  # type: ignore[misc]


def test_monte_carlo_when_shuffled_then_final_return_fixed_and_worst_ordering_ranks_at_the_bottom() -> None:
    # all winners first, then all losers: the deepest drawdown any ordering can have
    r = [0.03] * 40 + [-0.02] * 40
    res = _from_trade_returns(r)
    mc = monte_carlo(res, method="shuffle", iterations=3000, seed=1)
    final = math.prod(1 + x for x in r) - 1
    assert mc.band.final_return.original == pytest.approx(final)
    assert mc.band.final_return.at(1) == pytest.approx(final) and mc.band.final_return.at(99) == pytest.approx(final)
    assert mc.band.final_return.rank(final) == pytest.approx(50, abs=1)
    worst = 0.98**40 - 1
    assert mc.band.max_drawdown.original == pytest.approx(worst)
    assert mc.band.max_drawdown.at(0) >= worst - 1e-12  # no shuffle is worse than the original
    assert mc.band.max_drawdown.rank(worst) <= 1
    assert mc.band.max_drawdown.at(50) > worst + 0.1


def test_monte_carlo_when_bootstrapped_iid_trades_then_original_sits_inside_the_5_95_band() -> None:
    res = _from_trade_returns(list(np.random.default_rng(3).normal(0.001, 0.01, 500)))
    mc = monte_carlo(res, method="bootstrap", iterations=4000, seed=2)
    for band in (mc.band.final_return, mc.band.sharpe, mc.band.max_drawdown):
        assert 5 < band.rank(band.original) < 95
    assert mc.fan.shape[0] == 101 and mc.original_path[0] == 1.0
    assert mc.original_path[-1] == pytest.approx(1 + mc.band.final_return.original)


def test_monte_carlo_when_losing_trades_then_ruin_probability_counts_paths_below_the_level() -> None:
    res = _from_trade_returns([-0.1, 0.05] * 20)  # loses ~ 5.5% per pair: ends well below 50%
    mc = monte_carlo(res, method="bootstrap", iterations=2000, seed=0, ruin_level=0.5)
    direct = float(np.mean(np.cumprod(1 + mc.samples[:, :1], axis=1)[:, 0] <= 0.5))  # final below: ruined
    assert mc.band.ruin_probability >= direct > 0.5


def test_windows_when_rolling_or_anchored_then_same_tests_and_train_never_reaches_the_test() -> None:
    ts = np.arange(0, 400 * DAY, DAY // 24, dtype=np.int64)  # hourly bars for 400 days
    rolling = make_windows(ts, 90 * DAY, 30 * DAY)
    anchored = make_windows(ts, 90 * DAY, 30 * DAY, anchored=True)
    assert [(w.test_start, w.test_end) for w in rolling] == [(w.test_start, w.test_end) for w in anchored]
    assert len(rolling) == 11  # (400 - 90) / 30, the last one shorter
    for w in rolling:
        assert w.train_end == w.test_start and ts[w.train_end - 1] < ts[w.test_start]
        assert ts[w.train_end] - ts[w.train_start] == 90 * DAY
    for a, b in itertools.pairwise(rolling):
        assert a.test_end == b.test_start  # test windows tile the history
    assert {w.train_start for w in anchored} == {0}
    assert [w.train_end - w.train_start for w in anchored] == sorted(w.train_end for w in anchored)


def test_indicator_cache_when_active_then_one_shared_read_only_result_per_window() -> None:
    x = np.random.default_rng(0).normal(100, 1, 5000)
    plain = ind.sma(x, 20)
    with ind.cached():
        a = ind.sma(x, 20)
        b = ind.sma(x, 20)
        c = ind.sma(x, 21)
        d = ind.sma(x.copy(), 20)
    assert a is b and c is not a and d is not a and not a.flags.writeable
    np.testing.assert_array_equal(a, plain)
    assert ind.sma(x, 20) is not a  # outside the block nothing is cached


def test_cross_state_when_compared_with_events_then_same_as_hold_of_crossings() -> None:
    rng = np.random.default_rng(5)
    c = 100 + np.cumsum(rng.normal(0, 1, 20_000))
    fast, slow = ind.sma(c, 5), ind.sma(c, 30)
    events = np.full(len(c), np.nan)
    events[ind.crossed_above(fast, slow)] = 1.0
    events[ind.crossed_above(slow, fast)] = -1.0
    np.testing.assert_array_equal(ind.cross_state(fast, slow, -1.0), ind.hold(events))


def test_metrics_when_one_pass_kernel_then_equal_to_numpy_formulas() -> None:
    rng = np.random.default_rng(9)
    eq = 1000 * np.cumprod(1 + rng.normal(0.0002, 0.01, 3000))
    ts = np.arange(len(eq), dtype=np.int64) * 3_600_000
    pos = (rng.random(len(eq)) < 0.4).astype(float)
    m = compute_metrics(SimResult(ts, eq, pos, np.zeros((0, S.T_COLS)), 0.0, 0.0, 1000.0))
    r = eq[1:] / eq[:-1] - 1
    ppy = (len(ts) - 1) / ((ts[-1] - ts[0]) / (365.25 * DAY))
    assert m["sharpe"] == pytest.approx(r.mean() / r.std(ddof=1) * math.sqrt(ppy), rel=1e-9)
    assert m["sortino"] == pytest.approx(r.mean() / math.sqrt(np.mean(np.minimum(r, 0) ** 2)) * math.sqrt(ppy))
    assert m["max_drawdown"] == pytest.approx((eq / np.maximum.accumulate(eq) - 1).min(), rel=1e-12)
    assert m["exposure"] == pytest.approx(pos.mean())
