"""Honesty tests on SYNTHETIC, labelled series (kept apart from the real-data tests): a random walk
has no edge and nothing may be promoted; a planted autocorrelation edge must be found; shuffling
the labels the model learns from must destroy its out-of-sample skill."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import balanced_accuracy_score

from workstation.backtest import simulator as S
from workstation.backtest.lookahead import check_lookahead
from workstation.backtest.metrics import bar_returns
from workstation.backtest.montecarlo import monte_carlo
from workstation.backtest.simulator import simulate
from workstation.bus import EventBus
from workstation.commands.discover_handoff import submit
from workstation.core.clock import ManualClock
from workstation.data.arrays import CandleArrays
from workstation.discovery import ml
from workstation.discovery.evaluate import DiscoveryResult, window_band
from workstation.discovery.features import build_features, forward_returns
from workstation.discovery.run import discover
from workstation.discovery.search import MarketInput, SearchConfig
from workstation.graduation.models import Stage
from workstation.graduation.pipeline import GraduationPipeline
from workstation.graduation.store import GraduationStore, store_path
from workstation.settings.loader import load_settings
from workstation.strategies.base import signals
from workstation.strategies.builtin import build

N = 6000
HOUR = 3_600_000


def synthetic(returns: np.ndarray, seed: int) -> CandleArrays:
    """Hourly candles whose closes follow the given log returns (opens at the previous close)."""
    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(returns))
    open_ = np.concatenate([[100.0], close[:-1]])
    wick = np.abs(rng.normal(0, 0.002, (2, len(close))))
    high = np.maximum(open_, close) * (1 + wick[0])
    low = np.minimum(open_, close) * (1 - wick[1])
    volume = rng.lognormal(5, 0.5, len(close))
    ts = 1_700_000_000_000 // HOUR * HOUR + HOUR * np.arange(len(close))
    return CandleArrays.from_columns(ts, open_, high, low, close, volume)


def random_walk(seed: int = 11) -> CandleArrays:
    return synthetic(np.random.default_rng(seed).normal(0.0, 0.008, N), seed)


def planted_edge(seed: int = 5, phi: float = 0.3) -> CandleArrays:
    """AR(1) returns: the sign of the last return predicts the next one."""
    eps = np.random.default_rng(seed).normal(0.0, 0.008, N)
    r = np.empty(N)
    r[0] = eps[0]
    for i in range(1, N):
        r[i] = phi * r[i - 1] + eps[i]
    return synthetic(r, seed)


CFG = SearchConfig(
    families=("sma_cross", "donchian", "rsi_reversion", "ml"),
    budget=80,
    models=("logreg",),
    horizons=(1, 6),
    thresholds=(0.52, 0.56),
    min_train=2000,
    step=500,
    embargo=6,
    backend="serial",
)


def run(candles: CandleArrays) -> DiscoveryResult:
    return discover([MarketInput("SYNTH", "1h", candles, np.zeros(len(candles)))], CFG)


def test_discover_when_random_walk_then_nothing_promoted_and_dsr_or_pbo_rejects_all() -> None:
    res = run(random_walk())
    assert res.trials >= 70
    assert res.passed == []
    for c in res.candidates:
        assert c.dsr < 0.95 or (c.pbo is not None and c.pbo > 0.5), c.trial.label
    assert max(c.dsr for c in res.candidates) < 0.9


@functools.cache
def planted_result() -> DiscoveryResult:
    return run(planted_edge())


def test_discover_when_edge_planted_then_ml_candidate_found_and_passes() -> None:
    res = planted_result()
    best = res.candidates[0]
    assert best.passed, best.reasons
    assert best.trial.family == "ml"
    assert best.dsr > 0.99
    assert best.pbo is not None and best.pbo < 0.2
    assert best.success.low > 0.5
    assert best.oos["total_return"] > 0.5


def test_model_when_future_labels_shuffled_then_out_of_sample_skill_vanishes() -> None:
    c = planted_edge()
    x = build_features(c).values
    fwd = forward_returns(c.close, 1)
    folds = ml.walk_forward_splits(len(x), horizon=1, min_train=2000, step=500, embargo=6)
    labelled = np.flatnonzero(np.isfinite(fwd))

    def skill(labels: np.ndarray) -> tuple[float, float]:
        p = ml.out_of_fold_proba(x, labels, folds, "logreg")
        ok = np.isfinite(p) & np.isfinite(fwd)
        hit = balanced_accuracy_score(fwd[ok] > 0, p[ok] > 0.5)  # 0.5 for any uninformed guesser
        pnl = np.sign(p[ok] - 0.5) * fwd[ok]
        return float(hit), float(pnl.mean() / pnl.std())

    hit, sharpe = skill(fwd)
    assert hit > 0.58 and sharpe > 0.2
    # a model fed permuted labels still fits noise weights on the (truly predictive) features, so
    # one shuffle can land either side of zero; across shuffles the skill averages out
    shuffled_runs = []
    for seed in range(6):
        shuffled = fwd.copy()
        shuffled[labelled] = np.random.default_rng(seed).permutation(fwd[labelled])
        shuffled_runs.append(skill(shuffled))
    hits, sharpes = np.array(shuffled_runs).T
    assert float(hits.mean()) == pytest.approx(0.5, abs=0.02)
    assert float(sharpes.mean()) < sharpe / 4
    assert float(sharpes.max()) < sharpe / 2


def test_handoff_when_planted_edge_passes_then_queued_as_candidate_once(tmp_path: Path) -> None:
    res = planted_result()
    store = GraduationStore.open(store_path(tmp_path))
    try:
        pipeline = GraduationPipeline(store, load_settings().settings.graduation, bus=EventBus(), clock=ManualClock(0))
        first = submit(pipeline, res.passed[:2], source="test", by="test")
        again = submit(pipeline, res.passed[:2], source="test", by="test")
        queued = pipeline.candidates(Stage.CANDIDATE)
    finally:
        store.close()
    assert [q["note"] for q in first] == ["queued as CANDIDATE"] * len(first) and first
    assert all(q["note"] == "already queued" for q in again)
    assert len(queued) == len(first)
    top = res.passed[0]
    ev = queued[0].evidence
    assert queued[0].strategy == top.trial.strategy and queued[0].params == top.trial.params
    assert ev.walk_forward is not None and ev.walk_forward.sharpe == pytest.approx(top.oos["sharpe"])
    assert ev.mc_band[0] <= ev.mc_band[1] and ev.mc_window == min(20, top.oos["trades"])


def test_ml_candidate_when_queued_then_rebuilt_from_graduation_store_gives_same_signals(tmp_path: Path) -> None:
    res = planted_result()
    best = next(c for c in res.passed if c.trial.strategy == "ml_classifier")
    store = GraduationStore.open(store_path(tmp_path))
    try:
        pipeline = GraduationPipeline(store, load_settings().settings.graduation, bus=EventBus(), clock=ManualClock(0))
        submit(pipeline, [best], source="test", by="test")
    finally:
        store.close()
    store = GraduationStore.open(store_path(tmp_path))  # a fresh read, as the paper engine would do
    try:
        queued = store.candidates()[0]
    finally:
        store.close()
    rebuilt = build(queued.strategy, queued.params)
    candles = planted_edge()
    run = simulate(candles, signals(rebuilt, candles), CFG.cost, cash=CFG.cash, funding=np.zeros(len(candles)))
    np.testing.assert_array_equal(bar_returns(run.equity), best.trial.returns)
    assert check_lookahead(rebuilt, candles.take(slice(0, 3500)), samples=4).ok
    # the evidence band is the one derived from backtest.montecarlo's bootstrap of the OOS trades
    assert best.trial.mc is not None and queued.evidence.mc_band == pytest.approx(best.mc_band)


def test_window_band_when_derived_from_monte_carlo_band_then_close_to_direct_bootstrap_of_means() -> None:
    rng = np.random.default_rng(4)
    r = rng.normal(0.004, 0.02, 300)
    ts = np.arange(301) * HOUR
    trades = np.zeros((300, S.T_COLS))
    trades[:, S.T_ENTRY_I] = np.arange(1, 301)
    trades[:, S.T_PNL] = r  # equity stays 1 before each entry: trade return = P&L
    result = S.SimResult(ts, np.ones(301), np.zeros(301), trades, 0.0, 0.0, 1.0)
    band = monte_carlo(result, method="bootstrap", iterations=4000, seed=1).band
    (low, high), window = window_band(band, r, 20)
    means = rng.choice(r, size=(20_000, 20)).mean(axis=1)
    assert window == 20
    assert low == pytest.approx(np.percentile(means, 5), abs=0.0008)
    assert high == pytest.approx(np.percentile(means, 95), abs=0.0008)
