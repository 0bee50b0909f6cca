"""Venue faults through the real order path (kernel -> OMS -> SafetyGate -> BybitExecutionClient
-> pybit over HTTP -> FakeBybit, real SQLite ledger): scenarios 8, 9, 10, 11, 19, 24."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from tests.fakes.bybit_ws import BATCH, StreamingFakeBybit
from tests.fakes.engine_scenarios import CREATE, creates_for, exchange_orders, limit, run
from tests.fakes.fault_rig import FaultRig, fault_rig
from workstation.core.enums import OrderStatus, TradingState
from workstation.core.errors import OrderDeniedError
from workstation.core.events import OrderDenied, OrderRejected, OrderUnresolved
from workstation.core.types import AmendRequest
from workstation.core.venue_events import VenueBlocked, VenueHalted, VenueThrottled
from workstation.exchanges.bybit.guard import GuardPolicy

AMEND = "/v5/order/amend"


@pytest.fixture
def fake() -> Iterator[StreamingFakeBybit]:
    with StreamingFakeBybit() as server:
        yield server


async def max_loop_lag(work: asyncio.Future[object] | asyncio.Task[object], tick_s: float = 0.01) -> float:
    """Run a heartbeat beside `work`; the worst delay of a tick is the loop's responsiveness."""
    worst = 0.0
    while not work.done():
        before = time.perf_counter()
        await asyncio.sleep(tick_s)
        worst = max(worst, time.perf_counter() - before - tick_s)
    return worst


# --- scenario 8: bursts of 10006 ------------------------------------------------------------------
def test_submit_when_burst_of_10006_then_waits_for_reset_header_and_loop_keeps_responding(
    fake: StreamingFakeBybit, tmp_path: Path
) -> None:
    rig = fault_rig(fake, tmp_path)
    fake.fail_next(CREATE, 10006, "Too many visits. Exceeded the API Rate Limit.", times=2)

    async def scenario() -> tuple[OrderStatus, float, float]:
        await rig.kernel.start()
        started = time.perf_counter()
        task = asyncio.ensure_future(rig.kernel.submit(limit(coid="rl-1")))
        lag = await max_loop_lag(task)
        order = await task
        return order.status, lag, time.perf_counter() - started

    status, lag, elapsed = run(scenario())
    creates = [r for r in fake.requests if r.path == CREATE]
    assert status is OrderStatus.NEW and creates_for(fake, "rl-1") == 3
    for before, after in itertools.pairwise(creates):
        reset = (before.ts_ms // 1000 + 1) * 1000  # the fake's X-Bapi-Limit-Reset-Timestamp
        assert after.ts_ms >= reset, "retried before the reset header allowed it"
    assert len(rig.log.of(VenueThrottled)) == 2
    assert lag < 0.1, f"the loop stalled {lag:.3f} s during the back-off"
    assert elapsed < 3.5
    lookups = [r for r in fake.requests_to("/v5/order/") if r.params.get("orderLinkId") == "rl-1" and r.method == "GET"]
    assert not lookups, "a 10006 is a refusal, not an unknown outcome: no lookup needed"


# --- scenario 9: HTTP 403 -------------------------------------------------------------------------
def test_traffic_when_http_403_then_venue_silent_for_ten_minutes_and_alerted(
    fake: StreamingFakeBybit, tmp_path: Path
) -> None:
    rig = fault_rig(fake, tmp_path)
    fake.http_status_next(CREATE, 403)

    async def scenario() -> None:
        await rig.kernel.start()
        first = await rig.kernel.submit(limit(coid="ban-1"))
        assert first.status is OrderStatus.PENDING  # unknown outcome: left for reconciliation
        sent = len(fake.requests)
        second = await rig.kernel.submit(limit(coid="ban-2"))
        assert second.status is OrderStatus.REJECTED
        report = await rig.kernel.reconcile()
        assert not report.complete
        assert len(fake.requests) == sent, "nothing may reach a venue that banned us"
        rig.clock.advance(599)
        await rig.kernel.reconcile()
        assert len(fake.requests) == sent
        rig.clock.advance(2)  # ten minutes are over
        third = await rig.kernel.submit(limit(coid="ban-3"))
        assert third.status is OrderStatus.NEW
        await rig.kernel.stop()

    run(scenario())
    blocked = rig.log.of(VenueBlocked)
    assert len(blocked) == 1 and "HTTP 403" in blocked[0].reason and blocked[0].venue == "bybit-testnet"
    rejected = next(e for e in rig.log.of(OrderRejected) if e.client_order_id == "ban-2")
    assert "paused until" in rejected.reason and "403" in rejected.reason
    assert rig.log.of(OrderUnresolved)[0].client_order_id == "ban-1"
    assert set(exchange_orders(fake)) == {"ban-3"}


# --- scenario 11: 110079 on amend -----------------------------------------------------------------
def test_amend_when_110079_then_backs_off_and_retries_until_applied(fake: StreamingFakeBybit, tmp_path: Path) -> None:
    rig = fault_rig(fake, tmp_path, policy=GuardPolicy(busy_backoff_s=0.05))

    async def scenario() -> None:
        await rig.kernel.start()
        await rig.kernel.submit(limit(coid="am-1", price="30000"))
        fake.fail_next(AMEND, 110079, "The order is processing and can not be operated, please try again later", 2)
        started = time.perf_counter()
        await rig.client.amend_order(AmendRequest("am-1", "BTCUSDT", price=Decimal("30100")))
        assert time.perf_counter() - started >= 0.05 + 0.1  # 0.05, then 0.10: backed off
        await rig.kernel.stop()

    run(scenario())
    assert len(fake.requests_to(AMEND)) == 3
    assert exchange_orders(fake)["am-1"]["price"] == "30100"


# --- scenario 19: a key for the wrong environment -------------------------------------------------
def test_start_when_key_is_for_another_environment_then_hard_stop_naming_venue_and_environment(
    fake: StreamingFakeBybit, tmp_path: Path
) -> None:
    rig = fault_rig(fake, tmp_path, api_key="MAINNETKEY00000000001", api_secret="MAINNETSECRET000000000001")

    async def scenario() -> None:
        report = await rig.kernel.start()
        assert report is not None and not report.complete
        sent = len(fake.requests)
        order = await rig.kernel.submit(limit(coid="env-1"))
        assert order.status is OrderStatus.REJECTED
        assert len(fake.requests) == sent, "a hard stop sends nothing more"
        await rig.kernel.stop()

    run(scenario())
    halted = rig.log.of(VenueHalted)
    assert len(halted) == 1
    message = halted[0].reason
    assert "HARD STOP" in message and "bybit-testnet" in message and "10003" in message
    assert "testnet (api-testnet.bybit.com)" in message
    assert "MAINNETKEY" not in message and "MAINNETSECRET" not in message
    assert "HARD STOP on bybit-testnet" in rig.log.of(OrderRejected)[0].reason
    assert not fake.requests_to(CREATE)


# --- scenario 10: a batch that partly fails -------------------------------------------------------
def test_batch_when_some_orders_fail_then_each_is_settled_on_its_own_and_all_were_written_first(
    fake: StreamingFakeBybit, tmp_path: Path
) -> None:
    rig = fault_rig(fake, tmp_path)
    fake.batch_failures["b-2"] = (110007, "Insufficient available balance")

    async def scenario() -> list[OrderStatus]:
        await rig.kernel.start()
        requests = [limit(coid="b-1"), limit(coid="b-2"), limit(qty="0.0001", coid="b-3"), limit(coid="b-4")]
        orders = await rig.kernel.submit_batch(requests)
        await rig.kernel.stop()
        return [o.status for o in orders]

    statuses = run(scenario())
    assert statuses == [OrderStatus.NEW, OrderStatus.REJECTED, OrderStatus.REJECTED, OrderStatus.NEW]
    assert len(fake.requests_to(BATCH)) == 1 and not [r for r in fake.requests if r.path == CREATE]
    assert set(exchange_orders(fake)) == {"b-1", "b-4"}
    ledger = {r.client_order_id: r for r in rig.ledger.orders(venue="bybit-testnet")}
    assert {c: r.status for c, r in ledger.items()} == {
        "b-1": OrderStatus.NEW,
        "b-2": OrderStatus.REJECTED,
        "b-3": OrderStatus.REJECTED,
        "b-4": OrderStatus.NEW,
    }
    reasons = {e.client_order_id: (e.code, e.reason) for e in rig.log.of(OrderRejected)}
    assert reasons["b-2"][0] == 110007 and reasons["b-3"][0] == 10001  # qty off the step: refused by the venue, alone


def test_batch_when_debug_mode_on_then_the_whole_batch_is_denied_and_nothing_is_sent(
    fake: StreamingFakeBybit, tmp_path: Path
) -> None:
    rig = fault_rig(fake, tmp_path, debug=True)

    async def scenario() -> list[OrderStatus]:
        await rig.kernel.start()
        orders = await rig.kernel.submit_batch([limit(coid="d-1"), limit(coid="d-2")])
        with pytest.raises(OrderDeniedError):  # the gate itself, not only the engine path
            await rig.client.place_orders([limit(coid="d-3")])
        await rig.kernel.stop()
        return [o.status for o in orders]

    assert run(scenario()) == [OrderStatus.DENIED, OrderStatus.DENIED]
    assert fake.mutating_requests() == []
    denied = rig.log.of(OrderDenied)
    assert len(denied) == 2 and {d.action for d in denied} == {"place_orders"}
    assert all("debug mode" in d.reason for d in denied)
    assert {r.status for r in rig.ledger.orders(venue="bybit-testnet")} == {OrderStatus.DENIED}


# --- scenario 24: kill switch ---------------------------------------------------------------------
def test_emergency_stop_when_orders_are_open_then_all_cancelled_and_halt_survives_a_restart(
    fake: StreamingFakeBybit, tmp_path: Path
) -> None:
    rig = fault_rig(fake, tmp_path)

    async def first_life() -> None:
        await rig.kernel.start()
        for n in range(3):
            await rig.kernel.submit(limit(coid=f"ks-{n}", price=str(30000 - n * 100)))
        report = await rig.kernel.emergency_stop(rig.gate.kill_switch, "drawdown alarm", by="test")
        assert report.complete and sorted(report.cancelled) == ["ks-0", "ks-1", "ks-2"]
        await rig.kernel.stop()

    run(first_life())
    assert fake.open_orders() == []
    assert rig.gate.kill_switch.trading_state is TradingState.HALTED

    restarted = FaultRig(fake, rig.ledger_file, rig.state_dir)
    creates_before = len(fake.requests_to(CREATE))

    async def second_life() -> OrderStatus:
        await restarted.kernel.start()
        order = await restarted.kernel.submit(limit(coid="after-restart"))
        await restarted.kernel.stop()
        return order.status

    assert restarted.gate.kill_switch.engaged
    assert run(second_life()) is OrderStatus.DENIED
    assert len(fake.requests_to(CREATE)) == creates_before
    assert "kill switch is engaged" in restarted.log.of(OrderDenied)[0].reason
    statuses = {r.client_order_id: r.status for r in restarted.ledger.orders(venue="bybit-testnet")}
    assert statuses == {
        "ks-0": OrderStatus.CANCELLED,
        "ks-1": OrderStatus.CANCELLED,
        "ks-2": OrderStatus.CANCELLED,
        "after-restart": OrderStatus.DENIED,
    }
