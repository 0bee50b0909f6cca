"""CcxtExecutionClient: real ccxt (async bybit) over real HTTP against FakeBybit."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import TypeVar

import pytest

from tests.fakes.bybit_server import DEFAULT_API_KEY, DEFAULT_API_SECRET, FakeBybit
from workstation.core.enums import Category, OrderStatus, OrderType, Side
from workstation.core.errors import ExchangeError, ExchangeUnavailable
from workstation.core.ids import new_client_order_id
from workstation.core.types import AmendRequest, ApiCredentials, OrderRequest
from workstation.exchanges.bybit.errors import VenueBlockedError, VenueHaltedError
from workstation.exchanges.bybit.guard import GuardPolicy, VenueGuard
from workstation.exchanges.ccxt.client import CcxtExecutionClient
from workstation.exchanges.ccxt.errors import CLOCK_SKEW, ClockSkewError
from workstation.exchanges.ccxt.guard import never_refuse
from workstation.exchanges.ports import MUTATING_METHODS, READ_METHODS, ExecutionClient

CREDS = ApiCredentials(api_key=DEFAULT_API_KEY, api_secret=DEFAULT_API_SECRET)
T = TypeVar("T")


def _run(fake: FakeBybit, scenario: Callable[[CcxtExecutionClient], Awaitable[T]], **kwargs: object) -> T:
    async def main() -> T:
        client = CcxtExecutionClient(
            "bybit",
            kwargs.pop("creds", CREDS),
            refuse_mutations=never_refuse,
            base_url=fake.base_url,
            enable_rate_limit=False,
            **kwargs,
        )  # type: ignore[arg-type]
        try:
            return await scenario(client)
        finally:
            await client.close()

    return asyncio.run(main())


def _limit(coid: str, price: str = "20000") -> OrderRequest:
    return OrderRequest(coid, "BTCUSDT", Side.BUY, Decimal("0.001"), OrderType.LIMIT, price=Decimal(price))


def test_client_when_built_then_it_implements_the_port_and_never_retries_on_failure(fake_bybit: FakeBybit) -> None:
    async def scenario(client: CcxtExecutionClient) -> None:
        assert isinstance(client, ExecutionClient)
        for name in MUTATING_METHODS | READ_METHODS:
            assert callable(getattr(client, name)), name
        assert client.exchange.options["maxRetriesOnFailure"] == 0
        assert logging.getLogger("ccxt").getEffectiveLevel() >= logging.INFO

    _run(fake_bybit, scenario)


def test_place_order_when_accepted_then_client_order_id_is_the_order_link_id_and_the_order_is_found(
    fake_bybit: FakeBybit,
) -> None:
    coid = new_client_order_id()

    async def scenario(client: CcxtExecutionClient) -> None:
        ack = await client.place_order(_limit(coid))
        assert ack.status is OrderStatus.NEW and ack.venue_order_id
        order = await client.fetch_order(Category.LINEAR, coid)
        assert order is not None and order.symbol == "BTCUSDT" and order.price == Decimal("20000")
        assert order.qty == Decimal("0.001") and order.side is Side.BUY and order.status is OrderStatus.NEW
        assert [o.client_order_id for o in await client.fetch_open_orders(Category.LINEAR)] == [coid]
        await client.amend_order(AmendRequest(coid, "BTCUSDT", price=Decimal("20001")))
        assert fake_bybit.order(coid)["price"] == "20001"  # type: ignore[index]
        ack = await client.cancel_order("BTCUSDT", coid, Category.LINEAR)
        assert ack.status is OrderStatus.CANCELLED
        cancelled = await client.fetch_order(Category.LINEAR, coid)
        assert cancelled is not None and cancelled.status is OrderStatus.CANCELLED
        assert await client.fetch_order(Category.LINEAR, "never-sent") is None

    _run(fake_bybit, scenario)
    (create,) = fake_bybit.requests_to("/v5/order/create")
    assert create.params["orderLinkId"] == coid and create.params["qty"] == "0.001"


def test_place_order_when_resent_with_the_same_id_then_110072_resolves_to_the_existing_order(
    fake_bybit: FakeBybit,
) -> None:
    coid = new_client_order_id()

    async def scenario(client: CcxtExecutionClient) -> None:
        first = await client.place_order(_limit(coid))
        again = await client.place_order(_limit(coid))
        assert again.message == "already exists" and again.venue_order_id == first.venue_order_id

    _run(fake_bybit, scenario)
    assert len(fake_bybit.requests_to("/v5/order/create")) == 2
    assert len(fake_bybit.open_orders()) == 1


def test_place_order_when_the_response_times_out_then_unavailable_sent_once_and_resolved_by_lookup(
    fake_bybit: FakeBybit,
) -> None:
    coid = new_client_order_id()
    fake_bybit.delay_next("/v5/order/create", 1.2)

    async def scenario(client: CcxtExecutionClient) -> None:
        with pytest.raises(ExchangeUnavailable, match="may still have taken effect") as caught:
            await client.place_order(_limit(coid))
        assert caught.value.__context__ is None and caught.value.__cause__ is None
        await asyncio.sleep(1.0)  # the fake finishes the accepted create
        order = await client.fetch_order(Category.LINEAR, coid)
        assert order is not None and order.status is OrderStatus.NEW

    _run(fake_bybit, scenario, timeout_s=0.4)
    assert len(fake_bybit.requests_to("/v5/order/create")) == 1, "a signed create must never be resent blindly"


def test_place_order_when_insufficient_funds_then_clear_exchange_error_with_the_code(fake_bybit: FakeBybit) -> None:
    fake_bybit.fail_next("/v5/order/create", 110007, "ab not enough for new order")

    async def scenario(client: CcxtExecutionClient) -> None:
        with pytest.raises(ExchangeError, match="insufficient funds") as caught:
            await client.place_order(_limit(new_client_order_id()))
        assert caught.value.code == 110007 and not isinstance(caught.value, ExchangeUnavailable)

    _run(fake_bybit, scenario)


def test_call_when_the_clock_is_skewed_then_clock_skew_error_and_an_offset_fixes_it(fake_bybit: FakeBybit) -> None:
    fake_bybit.set_clock_offset_ms(20_000)

    async def scenario(client: CcxtExecutionClient) -> None:
        with pytest.raises(ClockSkewError, match="clock skew") as caught:
            await client.fetch_balances()
        assert caught.value.code == CLOCK_SKEW
        client.set_clock_offset_ms(await client.server_time_ms() - time.time_ns() // 1_000_000)
        balances = await client.fetch_balances()
        assert any(b.coin == "USDT" for b in balances)

    _run(fake_bybit, scenario)


def test_call_when_the_exchange_answers_503_then_exchange_unavailable(fake_bybit: FakeBybit) -> None:
    fake_bybit.http_status_next("/v5/account/wallet-balance", 503)

    async def scenario(client: CcxtExecutionClient) -> None:
        with pytest.raises(ExchangeUnavailable, match="unreachable"):
            await client.fetch_balances()

    _run(fake_bybit, scenario)
    assert len(fake_bybit.requests_to("/v5/account/wallet-balance")) == 1


def test_call_when_the_signature_is_rejected_then_the_message_holds_no_key_or_secret(fake_bybit: FakeBybit) -> None:
    wrong = ApiCredentials(api_key=DEFAULT_API_KEY, api_secret="WRONGSECRET0000000000000000000000000")

    async def scenario(client: CcxtExecutionClient) -> None:
        with pytest.raises(ExchangeError) as caught:
            await client.place_order(_limit(new_client_order_id()))
        text = f"{caught.value} {caught.value!r}"
        assert caught.value.code == 10004 and "refused" in text
        assert DEFAULT_API_KEY not in text and wrong.api_secret not in text
        assert caught.value.__context__ is None and caught.value.__cause__ is None

    _run(fake_bybit, scenario, creds=wrong)


def test_account_calls_when_a_position_is_open_then_positions_fills_and_close_position_work(
    fake_bybit: FakeBybit,
) -> None:
    coid = new_client_order_id()

    async def scenario(client: CcxtExecutionClient) -> None:
        await client.set_leverage("BTCUSDT", Decimal("3"), Category.LINEAR)
        fake_bybit.fail_next("/v5/position/set-leverage", 110043, "Set leverage not modified")
        await client.set_leverage("BTCUSDT", Decimal("3"), Category.LINEAR)  # 110043 = already there
        await client.place_order(_limit(coid))
        fake_bybit.fill_order(coid, "20000", "0.001")
        (position,) = [p for p in await client.fetch_positions(Category.LINEAR) if p.side is not None]
        assert position.symbol == "BTCUSDT" and position.side is Side.BUY and position.size == Decimal("0.001")
        fills = await client.fetch_executions(Category.LINEAR, "BTCUSDT")
        assert [(f.client_order_id, f.qty, f.price) for f in fills] == [(coid, Decimal("0.001"), Decimal("20000"))]
        ack = await client.close_position("BTCUSDT", Category.LINEAR)
        assert ack is not None
        transfer_id = await client.transfer("USDT", Decimal("1"), "UNIFIED", "FUND", transfer_id="t-1")
        assert transfer_id
        cancelled = await client.cancel_all_orders(Category.LINEAR)  # the close order rests on the fake
        assert [a.client_order_id for a in cancelled] == [ack.client_order_id]

    _run(fake_bybit, scenario)
    (close,) = [r for r in fake_bybit.requests_to("/v5/order/create") if r.params.get("reduceOnly")]
    assert close.params["side"] == "Sell" and close.params["orderType"] == "Market"


def _recording_guard(waits: list[float]) -> VenueGuard:
    async def sleep(seconds: float) -> None:  # the guard's waits, recorded (and not slept through)
        waits.append(seconds)

    return VenueGuard("ccxt:bybit", policy=GuardPolicy(ban_s=600), sleep=sleep)


def test_place_order_when_rate_limited_10006_then_the_venue_guard_waits_and_resends_the_same_id(
    fake_bybit: FakeBybit,
) -> None:
    fake_bybit.fail_next("/v5/order/create", 10006, "Too many visits!")
    waits: list[float] = []
    coid = new_client_order_id()

    async def scenario(client: CcxtExecutionClient) -> None:
        ack = await client.place_order(_limit(coid))
        assert ack.client_order_id == coid

    _run(fake_bybit, scenario, guard=_recording_guard(waits))
    assert waits and all(w > 0 for w in waits)  # backed off on the loop before the resend
    assert [r.params["orderLinkId"] for r in fake_bybit.requests_to("/v5/order/create")] == [coid, coid]
    assert fake_bybit.order(coid) is not None and len(fake_bybit.open_orders()) == 1


def test_call_when_http_403_then_the_venue_guard_stops_all_traffic_for_the_ban_window(fake_bybit: FakeBybit) -> None:
    fake_bybit.http_status_next("/v5/account/wallet-balance", 403)

    async def scenario(client: CcxtExecutionClient) -> None:
        with pytest.raises(ExchangeUnavailable, match="403"):
            await client.fetch_balances()
        sent = len(fake_bybit.requests)
        with pytest.raises(VenueBlockedError, match="paused until"):
            await client.place_order(_limit(new_client_order_id()))
        with pytest.raises(VenueBlockedError):
            await client.fetch_positions(Category.LINEAR)
        assert len(fake_bybit.requests) == sent  # nothing left the process during the ban

    _run(fake_bybit, scenario, guard=_recording_guard([]))
    assert fake_bybit.requests_to("/v5/order/create") == []


def test_call_when_10003_key_for_another_environment_then_hard_stop_and_nothing_more_is_sent(
    fake_bybit: FakeBybit,
) -> None:
    fake_bybit.fail_next("/v5/account/wallet-balance", 10003, "API key is invalid.")

    async def scenario(client: CcxtExecutionClient) -> None:
        with pytest.raises(VenueHaltedError, match="HARD STOP"):
            await client.fetch_balances()
        with pytest.raises(VenueHaltedError):
            await client.place_order(_limit(new_client_order_id()))

    _run(fake_bybit, scenario, guard=_recording_guard([]))
    assert fake_bybit.requests_to("/v5/order/create") == []
