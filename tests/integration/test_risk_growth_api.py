"""/api/risk carries balance building (risk.growth) for the account that is trading: the equity in
the milestone currency at the configured rate, the next milestone and the risk per trade, or why it
is off or refuses to size. The summary line is what the Risk panel shows."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from tests.integration.test_risk_account import REPLAY_DAY_MS, api_risk, record_equity, runtime
from workstation.core.clock import ManualClock
from workstation.paper.risk_path import paper_risk_path
from workstation.risk.growth import GrowthPlan, rate_source

FIXED_RATE = "risk.growth.rate={kind: fixed, rate: 1.6, as_of: 2022-12-01, max_age_days: 3650}"


def test_risk_when_growth_is_on_with_a_rate_then_the_paper_equity_in_aud_and_the_next_milestone(
    isolated_home: Path,
) -> None:
    rt = runtime(isolated_home, "trading.venue=paper", "risk.growth.enabled=true", FIXED_RATE)
    record_equity(rt, paper_risk_path(isolated_home), ManualClock(REPLAY_DAY_MS), "10000", "9790")
    plan = GrowthPlan(rt.settings.risk.growth, rate_source(rt.settings.risk.growth))
    expected = plan.status(Decimal("9790"), REPLAY_DAY_MS)
    with api_risk(rt) as risk:
        growth = risk["growth"]
        assert isinstance(growth, dict)
        assert growth["enabled"] is True and growth["equity_converted"] == "15664.00" and growth["currency"] == "AUD"
        assert growth["rate"] == "1.6" and growth["rate_source"] == "fixed USDT->AUD rate of 2022-12-01"
        assert expected.next_milestone is not None and growth["next_milestone"] == f"{expected.next_milestone:.2f}"
        cap = Decimal(str(rt.settings.risk.max_risk_per_trade))
        assert Decimal(growth["risk_per_trade"]) == min(expected.risk_fraction, cap)
        assert growth["summary"] == expected.describe()
        assert str(growth["summary"]).startswith("equity 15664.00 AUD (rate 1.6 from fixed USDT->AUD rate")


def test_risk_when_growth_is_on_without_a_rate_then_it_says_sizing_is_refused(isolated_home: Path) -> None:
    rt = runtime(isolated_home, "trading.venue=paper", "risk.growth.enabled=true", "risk.growth.rate=null")
    record_equity(rt, paper_risk_path(isolated_home), ManualClock(REPLAY_DAY_MS), "10000")
    with api_risk(rt) as risk:
        growth = risk["growth"]
        assert isinstance(growth, dict)
        assert str(growth["summary"]).startswith("SIZING REFUSED: no USDT to AUD rate is configured")
        assert str(growth["sizing_refused"]).startswith("no USDT to AUD rate is configured")


def test_risk_when_the_shipped_config_then_balance_building_is_off_until_a_rate_is_set(isolated_home: Path) -> None:
    rt = runtime(isolated_home)
    with api_risk(rt) as risk:
        growth = risk["growth"]
        assert isinstance(growth, dict)
        assert growth["enabled"] is False and growth["rate_configured"] is False
        assert str(growth["summary"]).startswith("off until a rate is configured: set risk.growth.rate")
