"""Stop-loss / take-profit prices reach the venue on its tick (half-dollar BTCUSDT on the fake
Bybit, which refuses an off-tick stop with 10001 as it refuses an off-tick price): the entry's
stops are rounded by the kernel's precheck, and a moved stop by kernel.round_stops, both toward
the entry."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from tests.fakes.bybit_ws import StreamingFakeBybit
from tests.fakes.engine_scenarios import exchange_orders, run
from tests.fakes.fault_rig import fault_rig
from workstation.core.enums import Category, OrderStatus, OrderType, Side
from workstation.core.errors import ExchangeError
from workstation.core.types import OrderRequest

TRADING_STOP = "/v5/position/trading-stop"


def test_stops_when_off_the_half_dollar_tick_then_rounded_toward_the_entry_and_accepted(tmp_path: Path) -> None:
    with StreamingFakeBybit() as fake:
        fake.set_tick_size("BTCUSDT", "0.5")
        rig = fault_rig(fake, tmp_path, with_precheck=True)

        async def scenario() -> None:
            await rig.kernel.start()
            request = OrderRequest(
                "tk-long",
                "BTCUSDT",
                Side.BUY,
                Decimal("0.02"),
                OrderType.LIMIT,
                price=Decimal("30000.3"),
                stop_loss=Decimal("29000.3"),
                take_profit=Decimal("33000.7"),
            )
            order = await rig.kernel.submit(request)
            assert order.status is OrderStatus.NEW and order.price == Decimal("30000.0")
            fake.fill_order("tk-long", "30000", "0.02")
            fake.set_mark_price("BTCUSDT", "30500")
            # The raw float a strategy would hand over, then the same through the precheck.
            with pytest.raises(ExchangeError):
                await rig.kernel.client.set_trading_stop("BTCUSDT", Category.LINEAR, Decimal("29400.2"), None)
            sl, tp = await rig.kernel.round_stops(
                "BTCUSDT", Category.LINEAR, Side.BUY, Decimal("29400.2"), Decimal("34000.9")
            )
            assert (sl, tp) == (Decimal("29400.5"), Decimal("34000.5"))
            await rig.kernel.client.set_trading_stop("BTCUSDT", Category.LINEAR, sl, tp)
            await rig.kernel.stop()

        run(scenario())
        sent = exchange_orders(fake)["tk-long"]
        assert (sent["stopLoss"], sent["takeProfit"]) == ("29000.5", "33000.5")
        creates = fake.requests_to("/v5/order/create")
        assert [(r.params["stopLoss"], r.params["takeProfit"]) for r in creates] == [("29000.5", "33000.5")]
        assert [(r.get("stopLoss"), r.get("takeProfit")) for r in fake.exchange.trading_stops] == [
            ("29400.5", "34000.5")
        ]
        assert len(fake.requests_to(TRADING_STOP)) == 2  # the off-tick one refused, the rounded one accepted
