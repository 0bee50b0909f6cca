"""Features, regimes and ML predictions are causal: cutting the history after bar t changes none of
rows 0..t (real Bybit BTC/ETH 1h candles with funding)."""

from __future__ import annotations

import numpy as np
import pytest

from tests.fakes.real_candles import BTC_1H, BYBIT_LINEAR, candles, funding
from workstation.data.arrays import CandleArrays
from workstation.discovery import ml
from workstation.discovery.features import build_features, forward_returns
from workstation.discovery.regimes import causal_labels

ETH_1H = BYBIT_LINEAR / "5pairs_1h_2023-11_2026-02" / "ETH_USDT_USDT-1h-futures.feather"
N = 3000


@pytest.fixture(scope="module")
def eth_btc() -> tuple[CandleArrays, CandleArrays]:
    eth = candles(ETH_1H, 0, N)
    btc = candles(BTC_1H, 0, N + 600)  # BTC's file starts earlier: the as-of join must align by time
    return eth, btc


def test_features_when_history_truncated_then_earlier_rows_unchanged(
    eth_btc: tuple[CandleArrays, CandleArrays],
) -> None:
    eth, btc = eth_btc
    fund = funding()
    full = build_features(eth, funding=fund, peers={"btc": btc})
    assert {
        "ret_24",
        "vol_168",
        "atr_14",
        "rsi_14",
        "macd_hist",
        "boll_pos",
        "volume_z",
        "funding_last",
        "btc_ret_1",
    } <= set(full.names)
    assert full.complete_rows()[200:].all()  # every feature defined once the longest window is full
    for cut in (250, 1111, 2999):
        part = build_features(eth.take(slice(0, cut)), funding=fund, peers={"btc": btc})
        np.testing.assert_allclose(part.values, full.values[:cut], rtol=1e-9, atol=1e-12, equal_nan=True)


def test_features_when_peer_and_funding_cut_at_bar_then_rows_up_to_it_unchanged(
    eth_btc: tuple[CandleArrays, CandleArrays],
) -> None:
    eth, btc = eth_btc
    ts, rate = funding()
    full = build_features(eth, funding=(ts, rate), peers={"btc": btc})
    cut = 1500
    end_ms = int(eth.ts[cut - 1]) + 3_600_000  # the close of the last kept bar
    keep = ts < end_ms
    part = build_features(
        eth.take(slice(0, cut)), funding=(ts[keep], rate[keep]), peers={"btc": btc.between(None, end_ms)}
    )
    np.testing.assert_allclose(part.values, full.values[:cut], rtol=1e-9, atol=1e-12, equal_nan=True)


def test_funding_feature_when_settlement_inside_bar_then_seen_from_that_bar_on() -> None:
    btc = candles(BTC_1H, 0, 2000)
    ts, rate = funding()
    f = build_features(btc, funding=(ts, rate)).column("funding_last")
    settle = (ts + 500) // 1000 * 1000
    first = np.flatnonzero((settle >= btc.ts[0]) & (settle <= btc.ts[-1]))[5]
    bar = int(np.searchsorted(btc.ts, settle[first], side="right")) - 1  # the bar in which it settles
    assert f[bar] == rate[first]
    assert f[bar - 1] == rate[first - 1]


def test_labels_when_computed_then_look_forward_and_never_enter_features() -> None:
    btc = candles(BTC_1H, 0, 500)
    fwd = forward_returns(btc.close, 6)
    assert fwd[10] == pytest.approx(np.log(btc.close[16] / btc.close[10]))
    assert np.isnan(fwd[-6:]).all()
    assert not any(n.startswith("fwd") for n in build_features(btc).names)


def test_causal_regimes_when_history_truncated_then_earlier_labels_unchanged() -> None:
    btc = candles(BTC_1H, 0, 2600)
    full = causal_labels(btc.close, btc.ts, window=72, min_train=800, refit=600)
    part = causal_labels(btc.close[:1700], btc.ts[:1700], window=72, min_train=800, refit=600)
    np.testing.assert_array_equal(part.combined, full.combined[:1700])
    assert (full.combined[:800] == -1).all() and (full.combined[800:] >= 0).all()


def test_out_of_fold_proba_when_history_truncated_then_earlier_predictions_unchanged() -> None:
    btc = candles(BTC_1H, 0, 3200)
    x = build_features(btc).values
    fwd = forward_returns(btc.close, 6)
    folds = ml.walk_forward_splits(len(x), horizon=6, min_train=1200, step=500, embargo=12)
    full = ml.out_of_fold_proba(x, fwd, folds, "logreg")
    cut = 2300
    # the truncated run only knows labels that are complete by the cut
    part_folds = ml.walk_forward_splits(cut, horizon=6, min_train=1200, step=500, embargo=12)
    part = ml.out_of_fold_proba(x[:cut], forward_returns(btc.close[:cut], 6), part_folds, "logreg")
    assert np.isfinite(full[1200:]).all() and np.isnan(full[:1200]).all()
    np.testing.assert_allclose(part, full[:cut], rtol=1e-9, equal_nan=True)
