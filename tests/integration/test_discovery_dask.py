"""The Dask backend runs the same tasks as the process pool and gives the same candidates.
Skipped when the optional `distributed` package is not installed."""

from __future__ import annotations

import numpy as np
import pytest

from tests.fakes.real_candles import BTC_1H, candles
from workstation.discovery.search import MarketInput, SearchConfig, search

distributed = pytest.importorskip("distributed")


def test_search_when_dask_local_cluster_then_same_candidates_as_serial() -> None:
    btc = candles(BTC_1H, 0, 4000)
    market = MarketInput("BTCUSDT", "1h", btc, np.zeros(len(btc)))
    cfg = SearchConfig(
        families=("sma_cross", "donchian", "ml"), budget=30, models=("logreg",), horizons=(6,),
        thresholds=(0.55,), min_train=2000, step=500, backend="serial",
    )  # fmt: skip
    serial = search([market], cfg)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        seen: list[int] = []
        on_dask = search(
            [market],
            SearchConfig(
                **{
                    **{f: getattr(cfg, f) for f in cfg.__slots__},
                    "backend": "dask",
                    "scheduler": cluster.scheduler_address,
                }
            ),
            lambda done, total, _s: seen.append(done),
        )
    assert [t.label for t in on_dask] == [t.label for t in serial]
    for a, b in zip(on_dask, serial, strict=True):
        np.testing.assert_array_equal(a.returns, b.returns)
    assert seen[-1] == len(serial) and seen == sorted(seen)
