"""`workstation backtest run/sweep` on the bundled BTCUSDT sample, through the typer app."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from workstation.backtest.metrics import drawdown, max_drawdown_duration_ms, trade_stats
from workstation.backtest.simulator import T_COLS, T_ENTRY_PX, T_PNL, T_QTY
from workstation.commands.backtest import app
from workstation.data.sample import load_bundled_sample
from workstation.data.store import CandleStore

runner = CliRunner()


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("bt") / "candles.db"
    with CandleStore.open(path) as store:
        load_bundled_sample(store)
    return str(path)


def test_run_when_json_then_one_document_with_metrics_benchmark_and_trades(db: str) -> None:
    args = ["run", "--strategy", "sma_cross", "--symbol", "BTCUSDT", "--interval", "15m", "--param", "fast=10"]
    result = runner.invoke(app, [*args, "--param", "slow=50", "--json", "--check-lookahead", "--db", db])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    m = doc["metrics"]
    for key in ("final_equity", "total_return", "cagr", "sharpe", "sortino", "max_drawdown", "win_rate"):
        assert key in m
    assert m["trade_count"] > 10 and m["fees_paid"] > 0 and doc["lookahead"]["ok"] is True
    assert doc["benchmark"]["beta"] is not None and doc["interval"] == "15m"
    t = doc["trades"][0]
    assert t["entry_time"].endswith("Z") and t["side"] == "long" and {"qty", "pnl", "fees"} <= set(t)
    assert m["final_equity"] == pytest.approx(10_000 + sum(x["pnl"] for x in doc["trades"]), rel=1e-9)


def test_run_when_unknown_strategy_or_symbol_then_exit_1_with_reason(db: str) -> None:
    bad = runner.invoke(app, ["run", "--strategy", "nope", "--symbol", "BTCUSDT", "--db", db])
    assert bad.exit_code == 1 and "unknown strategy" in bad.output
    missing = runner.invoke(app, ["run", "--strategy", "sma_cross", "--symbol", "ETHUSDT", "--db", db])
    assert missing.exit_code == 1 and "no candles stored for ETHUSDT" in missing.output


def test_sweep_when_grid_then_every_valid_combination_ranked(db: str) -> None:
    args = ["sweep", "--strategy", "sma_cross", "--symbol", "BTCUSDT", "--interval", "1h", "--db", db]
    result = runner.invoke(app, [*args, "--grid", "fast=5:15:5", "--grid", "slow=10,20", "--jobs", "2", "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    combos = {(r["params"]["fast"], r["params"]["slow"]) for r in doc["results"]}
    assert combos == {(5, 10), (5, 20), (10, 20), (15, 20)}  # fast must be below slow
    sharpes = [r["metrics"]["sharpe"] for r in doc["results"]]
    assert sharpes == sorted(sharpes, reverse=True)


def test_metrics_when_small_hand_made_curve_then_drawdown_duration_and_trade_stats() -> None:
    eq = np.array([100.0, 120, 90, 110, 130, 65])
    ts = np.arange(6) * 86_400_000
    np.testing.assert_allclose(drawdown(eq), [0, 0, -0.25, -1 / 12, 0, -0.5])
    assert max_drawdown_duration_ms(ts, eq) == 3 * 86_400_000  # 120 on day 1 regained on day 4
    trades = np.zeros((4, T_COLS))
    trades[:, T_PNL] = [30.0, -10.0, -20.0, 50.0]
    trades[:, T_QTY], trades[:, T_ENTRY_PX] = 1.0, 100.0
    s = trade_stats(trades)
    assert (s["trade_count"], s["win_rate"], s["profit_factor"], s["expectancy"]) == (4, 0.5, 80 / 30, 12.5)


def test_top_level_sweep_and_walkforward_when_invoked_then_same_documents_as_backtest_subcommands(db: str) -> None:
    from workstation.cli import app as root

    base = ["--strategy", "sma_cross", "--symbol", "BTCUSDT", "--interval", "1h", "--db", db, "--json"]
    grid = ["--grid", "fast=5,10", "--grid", "slow=20,40"]
    top = runner.invoke(root, ["sweep", *base, *grid, "--jobs", "1"])
    sub = runner.invoke(app, ["sweep", *base, *grid, "--jobs", "1"])
    assert top.exit_code == 0, top.output
    strip = ("seconds",)
    a, b = ({k: v for k, v in json.loads(r.stdout).items() if k not in strip} for r in (top, sub))
    assert a == b and a["runs"] == 4
    wf = ["--train", "14d", "--test", "7d", "--mc-iterations", "200"]
    top = runner.invoke(root, ["walkforward", *base, *grid, *wf])
    sub = runner.invoke(app, ["walkforward", *base, *grid, *wf])
    assert top.exit_code == 0, top.output
    a, b = ({k: v for k, v in json.loads(r.stdout).items() if k not in strip} for r in (top, sub))
    assert a == b and a["windows"] and a["montecarlo"]["iterations"] == 200
    # the band resamples the stitched out-of-sample trades, each closed by its signal or its window's end
    assert a["montecarlo"]["steps"] == len(a["trades"]) and all(t["exit_time"] for t in a["trades"])


def test_backtest_when_options_without_subcommand_then_runs_like_backtest_run(db: str) -> None:
    from workstation.cli import app as root

    args = ["--strategy", "sma_cross", "--symbol", "BTCUSDT", "--interval", "1h", "--param", "fast=5", "--db", db]
    bare = runner.invoke(root, ["backtest", *args, "--json"])
    explicit = runner.invoke(root, ["backtest", "run", *args, "--json"])
    assert bare.exit_code == 0, bare.output
    assert json.loads(bare.stdout) == json.loads(explicit.stdout)
    assert "run" in runner.invoke(root, ["backtest", "--help"]).stdout
