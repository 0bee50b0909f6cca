"""Scenarios 13 and 14 through the real order path with the instrument cache reading the fake's
/v5/market/instruments-info over HTTP (pybit), and a tick size that changes under it."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from tests.fakes.bybit_ws import INSTRUMENTS, StreamingFakeBybit
from tests.fakes.engine_scenarios import CREATE, exchange_orders, limit, run
from tests.fakes.fault_rig import fault_rig
from workstation.core.enums import OrderStatus
from workstation.core.events import OrderRejected
from workstation.core.venue_events import InstrumentChanged


@pytest.fixture
def fake() -> Iterator[StreamingFakeBybit]:
    with StreamingFakeBybit() as server:
        yield server


def creates(fake: StreamingFakeBybit) -> int:
    return sum(1 for r in fake.requests if r.path == CREATE)


def test_submit_when_order_breaks_instrument_rules_then_rejected_before_the_ledger_and_never_sent(
    fake: StreamingFakeBybit, tmp_path: Path
) -> None:
    rig = fault_rig(fake, tmp_path, with_precheck=True)

    async def scenario() -> list[OrderStatus]:
        await rig.kernel.start()
        refused = [
            await rig.kernel.submit(limit(qty="0.001", price="3000", coid="notional")),  # 3 USDT < 5
            await rig.kernel.submit(limit(qty="0.0004", coid="zero")),  # rounds to zero
            await rig.kernel.submit(limit(symbol="NOPEUSDT", coid="unknown")),
        ]
        rounded = await rig.kernel.submit(limit(qty="0.0129", price="30000.37", coid="rounded"))
        await rig.kernel.stop()
        return [o.status for o in refused] + [rounded.status]

    assert run(scenario()) == [OrderStatus.REJECTED] * 3 + [OrderStatus.NEW]
    reasons = {e.client_order_id: e.reason for e in rig.log.of(OrderRejected)}
    assert "order value 3 is below the minimum 5" in reasons["notional"]
    assert "rounds to zero with the step 0.001" in reasons["zero"]
    assert "unknown instrument" in reasons["unknown"]
    assert creates(fake) == 1
    sent = exchange_orders(fake)["rounded"]
    assert (sent["qty"], sent["price"]) == ("0.012", "30000.3")
    assert [r.client_order_id for r in rig.ledger.orders(venue="bybit-testnet")] == ["rounded"]


def test_submit_when_tick_size_changed_under_a_stale_cache_then_refused_reread_and_next_order_fits(
    fake: StreamingFakeBybit, tmp_path: Path
) -> None:
    rig = fault_rig(fake, tmp_path, with_precheck=True)

    async def scenario() -> list[OrderStatus]:
        await rig.kernel.start()
        first = await rig.kernel.submit(limit(price="30000.3", coid="t-1"))
        fake.set_tick_size("BTCUSDT", "0.5")  # the venue changes the rule; our cache is fresh (TTL 300 s)
        stale = await rig.kernel.submit(limit(price="30000.3", coid="t-2"))
        fresh = await rig.kernel.submit(limit(price="30000.3", coid="t-3"))
        await rig.kernel.stop()
        return [first.status, stale.status, fresh.status]

    assert run(scenario()) == [OrderStatus.NEW, OrderStatus.REJECTED, OrderStatus.NEW]
    changed = rig.log.of(InstrumentChanged)
    assert len(changed) == 1 and changed[0].changes == (("tick_size", Decimal("0.10"), Decimal("0.5")),)
    assert exchange_orders(fake)["t-3"]["price"] == "30000"  # re-validated on the new tick (a buy rounds down)
    assert len(fake.requests_to(INSTRUMENTS)) == 2


def test_cache_when_entry_expires_and_tick_changed_between_calls_then_refreshed_and_revalidated(
    fake: StreamingFakeBybit, tmp_path: Path
) -> None:
    rig = fault_rig(fake, tmp_path, with_precheck=True, instrument_ttl_s=0.2)
    fake.schedule_tick_change("BTCUSDT", "1", after_calls=1)  # after the first answer

    async def scenario() -> None:
        await rig.kernel.start()
        await rig.kernel.submit(limit(price="30001", coid="e-1"))  # valid on both ticks: accepted
        await asyncio.sleep(0.25)  # the cached rules expire
        await rig.kernel.submit(limit(price="30000.7", coid="e-2"))
        await rig.kernel.stop()

    run(scenario())
    orders = exchange_orders(fake)
    assert orders["e-1"]["orderStatus"] == "New" and orders["e-2"]["price"] == "30000"
    assert not rig.log.of(OrderRejected), "the expiry alone re-read the rules; the venue never had to refuse"
    assert rig.log.of(InstrumentChanged)[0].changes[0][2] == Decimal("1")
    assert len(fake.requests_to(INSTRUMENTS)) == 2
