"""`workstation graduation add --from-backtest` on the shipped sample (BTCUSDT 1m, Nov-Dec 2024): the
backtest, walk-forward and Monte Carlo run on the stored candles and the candidate is queued with
that evidence, the same numbers an in-process backtest of the same strategy gives."""

from __future__ import annotations

import json
from pathlib import Path

from tests.integration.cli_runner import run_cli
from workstation.backtest.costs import CostModel
from workstation.backtest.runner import load_market, run_backtest
from workstation.data.store import CandleStore
from workstation.strategies.builtin import build

ADD = ("graduation", "add", "--from-backtest", "--strategy", "sma_cross", "--param", "fast=10", "--param", "slow=50",
       "--symbol", "BTCUSDT", "--interval", "15m", "--train", "14d", "--test", "7d", "--mc-iterations", "500")  # fmt: skip


def test_add_when_from_backtest_on_the_sample_then_queued_with_backtest_walk_forward_and_mc_evidence(
    isolated_home: Path,
) -> None:
    home = isolated_home
    assert run_cli("data", "load-sample", home=home).returncode == 0
    added = run_cli(*ADD, "--json", home=home)
    assert added.returncode == 0, added.stdout + added.stderr
    doc = json.loads(added.stdout)
    assert doc["stage"] == "CANDIDATE" and doc["strategy_id"] == "sma_cross/BTCUSDT/15m#1"
    assert doc["params"] == {"fast": 10, "slow": 50, "short": 0}  # typed, defaults too: rebuilt exactly
    ev = doc["evidence"]

    with CandleStore.open(home / "candles.db") as store:
        market = load_market(store, "BTCUSDT", "15m")
    cost = CostModel(taker_fee=0.00055, maker_fee=0.0002, slippage_bps=1.0)
    bt = run_backtest(build("sma_cross", {"fast": 10, "slow": 50}), market.candles, cost, funding=market.funding)
    assert ev["backtest"]["trades"] == bt.metrics["trade_count"] > 20
    assert ev["backtest"]["sharpe"] == bt.metrics["sharpe"]
    assert ev["backtest"]["max_drawdown"] == abs(bt.metrics["max_drawdown"])
    wf = ev["walk_forward"]
    assert doc["summary"]["walk_forward_windows"] >= 5 and 0 < wf["trades"] < ev["backtest"]["trades"]
    low, high = ev["mc_band"]
    assert low < high and ev["mc_window"] == 20
    assert low < wf["mean_trade_return"] < high  # the band is centred on the out-of-sample mean trade
    assert "walk-forward" in ev["source"] and "Monte Carlo 500 bootstrap paths" in ev["source"]

    shown = json.loads(run_cli("graduation", "show", "1", "--json", home=home).stdout)
    assert shown["evidence"] == ev
    assert shown["history"][0]["to"] == "CANDIDATE" and shown["history"][0]["reason"].startswith("from a backtest")


def test_add_when_from_backtest_without_enough_data_then_refused_and_nothing_queued(isolated_home: Path) -> None:
    home = isolated_home
    assert run_cli("data", "load-sample", home=home).returncode == 0
    short = run_cli(*ADD, "--start", "2024-11-01", "--end", "2024-11-05", home=home)
    assert short.returncode != 0 and "error:" in short.stderr
    both = run_cli(*ADD, "--evidence", str(home / "candles.db"), home=home)
    assert both.returncode != 0 and "exactly one of --evidence FILE or --from-backtest" in both.stderr
    assert json.loads(run_cli("graduation", "list", "--json", home=home).stdout) == []
