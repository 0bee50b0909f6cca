"""`workstation graduation report ID` after a paper replay of the shipped sample: the candidate's paper
fills (from the ledger) against a backtest of the same strategy over the same candles, trade by
trade. Without the risk manager (an untagged run, read with --all-fills) the paper venue reproduces
the backtest exactly (every trade matched, no slippage, the same fees); with it, the candidate in
PAPER trades under its id, the sizes differ and the attached stops close trades the backtest held."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.integration.cli_runner import run_cli

RANGE = ("--start", "2024-11-01", "--end", "2024-11-03")
STRATEGY = ("--strategy", "sma_cross", "--param", "fast=5", "--param", "slow=20", "--symbol", "BTCUSDT",
            "--interval", "1m")  # fmt: skip
TRADE = ("--set", "debug_mode=false", "trade", *STRATEGY, "--env", "paper", "--replay", "2024-11-01:2024-11-03")
ADD = ("graduation", "add", "--from-backtest", *STRATEGY, "--train", "14d", "--test", "7d", "--mc-iterations", "200")


LOOSE = ("--set", "graduation.candidate.min_trades=20", "--set", "graduation.candidate.min_sharpe=null",
         "--set", "graduation.candidate.min_profit_factor=null", "--set", "graduation.candidate.max_drawdown=null")  # fmt: skip


def report(home: Path, *extra: str, report_args: tuple[str, ...] = ()) -> dict:
    assert run_cli("data", "load-sample", home=home).returncode == 0
    assert run_cli(*ADD, home=home).returncode == 0
    promoted = run_cli(*LOOSE, "graduation", "evaluate", "1", home=home)
    assert "CANDIDATE -> PAPER" in promoted.stdout, promoted.stdout + promoted.stderr
    traded = run_cli(*TRADE, *extra, home=home)
    assert traded.returncode == 0, traded.stdout[-2000:] + traded.stderr
    out = run_cli("graduation", "report", "1", *RANGE, *report_args, "--json", home=home)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_report_when_paper_traded_without_risk_then_every_trade_matches_the_backtest(tmp_path: Path) -> None:
    data = report(tmp_path, "--no-risk", report_args=("--all-fills",))
    t = data["totals"]
    assert t["expected_trades"] == t["actual_trades"] == t["matched"] > 50
    assert t["only_backtest"] == t["only_live"] == 0
    assert t["actual_fees"] == pytest.approx(t["expected_fees"], rel=1e-9)
    assert t["actual_pnl"] == pytest.approx(t["expected_pnl"], rel=1e-9)
    for row in data["trades"]:
        e, a = row["expected"], row["actual"]
        assert (e["entry_ts"], e["side"], e["exit_ts"]) == (a["entry_ts"], a["side"], a["exit_ts"])
        assert a["qty"] == pytest.approx(e["qty"], rel=1e-9)
        assert abs(row["entry_slippage_bps"]) < 1e-6
        assert row["exit_slippage_bps"] is None or abs(row["exit_slippage_bps"]) < 1e-6

    text = run_cli("graduation", "report", "1", *RANGE, "--all-fills", home=tmp_path, env={"COLUMNS": "250"})
    assert f"{t['matched']} matched, 0 only in the backtest, 0 only on paper" in text.stdout


def test_report_when_paper_traded_with_risk_then_sizes_and_stop_exits_differ_trade_by_trade(tmp_path: Path) -> None:
    data = report(tmp_path)
    t = data["totals"]
    rows = data["trades"]
    matched = [r for r in rows if r["status"] == "matched"]
    assert matched and t["actual_trades"] > 0
    # risk sizing at the stop distance, not the backtest's whole-equity fraction
    resized = [r for r in matched if abs(r["actual"]["qty"] / r["expected"]["qty"] - 1) > 0.01]
    assert len(resized) >= len(matched) / 2  # (the rest were capped by the venue's margin, like the backtest)
    assert t["actual_fees"] != pytest.approx(t["expected_fees"], rel=0.01)
    # the 2-ATR stop the risk engine attached closed trades the backtest held to the signal
    assert any(r["actual"]["exit_reason"] == "venue stop" for r in rows if r["actual"])
    assert all(r["expected"]["exit_reason"] in {"signal", "open"} for r in rows if r["expected"])
    assert t["only_backtest"] + t["only_live"] > 0 or any(
        r["expected"]["exit_ts"] != r["actual"]["exit_ts"] for r in matched
    )
