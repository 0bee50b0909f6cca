"""Numbers in risk reasons and events are written for people: no exponents, no 28-digit Decimals."""

from __future__ import annotations

import re
from decimal import Decimal as D
from pathlib import Path

import pytest

from tests.unit.test_risk_support import BTC, PRIVATE, build, long_btc
from workstation.core.enums import Side
from workstation.risk import fmt
from workstation.risk.engine import TradeIntent
from workstation.risk.growth_view import growth_view
from workstation.risk.limits import AccountState, Exposure
from workstation.settings.models import FixedRateSettings

RAW = re.compile(r"\dE[-+]?\d|\d\.\d{7,}")  # an exponent, or more than 6 decimals


@pytest.mark.parametrize(
    ("value", "step", "text"),
    [
        (D("0E-17"), D("0.001"), "0"),
        (D("0.136958390924512"), D("0.001"), "0.137"),
        (D("0.136958390924512"), None, "0.136958"),
        (D("0.0004"), D("0.001"), "0.0004"),  # below one step: shown, not hidden as 0
        (D("12.000"), D("1"), "12"),
        (D("1E+2"), None, "100"),
    ],
)
def test_qty_when_formatted_then_to_the_step_or_6_significant_digits(value: D, step: D | None, text: str) -> None:
    assert fmt.qty(value, step) == text


def test_money_pct_num_when_formatted_then_2_decimals_and_zero_is_0() -> None:
    assert fmt.money(D("9690.123456")) == "9690.12" and fmt.money(D("0E-28")) == "0" and fmt.money(0) == "0"
    assert fmt.pct(D("0.0049999999999")) == "0.50%" and fmt.pct(D("0E-20")) == "0%" and fmt.pct(0.16) == "16.00%"
    assert fmt.num(D("1.55000")) == "1.55" and fmt.num(D("0.000123456789")) == "0.000123457" and fmt.num(0.0) == "0"
    assert fmt.price(D("43210.1234"), D("0.1")) == "43210.1"


def test_evaluate_when_reasons_and_details_are_written_then_no_raw_decimals(tmp_path: Path) -> None:
    rig = build(tmp_path)
    odd_equity = AccountState(equity=D("10000") / D(3))  # 3333.333... to 28 digits
    sized = rig.engine.evaluate(long_btc(), odd_equity, BTC)
    assert sized.approved
    assert re.fullmatch(r"risking 0\.\d\d% of equity at the stop", sized.decision.reason)  # less the step
    position = AccountState(equity=D(10_000), positions=(Exposure("BTCUSDT", D("0.1"), D(60_000)),))
    close = TradeIntent(strategy_id="s", symbol="BTCUSDT", side=Side.SELL, entry_price=D(60_000))
    reduced = rig.engine.evaluate(close, position, BTC)
    assert reduced.decision.reason == "reduces the BTCUSDT position from 0.1 to 0"  # not "to 0E-17" / "0.000"
    for decision in (sized.decision, reduced.decision):
        for name, value in decision.numbers().items():
            assert not RAW.search(value), (name, value)


def test_growth_view_when_off_then_says_plainly_it_is_off_until_a_rate_is_configured() -> None:
    off = growth_view(PRIVATE, D(10_000), 0, None)
    assert off["enabled"] is False and off["rate_configured"] is False
    assert off["summary"].startswith("off until a rate is configured: set risk.growth.rate")
    assert "every trade risks max_risk_per_trade 0.50%" in off["summary"]
    on_no_rate = PRIVATE.model_copy(update={"growth": PRIVATE.growth.model_copy(update={"enabled": True})})
    refused = growth_view(on_no_rate, D(10_000), 0, None)
    assert refused["summary"].startswith("SIZING REFUSED: no USDT to AUD rate is configured")
    rate = FixedRateSettings(rate=1.5, as_of="1970-01-01", max_age_days=30)
    with_rate = PRIVATE.growth.model_copy(update={"enabled": True, "rate": rate})
    on = growth_view(PRIVATE.model_copy(update={"growth": with_rate}), D("8000.0000001"), 0, None)
    assert on["equity_converted"] == "12000.00" and on["next_milestone"] == "25000.00"
    assert "rate 1.5 from" in on["summary"] and not RAW.search(on["summary"])
