"""RiskPath helpers the runner uses on the risk path: the replay clock, the ATR stop, the margin cap."""

from __future__ import annotations

import math
from decimal import Decimal as D

import pytest

from tests.fakes.real_candles import BTC_1H, candles
from workstation.backtest.costs import CostModel
from workstation.bus import EventBus
from workstation.core.enums import Side
from workstation.paper.risk_path import ReplayClock, RiskPath, paper_instrument
from workstation.risk.engine import RiskEngine
from workstation.risk.limits import RiskLimits
from workstation.risk.sizing import atr
from workstation.risk.state import RiskStateStore
from workstation.settings.models import RiskSettings


def path(tmp_path: object) -> RiskPath:
    from pathlib import Path

    clock = ReplayClock()
    settings = RiskSettings()
    store = RiskStateStore(Path(str(tmp_path)) / "risk.json", clock=clock)
    engine = RiskEngine(settings=settings, limits=RiskLimits(settings, store, clock), bus=EventBus(), clock=clock)
    return RiskPath(engine, paper_instrument("BTCUSDT", CostModel(qty_step=0.001)), "s", clock, bar_ms=3_600_000)


def test_replay_clock_when_set_backwards_then_it_keeps_the_later_time() -> None:
    clock = ReplayClock()
    clock.set(2_000)
    clock.set(1_000)
    assert clock.now_ms() == 2_000


@pytest.mark.skipif(not BTC_1H.exists(), reason="real candles not found")
def test_stop_for_when_strategy_gives_none_then_two_atrs_against_the_trade(tmp_path: object) -> None:
    rp = path(tmp_path)
    week = candles(BTC_1H, count=24 * 7)
    gap = 2 * atr(week.high[-15:], week.low[-15:], week.close[-15:], 14)
    entry = float(week.close[-1])
    assert rp.stop_for(week, entry, Side.BUY) == pytest.approx(entry - gap)
    assert rp.stop_for(week, entry, Side.SELL) == pytest.approx(entry + gap)
    assert math.isnan(rp.stop_for(candles(BTC_1H, count=10), entry, Side.BUY))  # too few candles
    vol = rp.volatility(week)
    assert vol is not None and 0.05 < vol < 3.0  # annualised BTC volatility
    assert rp.periods_per_year == 365 * 24


def test_margin_cap_when_cash_at_1x_then_cash_less_fee_and_buffer(tmp_path: object) -> None:
    rp = path(tmp_path)
    cost = CostModel(taker_fee=0.001, leverage=1.0)
    cap = rp.margin_cap(10_000.0, cost)["venue margin"]
    assert cap == D(str(10_000.0 * 0.98 / 1.001))
    rp.margin_buffer = None
    assert rp.margin_cap(10_000.0, cost) == {}
