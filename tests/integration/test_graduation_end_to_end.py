"""One candidate through the whole graduation pipeline on the shipped BTCUSDT 1m sample, every step a
real `workstation` process on the same home:

    add --from-backtest -> evaluate: CANDIDATE -> PAPER (automatic, criteria met)
    trade --env paper --replay: the trader runs the PAPER candidate under its id
    evaluate: PAPER -> TESTNET (automatic, measured from the ledger's fills of its orders, tagged ppg1-)
    approve: LIVE refused in debug mode (the candidate stays in TESTNET)
    evaluate --performance: a drawdown breach on testnet demotes it to PAPER

Stage criteria are loosened in the test's config (small min days and trades) so the two-day sample
can pass them; every history row carries the metrics it was decided on, and a new process reads
the same stages and history.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.integration.cli_runner import run_cli

STRATEGY = ("--strategy", "sma_cross", "--param", "fast=5", "--param", "slow=20", "--symbol", "BTCUSDT",
            "--interval", "1m")  # fmt: skip
CONFIG = (
    "--set", "graduation.candidate.min_trades=20", "--set", "graduation.candidate.min_sharpe=null",
    "--set", "graduation.candidate.min_profit_factor=null", "--set", "graduation.candidate.max_drawdown=null",
    "--set", "graduation.paper.min_days=0", "--set", "graduation.paper.min_trades=5",
    "--set", "graduation.paper.min_sharpe=null", "--set", "graduation.paper.min_profit_factor=null",
    "--set", "graduation.paper.max_drawdown=0.5", "--set", "graduation.paper.require_mc_band=false",
    "--set", "risk.monitor.demote_after_breaches=100000",  # the monitor's own demotion is tested elsewhere
)  # fmt: skip
REPLAY = ("--start", "2024-11-01", "--end", "2024-11-03")


def cli(home: Path, *args: str, ok: bool = True, prefix: tuple[str, ...] = ()) -> str:
    done = run_cli(*prefix, *CONFIG, *args, home=home)
    if ok:
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


def show(home: Path) -> dict:
    return json.loads(cli(home, "graduation", "show", "1", "--json"))


def test_candidate_when_driven_through_the_pipeline_on_replayed_data_then_stages_and_history_persist(
    tmp_path: Path,
) -> None:
    home = tmp_path
    cli(home, "data", "load-sample")
    added = cli(home, "graduation", "add", "--from-backtest", *STRATEGY, "--train", "14d", "--test", "7d",
                "--mc-iterations", "200")  # fmt: skip
    assert "candidate 1 queued" in added
    promoted = cli(home, "graduation", "evaluate", "1")
    assert "candidate 1 (CANDIDATE -> PAPER): criteria met" in promoted

    traded = cli(home, "trade", *STRATEGY, "--env", "paper", "--replay", "2024-11-01:2024-11-03",
                 prefix=("--set", "debug_mode=false"))  # fmt: skip
    data = show(home)
    assert f"CANDIDATE {data['strategy_id']} in PAPER" in traded

    assert "(ppg1-" in traded and "(pp-" not in traded  # every order it sent carries its id
    judged = cli(home, "graduation", "evaluate", "1", *REPLAY)
    assert "candidate 1 (PAPER -> TESTNET): criteria met" in judged, judged
    measured = json.loads(judged.split("measured on paper: ", 1)[1].splitlines()[0])
    assert measured["trades"] >= 5 and measured["fill_ratio"] == 1.0
    assert measured["slippage_bps"] is not None and abs(measured["slippage_bps"]) < 10

    refused = cli(home, "graduation", "approve", "1", ok=False)  # debug mode is on in the shipped config
    assert "LIVE approval of candidate 1 REFUSED" in refused and "debug mode is on" in refused
    assert show(home)["stage"] == "TESTNET"

    bad = tmp_path / "testnet.json"
    bad.write_text(json.dumps({"trades": 12, "max_drawdown": 0.4, "slippage_bps": 2.0, "fill_ratio": 1.0}))
    demoted = cli(home, "graduation", "evaluate", "1", "--performance", str(bad))
    assert "candidate 1 (TESTNET -> PAPER)" in demoted and "max drawdown 40" in demoted

    # a new process reads the same stages and history, each move with the metrics it was decided on
    again = show(home)
    assert again["stage"] == "PAPER"
    history = again["history"]
    assert [(h["from"], h["to"]) for h in history] == [
        (None, "CANDIDATE"),
        ("CANDIDATE", "PAPER"),
        ("PAPER", "TESTNET"),
        ("TESTNET", "PAPER"),
    ]
    to_paper, to_testnet, back = history[1], history[2], history[3]
    assert to_paper["metrics"]["performance"]["trades"] >= 20
    assert to_testnet["metrics"]["performance"] == measured
    assert back["metrics"]["performance"]["max_drawdown"] == 0.4 and back["reason"].startswith("breach: max drawdown")
    listed = json.loads(cli(home, "graduation", "list", "--json"))
    assert [(c["id"], c["stage"]) for c in listed] == [(1, "PAPER")]
