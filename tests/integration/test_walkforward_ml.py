"""Walk-forward of the ML family on real Bybit BTCUSDT 1h candles, and its warm-up check in the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from workstation.backtest.costs import CostModel
from workstation.backtest.runner import combinations, parse_grid, run_backtest
from workstation.backtest.simulator import T_ENTRY_I, T_EXIT_I
from workstation.backtest.walkforward import WalkForward, make_windows, split_by_warmup, walk_forward
from workstation.commands.backtest import app
from workstation.data.arrays import CandleArrays
from workstation.data.sample import load_bundled_sample
from workstation.data.store import CandleStore
from workstation.strategies.builtin import build

DIR = Path(__file__).resolve().parents[3] / "shared" / "data" / "ohlcv" / "bybit_linear" / "5pairs_1h_2023-11_2026-02"
DAY = 86_400_000
COST = CostModel(taker_fee=0.0006, slippage_bps=1.0)
FIXED = {"train": 300, "refit": 100}  # warm-up 500 + 300 + 24 + 6 + 100 = 930 bars < the 1,440-bar train window
TRAIN_MS, TEST_MS = 60 * DAY, 20 * DAY
runner = CliRunner()


@pytest.fixture(scope="module")
def btc() -> CandleArrays:
    frame = pd.read_feather(DIR / "BTC_USDT_USDT-1h-futures.feather").set_index("date")
    return CandleArrays.from_frame(frame).take(slice(0, 4000))  # about 5.5 months


@pytest.fixture(scope="module")
def combos() -> list[dict]:
    return list(combinations("ml_classifier", [parse_grid("threshold=0.52,0.55,0.6")], FIXED))


def _walk(candles: CandleArrays, combos: list[dict]) -> WalkForward:
    return walk_forward("ml_classifier", combos, candles, train_ms=TRAIN_MS, test_ms=TEST_MS, cost=COST, jobs=2)


def _scrambled_from(candles: CandleArrays, cut: int) -> CandleArrays:
    rng = np.random.default_rng(7)
    noise = np.concatenate([np.ones(cut), rng.uniform(0.8, 1.2, len(candles) - cut)])
    cols = [candles.open, candles.high, candles.low, candles.close, candles.volume]
    return CandleArrays.from_columns(candles.ts, *(c * noise for c in cols))


@pytest.fixture(scope="module")
def wf(btc: CandleArrays, combos: list[dict]) -> WalkForward:
    return _walk(btc, combos)


def test_walk_forward_when_ml_classifier_fits_train_window_then_windows_choose_params_and_trade_oos(
    btc: CandleArrays, combos: list[dict], wf: WalkForward
) -> None:
    assert len(wf.windows) >= 5 and wf.skipped == ()
    assert all(w.params in combos and w.out_of_sample is not None for w in wf.windows)
    assert sum(w.out_of_sample["trade_count"] for w in wf.windows) == wf.metrics["trade_count"] > 20
    assert sum(w.out_of_sample["trade_count"] > 0 for w in wf.windows) >= len(wf.windows) - 1
    # each window's choice is the in-sample best, checked with plain single runs on its train bars
    for w in wf.windows[:3]:
        train = btc.take(slice(w.window.train_start, w.window.train_end))
        sharpes = [run_backtest(build("ml_classifier", c), train, COST).metrics["sharpe"] for c in combos]
        assert w.params == combos[int(np.nanargmax(sharpes))]
        assert w.objective_value == pytest.approx(max(s for s in sharpes if s is not None))


def test_walk_forward_when_ml_classifier_then_oos_curve_and_trades_lie_in_test_bars_only(
    btc: CandleArrays, wf: WalkForward
) -> None:
    test_bars = np.concatenate([btc.ts[w.window.test_start : w.window.test_end] for w in wf.windows])
    np.testing.assert_array_equal(wf.result.ts, test_bars)
    offsets = np.cumsum([0] + [w.window.test_end - w.window.test_start for w in wf.windows])
    trades = wf.result.trades
    for k, _ in enumerate(wf.windows):
        inside = (trades[:, T_ENTRY_I] >= offsets[k]) & (trades[:, T_ENTRY_I] < offsets[k + 1])
        # a trade entered in window k's test bars also exits in them (at the latest at its window_end)
        assert ((trades[inside, T_EXIT_I] >= offsets[k]) & (trades[inside, T_EXIT_I] < offsets[k + 1])).all()


def test_walk_forward_when_ml_candles_after_a_train_end_change_then_that_windows_choice_does_not(
    btc: CandleArrays, combos: list[dict], wf: WalkForward
) -> None:
    k = 2
    # everything from window k's test start on is different: windows 0..k choose the same
    changed = _walk(_scrambled_from(btc, wf.windows[k].window.test_start), combos)
    assert [w.params for w in changed.windows[: k + 1]] == [w.params for w in wf.windows[: k + 1]]
    assert [w.in_sample for w in changed.windows[: k + 1]] == [w.in_sample for w in wf.windows[: k + 1]]
    assert changed.windows[k].out_of_sample != wf.windows[k].out_of_sample  # its test bars did change
    # everything after window k's test end is different: windows 0..k trade exactly the same out of sample
    later = _walk(_scrambled_from(btc, wf.windows[k].window.test_end), combos)
    assert [w.out_of_sample for w in later.windows[: k + 1]] == [w.out_of_sample for w in wf.windows[: k + 1]]
    assert later.windows[k + 1].out_of_sample != wf.windows[k + 1].out_of_sample  # whose test bars changed


def test_split_by_warmup_when_some_variants_do_not_fit_then_they_are_skipped_and_named(btc: CandleArrays) -> None:
    combos = list(combinations("ml_classifier", [parse_grid("train=300,1000")], {"refit": 100}))
    windows = make_windows(btc.ts, TRAIN_MS, TEST_MS)
    kept, skipped = split_by_warmup("ml_classifier", combos, windows, btc.ts)
    assert kept == [combos[0]]
    assert [(s.params, s.warmup) for s in skipped] == [(combos[1], 500 + 1000 + 24 + 6 + 100)]
    wf = walk_forward("ml_classifier", combos, btc, train_ms=TRAIN_MS, test_ms=TEST_MS, cost=COST, jobs=2)
    assert {w.params["train"] for w in wf.windows} == {300}
    assert wf.to_dict(trades=False)["skipped"] == [{"params": combos[1], "warmup_bars": 1630}]


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("wf") / "candles.db"
    with CandleStore.open(path) as store:
        load_bundled_sample(store)
    return str(path)


def test_walkforward_cli_when_train_window_shorter_than_every_warmup_then_exit_1_says_what_to_change(
    db: str,
) -> None:
    args = ["walkforward", "--strategy", "ml_classifier", "--symbol", "BTCUSDT", "--interval", "1h", "--db", db]
    grid = ["--grid", "threshold=0.55,0.6", "--grid", "train=1000,2000"]
    result = runner.invoke(app, [*args, *grid, "--train", "20d", "--test", "10d"])
    assert result.exit_code == 1
    msg = " ".join(result.output.split())
    assert "--train 20d: no ml_classifier variant can trade: the shortest train window holds 480 bars" in msg
    assert "2,030 bars (smallest) to 3,030 bars (largest) of warm-up" in msg
    assert "Use --train 85d or longer (more than 2,030 bars)" in msg and "lower horizon, train, refit" in msg


def test_walkforward_cli_when_only_some_variants_fit_then_runs_them_and_names_the_skipped(db: str) -> None:
    args = ["walkforward", "--strategy", "ml_classifier", "--symbol", "BTCUSDT", "--interval", "1h", "--db", db]
    grid = ["--grid", "threshold=0.55,0.6", "--grid", "train=200,2000", "--param", "refit=100"]
    result = runner.invoke(app, [*args, *grid, "--train", "40d", "--test", "10d"])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "out of sample (rolling, 3 windows)" in text and "bc." not in text
    assert "2 variants per window" in text
    assert "skipped 2 of 4 variants whose warm-up is not shorter than the 960-bar train window" in text
    assert "refit=100,threshold=0.55,train=2000 (2,630 bars)" in text
    doc = json.loads(runner.invoke(app, [*args, *grid, "--train", "40d", "--test", "10d", "--json"]).stdout)
    assert len(doc["skipped"]) == 2 and {w["params"]["train"] for w in doc["windows"]} == {200}
    assert doc["metrics"]["trade_count"] > 0
