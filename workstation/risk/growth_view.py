"""The balance-building state in one dict, with a plain `summary` line for people: what
`workstation risk status` prints and what a panel can show as is."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from workstation.risk import fmt
from workstation.risk.growth import GrowthPlan, RateUnavailable, TickerFactory, rate_source
from workstation.settings.models import RiskSettings

OFF_NO_RATE = (
    "off until a rate is configured: set risk.growth.rate (a fixed USDT->AUD rate with its date, or a "
    "ccxt ticker), then risk.growth.enabled: true; meanwhile every trade risks max_risk_per_trade {cap}"
)
OFF_WITH_RATE = "off (risk.growth.enabled: false): every trade risks max_risk_per_trade {cap}"


def growth_view(
    settings: RiskSettings, equity: Decimal | None, now_ms: int, ticker: TickerFactory | None
) -> dict[str, Any]:
    g = settings.growth
    cap = Decimal(str(settings.max_risk_per_trade))
    if not g.enabled:
        text = OFF_NO_RATE if g.rate is None else OFF_WITH_RATE
        return {"enabled": False, "rate_configured": g.rate is not None, "summary": text.format(cap=fmt.pct(cap))}
    plan = GrowthPlan(g, rate_source(g, ticker))
    if equity is None:
        return {"enabled": True, "status": "no equity recorded yet", "summary": "on; no equity recorded yet"}
    try:
        status = plan.status(equity, now_ms)
    except RateUnavailable as exc:
        return {"enabled": True, "sizing_refused": str(exc), "summary": f"SIZING REFUSED: {exc}"}
    return {
        "enabled": True,
        "equity_converted": fmt.money(status.equity_converted),
        "currency": status.currency,
        "rate": fmt.num(status.rate.value),
        "rate_source": status.rate.source,
        "risk_per_trade": str(min(status.risk_fraction, cap)),
        "next_milestone": None if status.next_milestone is None else fmt.money(status.next_milestone),
        "summary": status.describe(),
    }
