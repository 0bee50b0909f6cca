"""Purged and embargoed splits: no training label window reaches into a test fold's label span."""

from __future__ import annotations

import numpy as np
import pytest

from workstation.discovery.ml import positions, purged_kfold_splits, walk_forward_splits


@pytest.mark.parametrize(("horizon", "embargo"), [(1, 0), (6, 12), (24, 24)])
def test_walk_forward_when_split_then_train_is_past_and_purged_before_test(horizon: int, embargo: int) -> None:
    n = 5000
    folds = walk_forward_splits(n, horizon=horizon, min_train=1000, step=700, embargo=embargo)
    assert [int(f.test[0]) for f in folds] == list(range(1000, n, 700))
    assert np.array_equal(np.concatenate([f.test for f in folds]), np.arange(1000, n))
    for f in folds:
        s = int(f.test[0])
        # label window of row i is [i, i + horizon]; the last training window ends before s - embargo
        assert int((f.train + horizon).max()) == s - embargo - 1
        assert np.array_equal(f.train, np.arange(0, s - embargo - horizon))
        assert not np.intersect1d(f.train, f.test).size


@pytest.mark.parametrize(("horizon", "embargo"), [(1, 0), (6, 10), (24, 48)])
def test_purged_kfold_when_split_then_no_label_overlap_and_embargo_after_test(horizon: int, embargo: int) -> None:
    n = 2400
    folds = purged_kfold_splits(n, folds=6, horizon=horizon, embargo=embargo)
    assert np.array_equal(np.sort(np.concatenate([f.test for f in folds])), np.arange(n))
    for f in folds:
        s, e = int(f.test[0]), int(f.test[-1]) + 1
        train_windows = [set(range(i, i + horizon + 1)) for i in f.train]
        test_span = set(range(s, e + horizon))
        assert all(not (w & test_span) for w in train_windows)
        after = f.train[f.train >= e]
        if len(after):
            assert int(after.min()) == e + horizon + embargo
        before = f.train[f.train < s]
        if len(before):
            assert int(before.max()) == s - horizon - 1
        expected = n - (e - s) - min(s, horizon) - min(n - e, horizon + embargo)
        assert len(f.train) == expected


def test_positions_when_probability_crosses_thresholds_then_long_short_or_flat() -> None:
    p = np.array([0.7, 0.5, 0.3, np.nan, 0.56])
    assert positions(p, 0.55, True).tolist() == [1, 0, -1, 0, 1]
    assert positions(p, 0.55, False).tolist() == [1, 0, 0, 0, 1]
