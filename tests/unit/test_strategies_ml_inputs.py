"""Declared strategy inputs: ml_classifier with funding (features=2) and a peer's returns (peer=1,
BTCUSDT) on real Bybit ETHUSDT/BTCUSDT 1h; causality under truncation with the full future of both
extra series bound; a clear error naming a missing series; planted lead-lag skill that shuffled
labels destroy; the store binder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.fakes.real_candles import BTC_1H, BYBIT_LINEAR, candles
from workstation.backtest.inputs import MissingInputError, bind_inputs
from workstation.backtest.lookahead import check_lookahead
from workstation.data.arrays import CandleArrays
from workstation.data.store import CandleStore
from workstation.strategies.base import FUNDING, PEER, InputSpec, StrategyError, StrategyInputs, signals
from workstation.strategies.builtin import build
from workstation.strategies.builtin import ml as M

H1 = BYBIT_LINEAR / "5pairs_1h_2023-11_2026-02"
ETH_1H = H1 / "ETH_USDT_USDT-1h-futures.feather"
ETH_FUNDING = H1 / "ETH_USDT_USDT-1h-funding_rate.feather"
PARAMS = {"horizon": 6, "train": 400, "refit": 240, "embargo": 6, "threshold": 0.52, "short": 1}


def eth_funding() -> tuple[np.ndarray, np.ndarray]:
    import pandas as pd

    frame = pd.read_feather(ETH_FUNDING)
    ts = frame["date"].astype("datetime64[ms, UTC]").astype("int64").to_numpy()
    return ts, frame["open"].to_numpy(dtype=np.float64)


@pytest.fixture(scope="module")
def eth() -> CandleArrays:
    return candles(ETH_1H, 0, 2200)


@pytest.fixture(scope="module")
def inputs() -> StrategyInputs:
    # the whole stored history of both series: far more future than any truncated window has
    return StrategyInputs(eth_funding(), {"BTCUSDT": candles(BTC_1H)})


def test_inputs_when_features_2_and_peer_1_then_funding_and_btcusdt_declared() -> None:
    assert build("ml_classifier").inputs() == ()
    assert build("sma_cross").inputs() == ()
    strat = build("ml_classifier", {"features": 2, "peer": 1})
    assert strat.inputs() == (InputSpec(FUNDING), InputSpec(PEER, "BTCUSDT"))
    assert "funding" in strat.label() and "peer=BTCUSDT" in strat.label()


def test_feature_matrix_when_history_truncated_then_no_earlier_row_changes(
    eth: CandleArrays, inputs: StrategyInputs
) -> None:
    strat = build("ml_classifier", {**PARAMS, "features": 2, "peer": 1}).bind(inputs)
    full = strat.feature_matrix(eth)
    assert full.shape[1] == 14 + 2 + 4  # candle features, funding, peer
    assert np.isfinite(full[600:]).all()  # funding and the peer are really there after the warmup
    for k in (700, 1111, 1800):
        cut = strat.feature_matrix(eth.take(slice(0, k)))
        np.testing.assert_array_equal(cut, full[:k])
    # and a later window (as the live/paper engine holds) agrees after its own warmup
    win = strat.feature_matrix(eth.take(slice(900, None)))
    np.testing.assert_allclose(win[M.FEATURE_WARMUP :], full[900 + M.FEATURE_WARMUP :], rtol=1e-9, atol=1e-12)


def test_check_lookahead_when_bound_inputs_then_no_past_signal_changes(
    eth: CandleArrays, inputs: StrategyInputs
) -> None:
    strat = build("ml_classifier", {**PARAMS, "features": 2, "peer": 1}).bind(inputs)
    report = check_lookahead(strat, eth, samples=6, seed=3)
    assert report.ok, report.violations
    assert (signals(strat, eth).target != 0).sum() > 100


def test_signals_when_declared_input_not_bound_then_error_names_the_series(eth: CandleArrays) -> None:
    strat = build("ml_classifier", {**PARAMS, "features": 2, "peer": 1})
    with pytest.raises(StrategyError, match="funding history of its symbol and BTCUSDT candles"):
        signals(strat, eth, locate=False)
    half = strat.bind(StrategyInputs(eth_funding(), {}))
    with pytest.raises(StrategyError, match="needs BTCUSDT candles"):
        signals(half, eth, locate=False)


def _lead_lag(seed: int, n: int = 3000, shuffle_own: bool = False) -> tuple[CandleArrays, CandleArrays]:
    """A peer whose bar-t return moves ours at t + 1 (a planted cross-asset edge)."""
    rng = np.random.default_rng(seed)
    peer_r = rng.normal(0, 0.01, n)
    own_r = np.concatenate([[0.0], 0.8 * peer_r[:-1]]) + rng.normal(0, 0.005, n)
    if shuffle_own:  # the labels (our future returns) lose their link to the peer's past
        own_r = rng.permutation(own_r)
    ts = np.arange(n, dtype=np.int64) * 3_600_000 + 1_700_000_000_000

    def bars(r: np.ndarray) -> CandleArrays:
        close = 100 * np.exp(np.cumsum(r))
        opens = np.concatenate([[100.0], close[:-1]])
        return CandleArrays.from_columns(
            ts, opens, np.maximum(opens, close) * 1.001, np.minimum(opens, close) * 0.999, close, np.ones(n)
        )

    return bars(own_r), bars(peer_r)


def _skill(own: CandleArrays, peer: CandleArrays) -> float:
    strat = build("ml_classifier", {"horizon": 1, "train": 1000, "refit": 240, "embargo": 2, "features": 0, "peer": 1})
    p = strat.bind(StrategyInputs(None, {"BTCUSDT": peer})).probabilities(own)
    nxt = np.concatenate([own.close[1:] > own.close[:-1], [False]])
    ok = np.isfinite(p)
    ok[-1] = False
    assert ok.sum() > 1000
    return float(((p[ok] > 0.5) == nxt[ok]).mean())


def test_probabilities_when_peer_leads_then_skill_and_shuffled_labels_destroy_it() -> None:
    assert _skill(*_lead_lag(1)) > 0.75
    shuffled = [_skill(*_lead_lag(seed, shuffle_own=True)) for seed in range(3)]
    assert float(np.mean(shuffled)) == pytest.approx(0.5, abs=0.03)


def test_bind_inputs_when_funding_not_stored_then_error_names_venue_and_symbol(
    tmp_path: Path, eth: CandleArrays
) -> None:
    with CandleStore.open(tmp_path / "candles.db") as store:
        store.upsert_candles("bybit", "ETHUSDT", "1h", eth)
        strat = build("ml_classifier", {"features": 2})
        with pytest.raises(MissingInputError, match="funding history of bybit ETHUSDT"):
            bind_inputs(store, strat, "bybit", "ETHUSDT", "1h", eth)
        with pytest.raises(MissingInputError, match="bybit BTCUSDT 1h candles"):
            bind_inputs(store, build("ml_classifier", {"peer": 1}), "bybit", "ETHUSDT", "1h", eth)
        rule = build("sma_cross")
        assert bind_inputs(store, rule, "bybit", "ETHUSDT", "1h", eth) is rule
        ts, rate = eth_funding()
        store.upsert_funding("bybit", "ETHUSDT", ts, rate)
        store.upsert_candles("bybit", "BTCUSDT", "1h", candles(BTC_1H, 0, 2400))
        bound = bind_inputs(store, build("ml_classifier", {"features": 2, "peer": 1}), "bybit", "ETHUSDT", "1h", eth)
    got = bound.bound_inputs()
    assert got is not None and got.funding is not None and len(got.funding[0]) == len(ts)
    assert got.peers["BTCUSDT"].ts[-1] <= eth.ts[-1]  # nothing past the market's span is loaded
    assert bound.values() == build("ml_classifier", {"features": 2, "peer": 1}).values()


def test_ml_task_when_config_asks_funding_and_peer_then_candidate_equals_bound_backtest(
    eth: CandleArrays, inputs: StrategyInputs
) -> None:
    from workstation.backtest.costs import funding_per_bar
    from workstation.backtest.runner import run_backtest
    from workstation.discovery.search import MarketInput, SearchConfig, ml_task

    fund = funding_per_bar(eth.ts, *inputs.funding) if inputs.funding else np.zeros(len(eth))
    cfg = SearchConfig(models=("logreg",), thresholds=(0.52,), min_train=1000, step=240, embargo=6, features=2, peer=1)
    m = MarketInput("ETHUSDT", "1h", eth, fund, inputs.funding, {"btc": inputs.peers["BTCUSDT"]})
    trials = ml_task(m, "logreg", 6, cfg)
    assert len(trials) == 2 and all(t.params["features"] == 2 and t.params["peer"] == 1 for t in trials)
    for t in trials:  # the candidate discovery ranks is exactly the bound strategy's backtest
        bt = run_backtest(build("ml_classifier", t.params).bind(inputs), eth, cfg.cost, cash=cfg.cash, funding=fund)
        assert t.metrics["total_return"] == bt.metrics["total_return"]
        assert t.metrics["trade_count"] == bt.metrics["trade_count"] > 0
    with pytest.raises(ValueError, match="funding history of its symbol"):
        ml_task(MarketInput("ETHUSDT", "1h", eth, fund, None, {"btc": inputs.peers["BTCUSDT"]}), "logreg", 6, cfg)
