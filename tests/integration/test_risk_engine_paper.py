"""The one order path with risk in it: real BTC candles -> RiskEngine -> SafetyGate -> OMS -> FakeBybit.

Sizing uses the volatility and ATR of a real week of Bybit BTCUSDT 1h candles; a daily-loss halt
then stops new risk (nothing reaches the exchange) while the closing order still goes through,
and the halt lifts at the next UTC midnight.
"""

from __future__ import annotations

from decimal import ROUND_DOWN
from decimal import Decimal as D
from pathlib import Path

import pytest

from tests.fakes.bybit_server import FakeBybit
from tests.fakes.engine_scenarios import CREATE, make_rig, run
from tests.fakes.real_candles import BTC_1H, candles
from tests.unit.test_risk_support import BTC, PRIVATE
from workstation.core.clock import ManualClock
from workstation.core.enums import Side, TradingState
from workstation.core.events import OrderDenied, RiskDenied
from workstation.risk.engine import RiskEngine, TradeIntent
from workstation.risk.limits import AccountState, Exposure, RiskLimits
from workstation.risk.sizing import atr, realized_volatility
from workstation.risk.state import RiskStateStore

HOUR = 3_600_000

pytestmark = pytest.mark.skipif(not BTC_1H.exists(), reason=f"real candles not found: {BTC_1H}")


def test_paper_path_when_sized_from_real_candles_then_filled_halted_on_daily_loss_and_resumed_next_day(
    fake_bybit: FakeBybit, tmp_path: Path
) -> None:
    week = candles(BTC_1H, first=0, count=24 * 7 + 1)
    close = float(week.close[-1])
    vol = realized_volatility(week.close, 24 * 365)
    stop_gap = 2 * atr(week.high, week.low, week.close, 14)
    entry = D(str(close)).quantize(D("0.1"))
    stop = (entry - D(str(stop_gap))).quantize(D("0.1"))
    clock = ManualClock(int(week.ts[-1]) + HOUR)  # the last candle has just closed
    rig = make_rig(fake_bybit, tmp_path)
    fake_bybit.set_mark_price("BTCUSDT", entry)
    store = RiskStateStore(tmp_path / "state" / "risk.json", kill_switch=rig.gate.kill_switch, bus=rig.bus, clock=clock)
    risk = RiskEngine(settings=PRIVATE, limits=RiskLimits(PRIVATE, store, clock), bus=rig.bus, clock=clock)
    equity = D(10_000)

    def account() -> AccountState:
        p = rig.kernel.portfolio.position(rig.kernel.venue, "BTCUSDT")
        return AccountState(equity=equity, positions=(Exposure("BTCUSDT", p.size, entry),) if p.size else ())

    async def scenario() -> None:
        nonlocal equity
        await rig.kernel.start()
        opened = risk.evaluate(
            TradeIntent("sma", "BTCUSDT", Side.BUY, entry, stop_price=stop), account(), BTC, volatility=vol
        )
        assert opened.request is not None, opened.decision.reason
        # what is at risk never exceeds 0.5 % of equity, and misses it by less than one quantity step
        distance = entry - stop
        qty = opened.request.qty
        budget = (D(50) / distance).quantize(D("0.001"), rounding=ROUND_DOWN)
        leverage_qty = (equity * opened.decision.leverage_cap / entry).quantize(D("0.001"), rounding=ROUND_DOWN)
        assert qty == min(budget, leverage_qty)
        assert qty * distance <= D(50)
        assert opened.request.stop_loss == stop
        await rig.kernel.submit(opened.request)
        assert rig.kernel.portfolio.position(rig.kernel.venue, "BTCUSDT").size == qty

        clock.advance(2 * HOUR)
        equity = D(9_680)  # -3.2 % on the day
        sent = len(fake_bybit.requests_to(CREATE))
        more = risk.evaluate(
            TradeIntent("sma", "BTCUSDT", Side.BUY, entry, stop_price=stop), account(), BTC, volatility=vol
        )
        assert not more.approved and store.state is TradingState.HALTED
        assert len(fake_bybit.requests_to(CREATE)) == sent  # nothing reached the exchange
        close_it = risk.evaluate(TradeIntent("sma", "BTCUSDT", Side.SELL, entry), account(), BTC)
        assert close_it.request is not None and close_it.request.reduce_only
        await rig.kernel.submit(close_it.request)
        assert rig.kernel.portfolio.position(rig.kernel.venue, "BTCUSDT").size == 0

        midnight = (clock.now_ms() // 86_400_000 + 1) * 86_400_000
        clock.advance(midnight - clock.now_ms())
        again = risk.evaluate(
            TradeIntent("sma", "BTCUSDT", Side.BUY, entry, stop_price=stop), account(), BTC, volatility=vol
        )
        assert again.approved and store.state is TradingState.ACTIVE
        await rig.kernel.stop()

    run(scenario())
    denials = rig.log.of(RiskDenied)
    assert len(denials) == 1 and "daily loss limit" in denials[0].reason
    assert denials[0].equity == D(9_680) and denials[0].state is TradingState.HALTED
    assert any(e.reason.startswith("risk: HALTED") for e in rig.log.of(OrderDenied))
