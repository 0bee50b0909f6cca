"""`workstation trade --env paper --replay ...` on the shipped sample, `workstation orders|positions|
balances`, and `workstation control`, each as a real process on one --home."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.integration.cli_runner import run_cli

RANGE = "2024-11-01:2024-11-01T04:00"  # 240 one-minute candles of the shipped sample
TRADE = ("trade", "--strategy", "sma_cross", "--param", "fast=5", "--param", "slow=20", "--symbol", "BTCUSDT",
         "--interval", "1m", "--env", "paper", "--replay", RANGE)  # fmt: skip
LIVE = ("--set", "debug_mode=false")


@pytest.fixture(scope="module")
def traded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    home = tmp_path_factory.mktemp("trade-home")
    result = run_cli(*LIVE, *TRADE, home=home)
    assert result.returncode == 0, result.stdout + result.stderr
    return home, result.stdout


def test_trade_when_paper_replay_of_sample_then_orders_shows_its_orders_and_fills(traded: tuple[Path, str]) -> None:
    home, out = traded
    assert "READY BTCUSDT 1m" in out and "DONE 240 new candle(s)" in out and "FILL BTCUSDT" in out
    listed = run_cli("orders", "--json", home=home)
    assert listed.returncode == 0, listed.stderr
    listing = json.loads(listed.stdout)
    orders = listing["orders"]
    assert len(orders) >= 4 and {o["venue"] for o in orders} == {"paper"}
    assert {o["status"] for o in orders} == {"Filled"}
    assert all(len(o["fills"]) >= 1 and o["fills"][0]["exec_id"] for o in orders)
    # every fill shown: the orders' own, and the exits of the stop-losses the risk manager attached
    assert out.count("FILL BTCUSDT") == sum(len(o["fills"]) for o in orders) + len(listing["protective_fills"])
    table = run_cli("orders", home=home)
    assert f"{len(orders)} order(s)" in table.stdout
    balances = json.loads(run_cli("balances", "--json", home=home).stdout)
    paper = next(b for b in balances if b["source"] == "paper venue")
    assert paper["coin"] == "USDT" and float(paper["total"]) != 10_000.0  # fees were paid
    ledger = next(b for b in balances if b["source"] == "ledger snapshot")
    assert ledger["total"] == paper["total"]  # the final reconcile snapshotted the venue's balance
    assert run_cli("positions", "--json", home=home).returncode == 0


def test_trade_when_run_again_on_same_range_then_nothing_is_replayed_twice(traded: tuple[Path, str]) -> None:
    home, _ = traded
    before = json.loads(run_cli("orders", "--json", home=home).stdout)["orders"]
    again = run_cli(*LIVE, *TRADE, home=home)
    assert again.returncode == 0, again.stderr
    assert "RESTORED paper account" in again.stdout and "DONE 0 new candle(s)" in again.stdout
    assert "new_fills=0" in again.stdout and "adopted_orders=0" in again.stdout
    assert json.loads(run_cli("orders", "--json", home=home).stdout)["orders"] == before


def test_trade_when_debug_mode_on_then_every_order_is_denied_and_shown(isolated_home: Path) -> None:
    result = run_cli(*TRADE, home=isolated_home)  # debug mode is the default
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "debug mode ON: every order will be DENIED" in out
    denials = [line for line in out.splitlines() if line.startswith("DENIED place_order")]
    assert denials and all("debug mode" in line for line in denials)
    assert "FILL" not in out and " 0 fill(s)" in out
    orders = json.loads(run_cli("orders", "--json", home=isolated_home).stdout)["orders"]
    assert orders and {o["status"] for o in orders} == {"Denied"} and len(denials) >= len(orders)
    assert all(not o["fills"] for o in orders)


def test_control_when_emergency_stop_then_kill_switch_persists_across_restarts(isolated_home: Path) -> None:
    stop = run_cli("control", "emergency-stop", "--reason", "test halt", "--flatten", home=isolated_home)
    assert stop.returncode == 0, stop.stderr
    assert "kill switch: engaged" in stop.stdout and "emergency-stop:" in stop.stdout
    status = run_cli("kill-switch", "status", home=isolated_home)
    assert "engaged" in status.stdout and "test halt" in status.stdout
    traded = run_cli(*LIVE, *TRADE, home=isolated_home)  # a restart: new process, same home
    assert traded.returncode == 0, traded.stderr
    assert "kill switch ENGAGED" in traded.stdout
    denials = [line for line in traded.stdout.splitlines() if line.startswith("DENIED place_order")]
    assert denials and all("kill switch is engaged" in line for line in denials)
    assert "FILL" not in traded.stdout
    refused = run_cli("control", "resume", home=isolated_home)
    assert refused.returncode != 0 and "kill switch is engaged" in refused.stderr
    assert "engaged" in run_cli("kill-switch", "status", home=isolated_home).stdout


def test_trade_when_replay_range_is_malformed_then_clear_error(isolated_home: Path) -> None:
    bad = run_cli("trade", "--strategy", "sma_cross", "--env", "paper", "--replay", "yesterday", home=isolated_home)
    assert bad.returncode == 2 and "START:END" in bad.stderr
    bad_env = run_cli("trade", "--strategy", "sma_cross", "--env", "moon", home=isolated_home)
    assert bad_env.returncode == 2 and "--env must be one of" in bad_env.stderr
