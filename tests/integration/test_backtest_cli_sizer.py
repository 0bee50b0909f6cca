"""`workstation backtest --sizer stop-distance --risk-per-trade R` on the shipped sample
(data/BTCUSDT-1m-*.csv.gz, resampled to 15m): each entry is sized so that its stop-loss costs R of
the equity before it (notional capped at equity x leverage), unlike fraction sizing; a stop-out loses
at most that plus its costs (fees, funding, the fill past the stop level) and whatever the strategy
widened its stop by while the trade was open."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.integration.cli_runner import run_cli
from workstation.backtest.runner import load_market
from workstation.data.intervals import parse_time
from workstation.data.store import CandleStore
from workstation.strategies.base import signals
from workstation.strategies.builtin import build

RISK, LEVERAGE, CASH = 0.01, 3.0, 10_000.0
ARGS = ("--strategy", "donchian", "--symbol", "BTCUSDT", "--interval", "15m", "--slippage-bps", "1")
STOP = ("--param", "stop_atr=2")


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("sizer-home")
    done = run_cli("data", "load-sample", home=home)
    assert done.returncode == 0, done.stderr
    return home


def _backtest(home: Path, *args: str) -> dict[str, Any]:
    done = run_cli("backtest", *ARGS, *args, "--json", home=home)
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout))


def test_backtest_when_stop_distance_sizer_then_each_stop_risks_the_fraction_of_equity(home: Path) -> None:
    frac = _backtest(home, *STOP, "--leverage", str(LEVERAGE))
    stop = _backtest(home, *STOP, "--sizer", "stop-distance", "--risk-per-trade", str(RISK), "--leverage", "3")
    assert frac["sizing"] == {"sizer": "fraction", "size": 1.0, "risk_per_trade": None, "leverage": LEVERAGE}
    assert stop["sizing"] == {"sizer": "stop-distance", "size": None, "risk_per_trade": RISK, "leverage": LEVERAGE}
    assert len(stop["trades"]) == len(frac["trades"]) > 50  # same entries and exits, other sizes
    assert [t["qty"] for t in stop["trades"]] != [t["qty"] for t in frac["trades"]]
    assert stop["metrics"]["final_equity"] != frac["metrics"]["final_equity"]

    with CandleStore.open(home / "candles.db") as store:
        candles = load_market(store, "BTCUSDT", "15m").candles
    levels = signals(build("donchian", {"stop_atr": 2}), candles).stop_loss
    equity, at_budget, stop_outs, kept_stop = CASH, 0, 0, 0
    for t in stop["trades"]:
        entry_i = int(np.searchsorted(candles.ts, parse_time(t["entry_time"])))
        side = 1.0 if t["side"] == "long" else -1.0
        entry_stop = levels[entry_i - 1]  # the stop of the signal that opened it
        loss_at_stop = t["qty"] * side * (t["entry_price"] - entry_stop)
        assert 0 < loss_at_stop <= RISK * equity * (1 + 1e-9)
        if loss_at_stop >= RISK * equity * (1 - 1e-9):
            at_budget += 1
        else:  # only the leverage cap makes it smaller
            assert t["qty"] * t["entry_price"] == pytest.approx(equity * LEVERAGE / (1 + 5.5e-4), rel=1e-9)
        if t["exit_reason"] == "stop_loss":
            stop_outs += 1
            exit_i = int(np.searchsorted(candles.ts, parse_time(t["exit_time"])))
            known = levels[:exit_i][~np.isnan(levels[:exit_i])]
            exit_stop = known[-1]  # the level the stop sat at when it was hit
            widened = max(0.0, side * (entry_stop - exit_stop))
            kept_stop += widened == 0.0
            costs = t["fees"] + abs(t["funding"]) + t["qty"] * abs(t["exit_price"] - exit_stop)
            assert -t["pnl"] <= RISK * equity + costs + t["qty"] * widened + 1e-9 * equity
        equity += t["pnl"]
    assert at_budget >= 0.9 * len(stop["trades"]) and stop_outs >= 10 and kept_stop >= 10
    assert equity == pytest.approx(stop["metrics"]["final_equity"], rel=1e-9)


def test_sweep_when_stop_distance_sizer_then_a_variant_without_stop_opens_nothing(home: Path) -> None:
    done = run_cli(
        "backtest", "sweep", *ARGS, "--grid", "stop_atr=0,2", "--sizer", "stop-distance", "--json", home=home
    )
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["sizing"]["sizer"] == "stop-distance" and doc["sizing"]["risk_per_trade"] == 0.01
    trades = {r["params"]["stop_atr"]: r["metrics"]["trade_count"] for r in doc["results"]}
    assert trades[0.0] == 0 and trades[2.0] > 50


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--risk-per-trade", "0.02"), "--risk-per-trade needs --sizer stop-distance"),
        (("--sizer", "kelly"), "--sizer 'kelly' is not one of: fraction, stop-distance"),
        (("--sizer", "stop-distance", "--risk-per-trade", "0"), "--risk-per-trade 0 must be above 0"),
        (("--sizer", "stop-distance", "--size", "0.5"), "with --sizer stop-distance give --risk-per-trade"),
    ],
)
def test_backtest_when_sizer_options_are_bad_then_refused_with_the_reason(
    home: Path, args: tuple[str, ...], message: str
) -> None:
    done = run_cli("backtest", *ARGS, *STOP, *args, "--json", home=home)
    assert done.returncode == 1 and done.stdout == ""
    assert message in done.stderr
