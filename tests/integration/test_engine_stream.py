"""The private stream end to end: BybitPrivateStream over a real WebSocket to the fake, feeding the
engine through StreamBridge, with REST (pybit over real HTTP) as the resync and the fallback.

Scenarios: 12 (half-open socket), 15 (outage during a fill), 16 (duplicates, out of order, two
Filled from a cancel/fill race), 17 (a handler exception), plus "cannot connect: poll over REST".
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from tests.fakes.bybit_ws import StreamingFakeBybit
from tests.fakes.engine_scenarios import exchange_orders, limit, run
from tests.fakes.fault_rig import FaultRig, eventually, fault_rig
from workstation.core.enums import OrderStatus
from workstation.core.events import OrderFilled, OrderStatusChanged, ReconcileCompleted
from workstation.core.venue_events import StreamAlert, StreamStatusChanged, VenueHalted
from workstation.engine.streams import StreamBridge

WALLET = "/v5/account/wallet-balance"
EXECUTIONS = "/v5/execution/list"


@pytest.fixture
def fake() -> Iterator[StreamingFakeBybit]:
    with StreamingFakeBybit() as server:
        yield server


@pytest.fixture
def rig(fake: StreamingFakeBybit, tmp_path: Path) -> FaultRig:
    return fault_rig(fake, tmp_path)


async def connected(rig: FaultRig, *, fallback_poll_s: float = 30.0) -> StreamBridge:
    await rig.kernel.start()
    bridge = rig.kernel.attach_stream(rig.stream(), fallback_poll_s=fallback_poll_s)
    assert await eventually(lambda: bridge.connected and bridge.resyncs >= 1)
    return bridge


def stream_connects(bridge: StreamBridge) -> int:
    return bridge.stream.connects  # type: ignore[attr-defined, no-any-return]


def test_fill_when_stream_connected_then_applied_from_the_stream_and_wallet_read_by_rest(
    rig: FaultRig, fake: StreamingFakeBybit
) -> None:
    async def scenario() -> None:
        bridge = await connected(rig)
        assert fake.requests_to(WALLET), "the wallet topic has no snapshot: the resync must read it over REST"
        order = await rig.kernel.submit(limit(qty="0.01", price="30000"))
        executions_before = len(fake.requests_to(EXECUTIONS))
        fake.fill_order(order.client_order_id, "30000", "0.01")
        assert await eventually(lambda: rig.kernel.oms.fills.filled(order.client_order_id)[0] == Decimal("0.01"))
        assert rig.kernel.oms.order(order.client_order_id).status is OrderStatus.FILLED
        assert len(fake.requests_to(EXECUTIONS)) == executions_before, "the fill came from the stream, not REST"
        usdt = fake.exchange.wallets["UNIFIED"]["USDT"]
        assert await eventually(
            lambda: any(b.coin == "USDT" and b.total == usdt for b in rig.kernel.portfolio.balances(rig.kernel.venue))
        )
        assert "BTCUSDT" in bridge.venue_positions
        await rig.kernel.stop()

    run(scenario())
    assert len(rig.log.of(OrderFilled)) == 1
    assert rig.ledger.fills(venue="bybit-testnet")[0].qty == Decimal("0.01")


def test_stream_when_socket_goes_silent_then_counted_down_reconnected_and_resynced(
    rig: FaultRig, fake: StreamingFakeBybit
) -> None:
    async def scenario() -> None:
        bridge = await connected(rig)
        resyncs = bridge.resyncs
        fake.ws.go_silent()  # half-open: TCP stays up, no pong ever comes back
        assert await eventually(lambda: not bridge.connected, timeout_s=3)
        assert "no pong" in bridge.stream.last_error  # type: ignore[attr-defined]
        assert await eventually(lambda: bridge.connected and bridge.resyncs > resyncs, timeout_s=5)
        await rig.kernel.stop()

    run(scenario())
    statuses = [e.connected for e in rig.log.of(StreamStatusChanged)]
    assert statuses == [True, False, True]
    assert fake.ws.connections == 2


def test_stream_when_handler_raises_then_alert_reconnect_and_resync_recovers_the_fill(
    rig: FaultRig, fake: StreamingFakeBybit
) -> None:
    async def scenario() -> None:
        bridge = await connected(rig)
        original = bridge.stream_fills
        calls = {"n": 0}

        async def exploding(fills):  # type: ignore[no-untyped-def]
            calls["n"] += 1
            if calls["n"] == 1:
                raise RuntimeError("strategy bug in a fill handler")
            await original(fills)

        bridge.stream_fills = exploding  # type: ignore[method-assign]
        order = await rig.kernel.submit(limit(qty="0.02", price="30000"))
        fake.fill_order(order.client_order_id, "30000", "0.02")
        assert await eventually(lambda: rig.log.of(StreamAlert), timeout_s=3)
        assert await eventually(lambda: bridge.connected and fake.ws.connections == 2, timeout_s=5)
        # The order topic alone already says 0.02 filled; wait for the execution itself.
        assert await eventually(lambda: rig.kernel.oms.fills.filled(order.client_order_id)[0] == Decimal("0.02"))
        await rig.kernel.stop()

    run(scenario())
    assert "strategy bug" in rig.log.of(StreamAlert)[0].reason
    assert len(rig.ledger.fills(venue="bybit-testnet")) == 1, "recovered once, by the REST resync"


def test_stream_when_duplicate_and_out_of_order_messages_then_applied_once_and_status_never_goes_back(
    rig: FaultRig, fake: StreamingFakeBybit
) -> None:
    async def scenario() -> None:
        await connected(rig)
        fake.ws.duplicate = True
        order = await rig.kernel.submit(limit(qty="0.03", price="30000"))
        coid = order.client_order_id
        fake.fill_order(coid, "30000", "0.01")
        fake.fill_order(coid, "30000", "0.02")
        assert await eventually(lambda: rig.kernel.oms.fills.filled(coid)[0] == Decimal("0.03"))
        filled = exchange_orders(fake)[coid]
        partial = dict(filled, orderStatus="PartiallyFilled", cumExecQty="0.01", leavesQty="0.02")
        execution = next(e for e in fake.exchange.executions if e["orderLinkId"] == coid)
        # A cancel racing the fill: a second Filled, a stale PartiallyFilled, the same execution again.
        fake.ws.send_raw("order", [dict(filled, category="linear")])
        fake.ws.send_raw("order", [dict(partial, category="linear")])
        fake.ws.send_raw(
            "execution", [{k: v for k, v in execution.items() if k != "_category"} | {"category": "linear"}]
        )
        await rig.kernel.oms.flush()
        await eventually(lambda: False, timeout_s=0.3)  # let the late messages arrive
        assert rig.kernel.oms.order(coid).status is OrderStatus.FILLED
        assert rig.kernel.oms.order(coid).filled_qty == Decimal("0.03")
        await rig.kernel.stop()

    run(scenario())
    assert len(rig.log.of(OrderFilled)) == 2
    assert len(rig.ledger.fills(venue="bybit-testnet")) == 2
    to_filled = [e for e in rig.log.of(OrderStatusChanged) if e.status is OrderStatus.FILLED]
    assert len(to_filled) == 1


def test_stream_when_outage_during_a_fill_then_rest_reconciliation_recovers_order_fills_and_wallet(
    rig: FaultRig, fake: StreamingFakeBybit
) -> None:
    """Scenario 15 with a 1.5 s outage instead of 30 s: the mechanism (down, refused, reconnect,
    REST resync) is the same; only the fallback poll is slowed so it cannot do the recovery."""

    async def scenario() -> None:
        bridge = await connected(rig, fallback_poll_s=30.0)
        order = await rig.kernel.submit(limit(qty="0.05", price="30000"))
        fake.ws.refuse(True)
        fake.ws.drop()
        assert await eventually(lambda: not bridge.connected, timeout_s=3)
        fake.fill_order(order.client_order_id, "29990", "0.05")  # nobody is connected: never pushed
        fake.set_balance("USDT", "12345.67")
        await eventually(lambda: False, timeout_s=1.5)
        assert rig.kernel.oms.order(order.client_order_id).status is OrderStatus.NEW
        fake.ws.refuse(False)
        assert await eventually(lambda: bridge.connected and bridge.resyncs >= 2, timeout_s=5)
        await rig.kernel.stop()

    run(scenario())
    coid = next(iter(exchange_orders(fake)))
    record = rig.ledger.orders(venue="bybit-testnet")[0]
    assert record.status is OrderStatus.FILLED and record.order.avg_price == Decimal("29990")
    assert [f.qty for f in rig.ledger.fills(venue="bybit-testnet")] == [Decimal("0.05")]
    assert any(
        b.coin == "USDT" and b.total == Decimal("12345.67") for b in rig.kernel.portfolio.balances("bybit-testnet")
    )
    last = rig.log.of(ReconcileCompleted)[-1]
    assert last.new_fills == 1 and last.complete and coid == record.client_order_id


def test_stream_when_websocket_cannot_connect_then_rest_polling_warns_and_stream_keeps_retrying(
    rig: FaultRig, fake: StreamingFakeBybit
) -> None:
    async def scenario() -> None:
        fake.ws.refuse(True)
        await rig.kernel.start()
        bridge = rig.kernel.attach_stream(rig.stream(), fallback_poll_s=0.2)
        order = await rig.kernel.submit(limit(qty="0.01", price="30000"))
        assert await eventually(lambda: bridge.polling and rig.log.of(StreamStatusChanged))
        fake.fill_order(order.client_order_id, "30000", "0.01")
        assert await eventually(lambda: rig.kernel.oms.order(order.client_order_id).status is OrderStatus.FILLED)
        assert not bridge.connected
        fake.ws.refuse(False)
        assert await eventually(lambda: bridge.connected and not bridge.polling, timeout_s=5)
        await rig.kernel.stop()

    run(scenario())
    down, up = rig.log.of(StreamStatusChanged)
    assert not down.connected and "REST polling every 0.2 s" in down.fallback
    assert up.connected


def test_stream_when_dropped_repeatedly_then_every_reconnect_resyncs(rig: FaultRig, fake: StreamingFakeBybit) -> None:
    async def scenario() -> int:
        bridge = await connected(rig)
        for n in range(2, 5):
            fake.ws.drop()
            assert await eventually(lambda n=n: bridge.connected and stream_connects(bridge) == n, timeout_s=5)
            assert await eventually(lambda n=n: bridge.resyncs >= n)
        await rig.kernel.stop()
        return stream_connects(bridge)

    connects = run(scenario())
    assert connects == 4 and fake.ws.auths == 4
    assert len(rig.log.of(ReconcileCompleted)) >= 4


def test_stream_when_key_is_for_another_environment_then_hard_stop_and_no_retry_loop(
    fake: StreamingFakeBybit, tmp_path: Path
) -> None:
    rig = fault_rig(fake, tmp_path, api_key="DEMOKEY000000000000001", api_secret="DEMOSECRET00000000000001")

    async def scenario() -> StreamBridge:
        await rig.kernel.start(reconcile=False)
        bridge = rig.kernel.attach_stream(rig.stream(), fallback_poll_s=30.0)
        assert await eventually(lambda: bool(rig.log.of(VenueHalted)), timeout_s=3)
        await eventually(lambda: False, timeout_s=0.5)  # a retry loop would reconnect meanwhile
        await rig.kernel.stop()
        return bridge

    bridge = run(scenario())
    assert not bridge.connected and not bridge.polling
    assert fake.ws.connections == 1 and fake.ws.auths == 0
    reason = rig.log.of(VenueHalted)[0].reason
    assert "private stream refused the API key (retCode 10003)" in reason and "testnet" in reason
    assert "DEMOKEY" not in reason


def test_stream_when_debug_mode_then_read_only_and_orders_still_denied(
    fake: StreamingFakeBybit, tmp_path: Path
) -> None:
    """Scenario 4 for the WebSocket path: the stream has no order entry, so debug mode's gate stays
    the only way out; the socket carries nothing but auth, subscribe and ping."""
    rig = fault_rig(fake, tmp_path, debug=True)

    async def scenario() -> OrderStatus:
        await connected(rig)
        order = await rig.kernel.submit(limit(coid="dbg-1"))
        await rig.kernel.stop()
        return order.status

    assert run(scenario()) is OrderStatus.DENIED
    assert set(fake.ws.ops) <= {"auth", "subscribe", "ping"}
    assert fake.mutating_requests() == []
