"""Scenario 4 for ccxt: debug mode blocks every mutating path, observed at the fake exchange.

Two walls: the SafetyGate denies every mutating ExecutionClient call, and the ccxt exchange
object the client holds refuses any non-GET request while debug mode is on, so unified
(create/edit/batch/cancel) and implicit (privatePostV5OrderCreate) methods called on it directly
send nothing either. The controls run the same calls with debug mode off and see them arrive.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.bybit_server import DEFAULT_API_KEY, DEFAULT_API_SECRET, FakeBybit
from tests.fixtures.gates import make_gate
from workstation.core.enums import Category, OrderType, Side, Venue
from workstation.core.errors import OrderDeniedError
from workstation.core.ids import new_client_order_id
from workstation.core.types import AmendRequest, ApiCredentials, OrderRequest
from workstation.exchanges.ccxt.client import CcxtExecutionClient
from workstation.exchanges.ccxt.guard import debug_refusal
from workstation.exchanges.ports import MUTATING_METHODS
from workstation.safety.gate import GuardedExecutionClient, SafetyGate
from workstation.safety.switches import DebugSwitch

CREDS = ApiCredentials(api_key=DEFAULT_API_KEY, api_secret=DEFAULT_API_SECRET)
SYMBOL = "BTC/USDT:USDT"
Call = Callable[[Any], Awaitable[object]]

# Every way into ccxt that mutates, called on the exchange object itself.
EXCHANGE_CALLS: dict[str, tuple[str, Call]] = {
    "create_order": (
        "/v5/order/create",
        lambda ex: ex.create_order(SYMBOL, "limit", "buy", 0.001, 20000, {"clientOrderId": "dbg-1"}),
    ),
    "edit_order": (
        "/v5/order/amend",
        lambda ex: ex.edit_order(None, SYMBOL, "limit", "buy", None, 20001, {"orderLinkId": "dbg-1"}),
    ),
    "create_orders": (
        "/v5/order/create-batch",
        lambda ex: ex.create_orders(
            [{"symbol": SYMBOL, "type": "limit", "side": "buy", "amount": 0.001, "price": 20000}]
        ),
    ),
    "cancel_order": ("/v5/order/cancel", lambda ex: ex.cancel_order(None, SYMBOL, {"orderLinkId": "dbg-1"})),
    "cancel_all_orders": ("/v5/order/cancel-all", lambda ex: ex.cancel_all_orders(SYMBOL)),
    "set_leverage": ("/v5/position/set-leverage", lambda ex: ex.set_leverage(2, SYMBOL)),
    "transfer": ("/v5/asset/transfer/inter-transfer", lambda ex: ex.transfer("USDT", 1, "unified", "funding")),
    "privatePostV5OrderCreate (implicit)": (
        "/v5/order/create",
        lambda ex: ex.privatePostV5OrderCreate(
            {
                "category": "linear",
                "symbol": "BTCUSDT",
                "side": "Buy",
                "orderType": "Market",
                "qty": "0.001",
                "orderLinkId": "dbg-2",
            }
        ),
    ),
    "private_post_v5_order_cancel_all (implicit)": (
        "/v5/order/cancel-all",
        lambda ex: ex.private_post_v5_order_cancel_all({"category": "linear", "settleCoin": "USDT"}),
    ),
    "fetch (raw POST, under ccxt's rate limiter and signing)": (
        "/v5/order/cancel-all",
        lambda ex: ex.fetch(ex.urls["api"]["private"] + "/v5/order/cancel-all", "POST", {}, "{}"),
    ),
}


async def _call_each_on_the_exchange(client: CcxtExecutionClient) -> dict[str, object]:
    await client.exchange.load_markets()
    outcomes: dict[str, object] = {}
    for name, (_, call) in EXCHANGE_CALLS.items():
        try:
            outcomes[name] = await call(client.exchange)
        except Exception as exc:
            outcomes[name] = exc
    return outcomes


def _ccxt_client(fake: FakeBybit, switch: DebugSwitch, creds: ApiCredentials | None = CREDS) -> CcxtExecutionClient:
    return CcxtExecutionClient(
        "bybit", creds, refuse_mutations=debug_refusal(switch), base_url=fake.base_url, enable_rate_limit=False
    )


def _run_on_exchange(fake: FakeBybit, switch: DebugSwitch) -> dict[str, object]:
    async def main() -> dict[str, object]:
        client = _ccxt_client(fake, switch)
        try:
            return await _call_each_on_the_exchange(client)
        finally:
            await client.close()

    return asyncio.run(main())


def test_ccxt_mutating_calls_on_the_exchange_object_when_debug_mode_on_then_zero_requests_reach_the_fake(
    fake_bybit: FakeBybit,
) -> None:
    outcomes = _run_on_exchange(fake_bybit, DebugSwitch(True))

    denied = {name: o for name, o in outcomes.items() if isinstance(o, OrderDeniedError)}
    assert set(denied) == set(EXCHANGE_CALLS), outcomes
    assert all("debug mode is on" in str(o) for o in denied.values())
    assert fake_bybit.mutating_requests() == []
    assert [r for r in fake_bybit.requests if r.method != "GET"] == []


def test_ccxt_mutating_calls_on_the_exchange_object_when_debug_mode_off_then_each_reaches_the_fake(
    fake_bybit: FakeBybit,
) -> None:
    """The control: the same calls arrive when debug mode is off, so the zero above means something."""
    outcomes = _run_on_exchange(fake_bybit, DebugSwitch(False))

    assert not any(isinstance(o, OrderDeniedError) for o in outcomes.values()), outcomes
    reached = {r.path for r in fake_bybit.requests if r.method == "POST"}
    assert {path for path, _ in EXCHANGE_CALLS.values()} <= reached


def test_ccxt_exchange_object_when_debug_mode_flips_on_at_run_time_then_the_next_create_is_refused(
    fake_bybit: FakeBybit,
) -> None:
    switch = DebugSwitch(False)
    create = EXCHANGE_CALLS["privatePostV5OrderCreate (implicit)"][1]

    async def main() -> None:
        client = _ccxt_client(fake_bybit, switch)
        try:
            await create(client.exchange)
            switch.set(True, source="test")
            with pytest.raises(OrderDeniedError):
                await create(client.exchange)
            # Reads still work in debug mode.
            assert await client.server_time_ms() > 0
        finally:
            await client.close()

    asyncio.run(main())
    assert len(fake_bybit.requests_to("/v5/order/create")) == 1


# --- through the SafetyGate -----------------------------------------------------------------


def _guarded(gate: SafetyGate, fake: FakeBybit) -> GuardedExecutionClient:
    switch = gate.debug_switch
    return gate.execution_client(
        Venue.BYBIT_TESTNET,
        live=lambda: _ccxt_client(fake, switch),
        keyless=lambda: _ccxt_client(fake, switch, creds=None),
    )


async def _call_every_mutating_method(client: GuardedExecutionClient) -> dict[str, object]:
    coid = new_client_order_id()
    order = OrderRequest(coid, "BTCUSDT", Side.BUY, Decimal("0.001"), OrderType.LIMIT, price=Decimal("20000"))
    calls: dict[str, Callable[[], Awaitable[object]]] = {
        "place_order": lambda: client.place_order(order),
        "amend_order": lambda: client.amend_order(AmendRequest(coid, "BTCUSDT", price=Decimal("20001"))),
        "cancel_order": lambda: client.cancel_order("BTCUSDT", coid, Category.LINEAR),
        "cancel_all_orders": lambda: client.cancel_all_orders(Category.LINEAR, "BTCUSDT"),
        "close_position": lambda: client.close_position("BTCUSDT", Category.LINEAR),
        "set_leverage": lambda: client.set_leverage("BTCUSDT", Decimal("2"), Category.LINEAR),
        "transfer": lambda: client.transfer("USDT", Decimal("1"), "UNIFIED", "FUND"),
        "place_orders": lambda: client.place_orders([order]),
    }
    assert MUTATING_METHODS <= set(calls), "a mutating method is not exercised by this test"
    outcomes: dict[str, object] = {}
    for name, call in calls.items():
        try:
            outcomes[name] = await call()
        except Exception as exc:
            outcomes[name] = exc
    inner = getattr(client, "_inner", None)
    if inner is not None:
        await inner.close()
    return outcomes


def test_every_gated_ccxt_call_when_debug_mode_on_then_denied_and_zero_requests_reach_the_fake(
    tmp_path: Path, fake_bybit: FakeBybit
) -> None:
    gate, denied = make_gate(tmp_path, debug=True, allowed_venues=(Venue.PAPER, Venue.BYBIT_TESTNET))
    outcomes = asyncio.run(_call_every_mutating_method(_guarded(gate, fake_bybit)))

    assert all(isinstance(o, OrderDeniedError) for o in outcomes.values()), outcomes
    assert {e.action for e in denied} == MUTATING_METHODS | {"place_orders"}
    assert fake_bybit.requests == []


def test_every_gated_ccxt_call_when_debug_mode_off_then_requests_reach_the_fake(
    tmp_path: Path, fake_bybit: FakeBybit
) -> None:
    gate, denied = make_gate(tmp_path, debug=False, allowed_venues=(Venue.PAPER, Venue.BYBIT_TESTNET))
    asyncio.run(_call_every_mutating_method(_guarded(gate, fake_bybit)))

    assert denied == []
    paths = {r.path for r in fake_bybit.mutating_requests()}
    assert {"/v5/order/create", "/v5/order/amend", "/v5/order/cancel", "/v5/position/set-leverage"} <= paths
