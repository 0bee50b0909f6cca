"""Debug mode through the whole engine: the OMS records every order as DENIED, the user sees each
denial, and the fake exchange receives zero order-mutating requests."""

from __future__ import annotations

from pathlib import Path

from tests.fakes.bybit_server import FakeBybit
from tests.fakes.engine_scenarios import limit, make_rig, market, run
from workstation.core.enums import OrderStatus
from workstation.core.events import OrderDenied, OrderStatusChanged
from workstation.engine.ledger import Ledger


def test_submit_when_debug_mode_on_then_recorded_denied_and_zero_requests_reach_exchange(
    fake_bybit: FakeBybit, tmp_path: Path
) -> None:
    rig = make_rig(fake_bybit, tmp_path, debug=True)
    requests = [limit(), market(), limit(qty="0.5")]

    async def scenario() -> None:
        await rig.kernel.start()
        for request in requests:
            order = await rig.kernel.submit(request)
            assert order.status is OrderStatus.DENIED
        await rig.kernel.cancel(requests[0].client_order_id)  # already final: nothing to send
        await rig.kernel.stop()

    run(scenario())
    assert fake_bybit.mutating_requests() == []
    denied = rig.log.of(OrderDenied)
    assert [d.client_order_id for d in denied] == [r.client_order_id for r in requests]
    assert all("debug mode" in d.reason for d in denied)
    assert [e.status for e in rig.log.of(OrderStatusChanged)] == [OrderStatus.DENIED] * 3
    stored = {r.client_order_id: r for r in Ledger.open(rig.ledger_file).orders()}
    assert {c: r.status for c, r in stored.items()} == {r.client_order_id: OrderStatus.DENIED for r in requests}
    assert all("debug mode" in r.reason for r in stored.values())


def test_submit_when_debug_mode_turned_on_mid_session_then_next_order_denied_before_network(
    fake_bybit: FakeBybit, tmp_path: Path
) -> None:
    rig = make_rig(fake_bybit, tmp_path)
    first, second = limit(), limit()

    async def scenario() -> None:
        await rig.kernel.start()
        assert (await rig.kernel.submit(first)).status is OrderStatus.NEW
        rig.debug_switch.set(True, "test")
        assert (await rig.kernel.submit(second)).status is OrderStatus.DENIED
        await rig.kernel.cancel(first.client_order_id)  # a cancel is denied too in debug mode
        await rig.kernel.stop()

    run(scenario())
    assert [r.params["orderLinkId"] for r in fake_bybit.mutating_requests()] == [first.client_order_id]
    assert fake_bybit.order(first.client_order_id)["orderStatus"] == "New"  # type: ignore[index]
