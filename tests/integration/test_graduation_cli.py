"""`workstation graduation ...` and `workstation risk ...` as a user runs them: real processes, real files."""

from __future__ import annotations

import json
import time
from decimal import Decimal as D
from pathlib import Path

from tests.integration.cli_runner import run_cli
from workstation.bus import EventBus
from workstation.core.clock import ManualClock
from workstation.graduation.models import Performance, Stage
from workstation.graduation.pipeline import GraduationPipeline
from workstation.graduation.store import GraduationStore, store_path
from workstation.risk.limits import RiskLimits
from workstation.risk.state import RiskStateStore
from workstation.settings.loader import load_settings

DAY = 86_400_000
EVIDENCE = {
    "backtest": {"trades": 150, "sharpe": 1.4, "max_drawdown": 0.12, "win_rate": 0.45, "profit_factor": 1.35},
    "walk_forward": None,
    "mc_band": [0.0005, 0.004],
    "mc_window": 20,
    "source": "runs/sma.json",
}
GOOD = Performance(
    trades=30,
    sharpe=1.2,
    max_drawdown=0.06,
    profit_factor=1.4,
    mean_trade_return=0.0015,
    slippage_bps=3.0,
    fill_ratio=0.97,
)


def test_graduation_cli_when_added_then_auto_paper_and_live_approval_refused_in_debug_mode(
    isolated_home: Path, tmp_path: Path
) -> None:
    home = isolated_home
    evidence = tmp_path / "evidence.json"
    evidence.write_text(json.dumps(EVIDENCE))
    done = run_cli(
        "graduation", "add", "--strategy", "sma_cross", "--symbol", "BTCUSDT", "--interval", "1h",
        "--params", '{"fast": 20, "slow": 50}', "--evidence", str(evidence), home=home,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "candidate 1 queued: sma_cross/BTCUSDT/1h#1" in done.stdout
    done = run_cli("graduation", "evaluate", "1", home=home)
    assert done.returncode == 0, done.stderr
    assert "candidate 1 (CANDIDATE -> PAPER): criteria met" in done.stdout

    # paper and testnet run elsewhere (the engine); here their results arrive through the API
    clock = ManualClock(time.time_ns() // 1_000_000 + 60 * DAY)
    store = GraduationStore.open(store_path(home))
    pipeline = GraduationPipeline(store, load_settings().settings.graduation, bus=EventBus(), clock=clock)
    pipeline.evaluate(1, GOOD)
    clock.advance(30 * DAY)
    assert pipeline.evaluate(1, GOOD).met and pipeline.get(1).stage is Stage.TESTNET
    store.close()

    refused = run_cli("graduation", "approve", "1", home=home)  # shipped config: debug mode on
    assert refused.returncode == 1
    assert "LIVE approval of candidate 1 REFUSED" in refused.stdout
    assert "debug mode is on (config/debug.yaml)" in refused.stdout
    assert "confirm it with --confirm-mainnet" in refused.stdout
    # private_use allows paper and testnet only, so doctor fails for mainnet as well
    assert "doctor fails: venue: bybit-mainnet is not allowed" in refused.stdout

    shown = run_cli("graduation", "show", "1", "--json", home=home)
    data = json.loads(shown.stdout)
    assert data["stage"] == "TESTNET" and data["venue"] == "bybit-testnet"
    assert [(h["from"], h["to"]) for h in data["history"]] == [
        (None, "CANDIDATE"),
        ("CANDIDATE", "PAPER"),
        ("PAPER", "TESTNET"),
    ]
    assert data["latest_evaluation"]["met"] is True

    done = run_cli("graduation", "retire", "1", "--reason", "replaced by v2", home=home)
    assert done.returncode == 0 and "candidate 1 is RETIRED" in done.stdout
    listed = json.loads(run_cli("graduation", "list", "--json", home=home).stdout)
    assert [(c["id"], c["stage"], c["venue"]) for c in listed] == [(1, "RETIRED", None)]


def test_risk_cli_when_drawdown_halted_then_status_says_why_and_clear_needs_confirmation(isolated_home: Path) -> None:
    home = isolated_home
    clock = ManualClock(time.time_ns() // 1_000_000)
    store = RiskStateStore(home / "state" / "risk.json", clock=clock)
    settings = load_settings().settings.risk.model_copy(update={"daily_loss_limit": 0.5})
    limits = RiskLimits(settings, store, clock)
    limits.on_equity(D(10_000))
    limits.on_equity(D(8_400))  # 16 % below the peak

    growth_on = ("--set", "risk.growth.enabled=true")
    status = json.loads(run_cli(*growth_on, "risk", "status", "--json", home=home).stdout)
    assert status["state"] == "HALTED"
    assert "max drawdown: equity 8400.00 is 16.00% below the peak 10000.00 (limit 15.00%)" in status["reason"]
    assert status["growth"]["sizing_refused"].startswith("no USDT to AUD rate is configured")

    refused = run_cli("risk", "clear-halt", home=home, input_text="")
    assert refused.returncode == 1 and "refusing to clear without confirmation" in refused.stderr
    assert json.loads(run_cli("risk", "status", "--json", home=home).stdout)["state"] == "HALTED"

    cleared = run_cli("risk", "clear-halt", "--yes", home=home)
    assert cleared.returncode == 0 and "trading state: ACTIVE" in cleared.stdout

    run_cli("kill-switch", "engage", "--reason", "going on holiday", home=home)
    status = json.loads(run_cli("risk", "status", "--json", home=home).stdout)
    assert status["state"] == "HALTED" and "kill switch engaged" in status["reason"]
    assert "going on holiday" in status["reason"]
