"""Deflated Sharpe (the paper's worked example and a Monte Carlo check), PSR, PBO on labelled
synthetic return matrices, probability of success and walk-forward selection."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from workstation.discovery import ranking as R


def test_deflated_sharpe_when_paper_example_then_matches_bailey_lopez_de_prado() -> None:
    # Bailey & López de Prado (2014), "The Deflated Sharpe Ratio", numerical example: 100 trials,
    # annualised variance of their Sharpe ratios 1/2, best annualised SR 2.5 over 1250 daily
    # returns with skewness -3 and kurtosis 10: SR0 = 0.1132 (daily), DSR = 0.9004.
    days = 250
    sr0 = R.expected_max_sharpe(100, 0.5 / days)
    assert sr0 == pytest.approx(0.1132, abs=5e-5)
    dsr = R.deflated_sharpe(2.5 / math.sqrt(days), 1250, 100, 0.5 / days, skew=-3.0, kurt=10.0)
    assert dsr == pytest.approx(0.9004, abs=5e-4)


def test_expected_max_sharpe_when_simulating_zero_skill_trials_then_formula_agrees() -> None:
    rng = np.random.default_rng(7)
    # the closed form is an asymptotic approximation: a few percent high for 10 trials, close beyond
    for n_trials, var, tol in ((10, 0.04, 0.06), (100, 0.01, 0.02), (1000, 0.0025, 0.02)):
        sims = rng.normal(0.0, math.sqrt(var), size=(4000, n_trials)).max(axis=1).mean()
        assert R.expected_max_sharpe(n_trials, var) == pytest.approx(sims, rel=tol)


def test_probabilistic_sharpe_when_normal_returns_then_equals_direct_formula() -> None:
    rng = np.random.default_rng(1)
    r = rng.normal(0.001, 0.01, 2000)
    sr = R.sharpe(r)
    skew, kurt = R.moments(r)
    direct = stats.norm.cdf(sr * math.sqrt(len(r) - 1) / math.sqrt(1 - skew * sr + (kurt - 1) / 4 * sr**2))
    assert R.probabilistic_sharpe(sr, 0.0, len(r), skew, kurt) == pytest.approx(direct, rel=1e-12)
    # negative skew and fat tails make the same Sharpe less convincing
    assert R.probabilistic_sharpe(0.05, 0.0, 500, -2.0, 12.0) < R.probabilistic_sharpe(0.05, 0.0, 500)


def test_pbo_when_strategies_are_pure_noise_then_about_one_half() -> None:
    rng = np.random.default_rng(42)
    pbos = [R.pbo_cscv(rng.normal(0, 0.01, size=(2400, 40)), blocks=12).pbo for _ in range(5)]
    assert 0.3 < float(np.mean(pbos)) < 0.7


def test_pbo_when_one_strategy_has_a_planted_edge_then_low() -> None:
    rng = np.random.default_rng(3)
    m = rng.normal(0, 0.01, size=(2400, 40))
    m[:, 17] += 0.002  # per-bar Sharpe 0.2 in every block
    res = R.pbo_cscv(m, blocks=12)
    assert res.pbo < 0.05
    assert res.splits == math.comb(12, 6)
    assert res.prob_oos_loss == 0.0


def test_probability_of_success_when_folds_counted_then_beta_posterior() -> None:
    est = R.probability_of_success(np.array([0.1, -0.02, 0.03, 0.05, 0.0, 0.2, 0.01, -0.1]))
    assert (est.wins, est.folds) == (5, 8)
    assert est.mean == pytest.approx(6 / 10)
    assert est.low == pytest.approx(stats.beta.ppf(0.05, 6, 4))
    assert est.high == pytest.approx(stats.beta.ppf(0.95, 6, 4))


def test_walk_forward_selection_when_winner_changes_then_uses_only_past_bars() -> None:
    r = np.zeros((300, 2))
    r[:100, 0] = np.tile([0.01, 0.0], 50)  # strategy 0 shines first
    r[100:, 1] = np.tile([0.02, 0.0], 100)  # strategy 1 afterwards
    held = R.walk_forward_selection(r, np.array([0, 100, 200]))
    np.testing.assert_array_equal(held[:100], r[100:200, 0])  # chose 0 from the first fold only
    np.testing.assert_array_equal(held[100:], r[200:, 1])
