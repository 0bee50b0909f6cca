"""A TESTNET candidate measured from the ledger, with no JSON handed in: `workstation trade --env
testnet` (a real process, debug mode off, through pybit to the streaming fake Bybit on real BTC 1h
candles) trades the candidate under its id (client order ids `lvg1-...`), the ledger records its
fills, and `graduation evaluate 1` / `graduation report 1` read them. The evaluation keeps it in
TESTNET when the criteria are met and demotes it to PAPER on a breach; a day of trading does not
make a Sharpe that counts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.fakes.bybit_public_ws import FakePublicWs
from tests.integration.cli_runner import run_cli
from tests.integration.live_trader import candidate_in_testnet, trade_testnet

LIVE_BARS = 24
TESTNET_OK = ("graduation.testnet.min_days=0", "graduation.testnet.min_trades=2", "graduation.testnet.min_sharpe=null",
              "graduation.testnet.min_profit_factor=null", "graduation.testnet.min_win_rate=null",
              "graduation.testnet.require_mc_band=false", "graduation.testnet.max_slippage_bps=null",
              "graduation.testnet.max_drawdown=0.9", "graduation.testnet.min_fill_ratio=0.9")  # fmt: skip


def sets(*overrides: str) -> list[str]:
    return [arg for o in overrides for arg in ("--set", o)]


def test_evaluate_when_a_testnet_candidate_traded_then_its_ledger_fills_are_measured_and_decide(
    tmp_path: Path, public_ws: FakePublicWs
) -> None:
    home = tmp_path / "home"
    candidate_in_testnet(home)
    _out, created = trade_testnet(home, public_ws, LIVE_BARS)
    assert len(created) >= 3 and all(c.startswith("lvg1-") for c in created), created  # the candidate's id rides along

    report = run_cli("graduation", "report", "1", "--json", home=home)
    assert report.returncode == 0, report.stdout + report.stderr
    data = json.loads(report.stdout)
    assert data["venue"] == "bybit-testnet" and data["market_venue"] == "bybit-testnet"  # the trader stored its bars
    assert data["backtest"] is True  # (expected against actual: test_graduation_testnet_report.py)
    made = [row["actual"] for row in data["trades"]]
    closed = [a for a in made if a["exit_ts"] is not None]
    assert len(closed) >= 2
    # every fill of the candidate's orders, as the ledger has them, is in its round trips
    orders = json.loads(run_cli("orders", "--json", home=home).stdout)["orders"]
    filled = sum(float(f["qty"]) for o in orders if o["client_order_id"].startswith("lvg1-") for f in o["fills"])
    assert sum(a["qty"] for a in closed) * 2 + sum(a["qty"] for a in made if a["exit_ts"] is None) == pytest.approx(
        filled, rel=1e-9
    )

    judged = run_cli(*sets(*TESTNET_OK, "graduation.testnet.min_sharpe=0.5"), "graduation", "evaluate", "1", home=home)
    assert judged.returncode == 0, judged.stdout + judged.stderr
    measured = json.loads(judged.stdout.split("measured on bybit-testnet: ", 1)[1].splitlines()[0])
    assert measured["trades"] == len(closed) and measured["fill_ratio"] == 1.0
    assert measured["days"] < 7
    pnl = sum(a["pnl"] for a in closed)
    assert pnl < 0 and measured["total_return"] < 0 and measured["max_drawdown"] > 0.005  # sma 2/3 lost here
    # a day or two of testnet trading: its Sharpe does not decide, the shortfall says so
    assert f"Sharpe not counted: {measured['days']:g} days < 7" in judged.stdout, judged.stdout
    assert "candidate 1 (TESTNET -> TESTNET)" in judged.stdout

    met = run_cli(*sets(*TESTNET_OK), "graduation", "evaluate", "1", home=home)
    assert "candidate 1 (TESTNET -> TESTNET): criteria met" in met.stdout, met.stdout + met.stderr

    breach = run_cli(*sets(*TESTNET_OK, "graduation.testnet.max_drawdown=0.005"), "graduation", "evaluate", "1",
                     home=home)  # fmt: skip
    assert "candidate 1 (TESTNET -> PAPER)" in breach.stdout and "max drawdown" in breach.stdout, breach.stdout
    shown = json.loads(run_cli("graduation", "show", "1", "--json", home=home).stdout)
    assert shown["stage"] == "PAPER"
    assert shown["history"][-1]["metrics"]["performance"] == measured
