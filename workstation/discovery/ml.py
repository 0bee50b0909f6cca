"""Classifiers of the next-N-bar return sign, trained with purged, embargoed cross-validation.

The label of bar i is sign(close[i + h] / close[i] - 1): its window is bars i..i + h. A training
row is purged when that window overlaps the span of the test fold's label windows
(test_start .. test_end - 1 + h), so nothing the test fold will "see" is in training. Walk-forward
folds train on the past only and also keep `embargo` bars clear before the test fold (long-window
features are serially dependent); k-fold splits drop `embargo` bars after each test fold.
Fold boundaries sit at fixed bar numbers (min_train + k * step), so predictions for bar t never
depend on how much history follows t.

These splits serve the honesty checks (shuffled labels, k-fold purging). The candidates discovery
ranks and hands on are the tradeable `ml_classifier` strategy (strategies/builtin/ml.py), which
refits on rolling windows with the same purging, embargo, models and uniqueness weights.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from workstation.strategies.builtin import ml as S

MODELS: tuple[str, ...] = ("hgb", "logreg")
MODEL_CODES: dict[str, int] = S.MODEL_CODES


@dataclass(frozen=True, slots=True, eq=False)
class Fold:
    train: np.ndarray
    test: np.ndarray


def purge(candidates: np.ndarray, test_start: int, test_end: int, horizon: int, embargo: int) -> np.ndarray:
    """Drop rows whose label window [i, i + h] meets [test_start - embargo, test_end - 1 + h + embargo]."""
    lo, hi = test_start - embargo, test_end - 1 + horizon + embargo
    clash = (candidates + horizon >= lo) & (candidates <= hi)
    return candidates[~clash]


def walk_forward_splits(n: int, *, horizon: int, min_train: int, step: int, embargo: int = 0) -> list[Fold]:
    """Expanding-window folds: test [b, b + step) for b = min_train, min_train + step, ...; train before."""
    if min(horizon, step, min_train) < 1 or embargo < 0:
        raise ValueError("horizon, step and min_train must be positive and embargo not negative")
    out = []
    for b in range(min_train, n, step):
        e = min(n, b + step)
        train = purge(np.arange(0, b), b, e, horizon, embargo)
        if len(train):
            out.append(Fold(train, np.arange(b, e)))
    return out


def purged_kfold_splits(n: int, *, folds: int, horizon: int, embargo: int = 0) -> list[Fold]:
    """Contiguous k-fold splits with purging on both sides and an embargo after each test fold."""
    edges = np.linspace(0, n, folds + 1).astype(int)
    idx = np.arange(n)
    out = []
    for s, e in zip(edges[:-1].tolist(), edges[1:].tolist(), strict=True):
        train = purge(idx[(idx < s) | (idx >= e)], s, e, horizon, 0)
        train = train[~((train >= e) & (train <= e - 1 + horizon + embargo))]
        out.append(Fold(train, idx[s:e]))
    return out


def make_model(name: str, seed: int = 0) -> object:
    """The same small, seeded models the `ml_classifier` strategy trades with."""
    if name not in MODEL_CODES:
        raise ValueError(f"unknown model {name!r}; known: {', '.join(MODELS)}")
    return S.make_model(MODEL_CODES[name], seed)


def out_of_fold_proba(
    x: np.ndarray,
    fwd: np.ndarray,
    folds: list[Fold],
    model: str,
    *,
    seed: int = 0,
    horizon: int | None = None,
) -> np.ndarray:
    """P(forward return > 0) for every test row, from a model fitted on that fold's training rows.

    Rows with any NaN feature are neither trained on nor predicted (NaN out: no position). With a
    `horizon`, training rows are weighted by their labels' average uniqueness (mean 1).
    """
    out = np.full(len(x), np.nan)
    usable = np.isfinite(x).all(axis=1)
    labelled = usable & np.isfinite(fwd)
    y = (fwd > 0).astype(np.int64)
    for fold in folds:
        train = fold.train[labelled[fold.train]]
        test = fold.test[usable[fold.test]]
        if len(test) == 0 or len(train) < 50 or len(np.unique(y[train])) < 2:
            continue
        w = None
        if horizon is not None:
            u = S.average_uniqueness(train, horizon)
            w = u / u.mean()
        clf = S.fit_model(MODEL_CODES[model], seed, x[train], y[train], w)
        out[test] = clf.predict_proba(x[test])[:, 1]
    return out


def positions(proba: np.ndarray, threshold: float, short: bool) -> np.ndarray:
    """Long above `threshold`, short below 1 - threshold (if allowed), else flat; NaN = flat."""
    target = np.zeros(len(proba))
    with np.errstate(invalid="ignore"):
        target[proba > threshold] = 1.0
        if short:
            target[proba < 1.0 - threshold] = -1.0
    return target
