"""/api/risk (EngineService.risk, shared by the headless API and the desktop's LocalEngine) reports
the risk state of the account that is trading: the paper account's own state file, read in the
replay's time, when the venue is paper or a paper replay's kernel is being read; the live state,
named after its venue, otherwise."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

from fastapi.testclient import TestClient

from workstation.api.app import create_app
from workstation.api.service import PAPER_ACCOUNT, EngineService
from workstation.api.tokens import TokenStore
from workstation.core.clock import ManualClock, SystemClock
from workstation.engine.kernel import EngineKernel
from workstation.paper.risk_path import paper_risk_path
from workstation.risk.limits import RiskLimits
from workstation.risk.state import RiskStateStore
from workstation.runtime import Runtime, build_runtime
from workstation.wiring import build_kernel

REPLAY_DAY_MS = 1_672_876_800_000  # 2023-01-05 00:00 UTC: a replay's candles, long past


def runtime(home: Path, *overrides: str) -> Runtime:
    return build_runtime(home=home, config_file=None, overrides=("debug_mode=false", *overrides))


def record_equity(rt: Runtime, path: Path, clock: ManualClock | SystemClock, *equities: str) -> None:
    """Equity readings as a risk engine records them (the day's start, then the rest)."""
    store = RiskStateStore(path, kill_switch=rt.kill_switch, clock=clock)
    limits = RiskLimits(rt.settings.risk, store, clock)
    for equity in equities:
        limits.on_equity(Decimal(equity))
        if isinstance(clock, ManualClock):
            clock.advance(3_600_000)


@contextmanager
def api_risk(rt: Runtime, kernel: EngineKernel | None = None) -> Iterator[dict[str, object]]:
    tokens = TokenStore.for_home(rt.home).load_or_create()
    assert tokens is not None
    with TestClient(create_app(EngineService(rt, kernel), TokenStore.for_home(rt.home))) as client:
        reply = client.get("/api/risk", headers={"Authorization": f"Bearer {tokens.read}"})
        assert reply.status_code == 200, reply.text
        yield reply.json()


def test_risk_when_venue_is_paper_then_the_paper_accounts_state_in_replay_time(isolated_home: Path) -> None:
    rt = runtime(isolated_home, "trading.venue=paper")
    record_equity(rt, paper_risk_path(isolated_home), ManualClock(REPLAY_DAY_MS), "10000", "9790")
    record_equity(rt, rt.state_dir / "risk.json", SystemClock(), "500")  # the live account: untouched
    with api_risk(rt) as risk:
        assert risk["account"] == PAPER_ACCOUNT and risk["state_file"] == str(paper_risk_path(isolated_home))
        assert risk["equity"] == "9790" and risk["trading_state"] in ("ACTIVE", "REDUCING")
        usage = risk["usage"]
        assert isinstance(usage, dict)
        # 2.1% down on the replay's day: 70% of the 3% daily budget, as the replay's engine reports it
        assert abs(usage["daily_loss"] - 0.021) < 1e-9 and abs(usage["daily_loss_used"] - 0.7) < 1e-9


def test_risk_when_the_paper_account_halted_on_its_replay_day_then_it_still_shows_halted(
    isolated_home: Path,
) -> None:
    rt = runtime(isolated_home, "trading.venue=paper")
    record_equity(rt, paper_risk_path(isolated_home), ManualClock(REPLAY_DAY_MS), "10000", "9600")
    with api_risk(rt) as risk:  # the halt lasts until the replay's next UTC day, not today's
        assert risk["trading_state"] == "HALTED" and "daily loss" in str(risk["reason"])
        assert risk["account"] == PAPER_ACCOUNT


def test_risk_when_venue_is_testnet_then_the_live_state_named_after_the_venue(isolated_home: Path) -> None:
    rt = runtime(isolated_home, "trading.venue=bybit-testnet")
    record_equity(rt, paper_risk_path(isolated_home), ManualClock(REPLAY_DAY_MS), "10000", "9600")
    record_equity(rt, rt.state_dir / "risk.json", SystemClock(), "500")
    with api_risk(rt) as risk:
        assert risk["account"] == "bybit-testnet" and risk["state_file"] == str(rt.state_dir / "risk.json")
        assert risk["equity"] == "500" and risk["trading_state"] == "ACTIVE"


def test_risk_when_a_paper_replay_kernel_is_read_on_a_testnet_home_then_the_paper_account(
    isolated_home: Path,
) -> None:
    live = runtime(isolated_home, "trading.venue=bybit-testnet")
    record_equity(live, paper_risk_path(isolated_home), ManualClock(REPLAY_DAY_MS), "10000", "9790")
    record_equity(live, live.state_dir / "risk.json", SystemClock(), "500")
    replay_kernel = build_kernel(runtime(isolated_home, "trading.venue=paper"), poll_interval_s=None)
    assert replay_kernel is not None and replay_kernel.venue == "paper"
    with api_risk(live, replay_kernel) as risk:  # as the desktop's Paper panel hands it its replay's kernel
        assert risk["account"] == PAPER_ACCOUNT and risk["equity"] == "9790"
