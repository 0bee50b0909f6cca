"""Two PAPER candidates trade the same strategy, symbol and interval: `workstation trade` (a real
process on the shipped sample) does not guess which one it trades as. It refuses before any order,
naming both ids and asking for `--candidate ID`; nothing reaches the ledger. With `--candidate ID` it
trades as that one (its client order ids carry the id); an id outside the stage is refused."""

from __future__ import annotations

import json
from pathlib import Path

from tests.integration.cli_runner import run_cli
from workstation.core.clock import SystemClock
from workstation.graduation.models import Evidence, Performance, Stage
from workstation.graduation.pipeline import GraduationPipeline
from workstation.graduation.store import GraduationStore, store_path
from workstation.runtime import build_runtime

LOOSE = ("graduation.candidate.min_trades=0", "graduation.candidate.min_sharpe=null",
         "graduation.candidate.min_profit_factor=null", "graduation.candidate.max_drawdown=null")  # fmt: skip
STRATEGY = ("--strategy", "sma_cross", "--param", "fast=5", "--param", "slow=20", "--symbol", "BTCUSDT",
            "--interval", "1m")  # fmt: skip


def two_paper_candidates(home: Path) -> None:
    rt = build_runtime(home=home, config_file=None, overrides=LOOSE)
    store = GraduationStore.open(store_path(home))
    try:
        pipeline = GraduationPipeline(store, rt.settings.graduation, bus=rt.bus, clock=SystemClock())
        evidence = Evidence(Performance(200, sharpe=2.0, max_drawdown=0.1), mc_band=(-0.05, 0.05), mc_window=5)
        for _ in range(2):
            cand = pipeline.add(
                strategy="sma_cross", params={"fast": 5, "slow": 20}, symbol="BTCUSDT", interval="1m",
                evidence=evidence, by="test",
            )  # fmt: skip
            pipeline.evaluate(cand.id)
            assert pipeline.get(cand.id).stage is Stage.PAPER
    finally:
        store.close()


def trade_beside_two_candidates(home: Path, *options: str) -> tuple[int, str]:
    """The sample in a fresh home with two matching PAPER candidates, then a paper `trade` over six
    hours of it with `options`: its exit code and everything it printed."""
    assert run_cli("data", "load-sample", home=home).returncode == 0
    two_paper_candidates(home)
    done = run_cli("--set", "debug_mode=false", "trade", *STRATEGY, "--env", "paper", *options,
                   "--replay", "2024-11-01:2024-11-01T06:00", home=home)  # fmt: skip
    return done.returncode, done.stdout + done.stderr


def test_trade_when_two_paper_candidates_match_then_it_refuses_and_asks_which(tmp_path: Path) -> None:
    home = tmp_path
    code, out = trade_beside_two_candidates(home)
    assert code != 0, out
    assert "2 PAPER candidates trade" in out and "(1, 2)" in out and "--candidate ID" in out, out
    assert "FILL" not in out
    orders = run_cli("orders", "--json", home=home)
    assert '"client_order_id"' not in orders.stdout, orders.stdout


def test_trade_when_candidate_given_among_two_then_its_orders_carry_that_id(tmp_path: Path) -> None:
    home = tmp_path
    code, out = trade_beside_two_candidates(home, "--candidate", "2")
    assert code == 0, out
    assert "trading as graduation candidate #2 (PAPER)" in out, out
    ids = [o["client_order_id"] for o in json.loads(run_cli("orders", "--json", home=home).stdout)["orders"]]
    assert ids and all(i.startswith("ppg2-") for i in ids), ids


def test_trade_when_candidate_is_not_in_the_stage_then_refused_before_any_order(tmp_path: Path) -> None:
    code, out = trade_beside_two_candidates(tmp_path, "--candidate", "7")
    assert code == 2, out
    assert "candidate 7 is not one of the PAPER candidates" in out and "1, 2" in out, out
    assert "FILL" not in out
