"""The sweep fast path (fused compiled rule + kernel + stats) and the compiled SMA equal the generic path exactly."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

from workstation.backtest import fused
from workstation.backtest.costs import CostModel
from workstation.backtest.metrics import compute_metrics
from workstation.backtest.runner import run_variant
from workstation.backtest.simulator import simulate
from workstation.data.arrays import CandleArrays
from workstation.strategies import indicators as ind
from workstation.strategies.base import Signals, signals
from workstation.strategies.builtin import REGISTRY, EmaCross, SmaCross, build

COST = CostModel(taker_fee=0.0006, slippage_bps=1.0, volatility_impact=0.01, leverage=3.0)


@pytest.fixture(scope="module")
def walk() -> CandleArrays:
    rng = np.random.default_rng(11)
    n = 20_000
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.004, n)))
    open_ = np.concatenate([[100.0], close[:-1]])
    spread = np.abs(rng.normal(0, 0.002, n)) * close
    ts = np.arange(n, dtype=np.int64) * 60_000
    high, low = np.maximum(open_, close) + spread, np.minimum(open_, close) - spread
    return CandleArrays.from_columns(ts, open_, high, low, close, rng.uniform(1, 50, n))


def test_sma_when_compiled_port_then_bit_identical_to_pandas_rolling_mean_on_awkward_inputs() -> None:
    rng = np.random.default_rng(2)
    for trial in range(120):
        n = int(rng.integers(1, 400))
        x = rng.normal(0, 1, n) * 10.0 ** int(rng.integers(-3, 7))
        if trial % 3 == 0:
            x[rng.random(n) < 0.1] = np.nan
        if trial % 4 == 0:
            x[rng.random(n) < 0.4] = 7.25  # runs of equal values
        if trial % 5 == 0:
            x = np.abs(x)
        if trial % 7 == 0:
            x[rng.random(n) < 0.05] = np.inf
        if trial % 11 == 0:
            x[rng.random(n) < 0.1] = -0.0
        window = int(rng.integers(1, 50))
        expected = pd.Series(x).rolling(window).mean().to_numpy()
        np.testing.assert_array_equal(ind.sma(x, window), expected, err_msg=f"trial {trial}, window {window}")


@pytest.mark.parametrize(
    "strategy", [SmaCross(fast=5, slow=40), SmaCross(fast=12, slow=90, short=1), EmaCross(fast=8, slow=30, short=1)]
)
def test_variant_metrics_when_fused_then_equal_to_signals_simulate_metrics_exactly(
    walk: CandleArrays, strategy: SmaCross
) -> None:
    funding = np.where(np.arange(len(walk)) % 480 == 0, 1e-4, 0.0)
    generic = compute_metrics(simulate(walk, signals(strategy, walk), COST, cash=5000.0, funding=funding))
    assert fused.supports(strategy) and generic["trade_count"] > 50
    buffers = fused.Buffers.of(len(walk))
    for _ in range(2):  # reused buffers leave nothing behind
        assert fused.variant_metrics(strategy, walk, COST, 5000.0, funding, buffers) == generic
    with ind.cached():  # read-only shared indicator lines take the same compiled path
        row = run_variant(strategy.name, strategy.values(), walk, COST, 5000.0, funding, fused.ThreadBuffers())
    assert row == {"params": strategy.values(), "metrics": generic}


def test_run_variant_when_compute_is_overridden_then_the_generic_path_runs_the_override(walk: CandleArrays) -> None:
    @dataclass(frozen=True)
    class AlwaysLong(SmaCross):
        name = "always_long_test"

        def compute(self, candles: CandleArrays) -> Signals:
            return Signals.from_target(np.ones(len(candles)))

    strat = AlwaysLong()
    assert not fused.supports(strat) and fused.supports(build("sma_cross"))
    expected = compute_metrics(simulate(walk, Signals.from_target(np.ones(len(walk))), COST, cash=5000.0))
    REGISTRY[strat.name] = AlwaysLong
    try:
        row = run_variant(strat.name, {}, walk, COST, 5000.0, None)
    finally:
        del REGISTRY[strat.name]
    assert row["metrics"] == expected and row["metrics"]["exposure"] > 0.99
