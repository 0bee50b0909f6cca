"""The `ml_classifier` strategy: causal rolling refits (lookahead check on real Bybit candles), the same
signals from a live-sized window as from the whole history, and average-uniqueness weights."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from tests.fakes.real_candles import BTC_1H, candles
from workstation.backtest.lookahead import check_lookahead
from workstation.data.arrays import CandleArrays
from workstation.strategies.base import signals
from workstation.strategies.builtin import build
from workstation.strategies.builtin import ml as M

SMALL = {"horizon": 6, "train": 600, "refit": 240, "embargo": 6}


@pytest.fixture(scope="module")
def btc() -> CandleArrays:
    return candles(BTC_1H, 0, 2600)


def test_average_uniqueness_when_labels_overlap_then_hand_computed_weights() -> None:
    # h = 2: labels cover bars {1,2} {2,3} {3,4} {4,5}; concurrency 1,2,2,2,1
    np.testing.assert_allclose(M.average_uniqueness(np.arange(4), 2), [0.75, 0.5, 0.5, 0.75])
    # h = 3, two labels: bars {1,2,3} {2,3,4}; concurrency 1,2,2,1 -> (1 + 1/2 + 1/2) / 3 each
    np.testing.assert_allclose(M.average_uniqueness(np.array([0, 1]), 3), [2 / 3, 2 / 3])
    # labels that do not overlap are fully unique, a gap (row 5 missing) restores uniqueness
    np.testing.assert_allclose(M.average_uniqueness(np.array([0, 5]), 2), [1.0, 1.0])
    np.testing.assert_allclose(M.average_uniqueness(np.array([0, 1, 6]), 2), [0.75, 0.75, 1.0])


@pytest.mark.parametrize("model", [M.LOGISTIC, M.HGB])
def test_check_lookahead_when_ml_classifier_on_real_candles_then_no_past_signal_changes(
    model: int, btc: CandleArrays
) -> None:
    strat = build("ml_classifier", {**SMALL, "model": model, "threshold": 0.52, "short": 1})
    report = check_lookahead(strat, btc, samples=10, seed=2)
    assert report.ok, report.violations
    target = signals(strat, btc).target
    assert (target != 0).sum() > 100  # it trades: the check is not passing on an all-flat strategy
    assert (target[: strat.warmup - strat.refit] == 0).all()


def test_fit_when_anchor_reached_then_training_labels_end_before_embargo(
    btc: CandleArrays, monkeypatch: pytest.MonkeyPatch
) -> None:
    strat = build("ml_classifier", SMALL)
    x = strat.feature_matrix(btc)
    seen: list[np.ndarray] = []
    real = M.cached_fit

    def spy(kind: int, seed: int, xs: np.ndarray, y: np.ndarray, w: Any) -> Any:
        seen.append(xs)
        return real(kind, seed, xs, y, w)

    monkeypatch.setattr(M, "cached_fit", spy)
    strat.probabilities(btc)
    fitted = [b for b in M.anchors(btc.ts, strat.refit) if b - 6 - 6 - 600 >= M.FEATURE_WARMUP]
    assert len(seen) == len(fitted) >= 5
    for b, xs in zip(fitted, seen, strict=True):
        last = b - strat.embargo - strat.horizon - 1  # its label ends at bar b - embargo - 1
        np.testing.assert_array_equal(xs[-1], x[last])
        assert len(xs) == strat.train


def test_compute_when_live_window_of_warmup_bars_then_same_signals_as_full_history(btc: CandleArrays) -> None:
    strat = build("ml_classifier", {**SMALL, "model": M.LOGISTIC})
    full = strat.probabilities(btc)
    window = btc.take(slice(len(btc) - strat.warmup, None))
    live = strat.probabilities(window)
    last = int(M.anchors(btc.ts, strat.refit)[-1])  # from here the newest model predicts, in both runs
    assert len(btc) - last <= strat.refit
    assert np.isfinite(full[last:]).all()
    np.testing.assert_allclose(live[last - len(btc) :], full[last:], rtol=1e-9)


def test_create_when_params_round_trip_through_text_then_same_strategy() -> None:
    strat = build("ml_classifier", {**SMALL, "model": 1, "threshold": 0.57})
    again = build("ml_classifier", {k: str(v) for k, v in strat.values().items()})
    assert again == strat and again.label().startswith("ml_classifier(hgb,h=6,p>0.57")
    with pytest.raises(ValueError, match="outside its range"):
        build("ml_classifier", {"model": 2})
