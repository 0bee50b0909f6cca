"""Money safety, end to end: in debug mode no order request reaches a Bybit endpoint.

pybit talks real HTTP to a local fake Bybit V5 server; the fake records every request, so
"zero requests" is observed at the exchange, not inferred from our own code.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

import pytest

from tests.fakes.bybit_server import DEFAULT_API_KEY, DEFAULT_API_SECRET, FakeBybit
from tests.fixtures.gates import make_gate
from workstation.core.enums import Category, OrderType, Side, Venue
from workstation.core.errors import OrderDeniedError
from workstation.core.events import OrderDenied
from workstation.core.ids import new_client_order_id
from workstation.core.types import AmendRequest, ApiCredentials, OrderRequest
from workstation.exchanges.bybit.client import BybitExecutionClient
from workstation.exchanges.ports import MUTATING_METHODS, OPTIONAL_MUTATING_METHODS
from workstation.safety.gate import GuardedExecutionClient, SafetyGate

CREDS = ApiCredentials(api_key=DEFAULT_API_KEY, api_secret=DEFAULT_API_SECRET)


def _gate(tmp_path: Path, *, debug: bool) -> tuple[SafetyGate, list[OrderDenied]]:
    return make_gate(tmp_path, debug=debug, allowed_venues=(Venue.PAPER, Venue.BYBIT_TESTNET))


def _client(gate: SafetyGate, fake: FakeBybit) -> GuardedExecutionClient:
    return gate.execution_client(
        Venue.BYBIT_TESTNET,
        live=lambda: BybitExecutionClient(Venue.BYBIT_TESTNET, CREDS, base_url=fake.base_url),
        keyless=lambda: BybitExecutionClient(Venue.BYBIT_TESTNET, None, base_url=fake.base_url),
    )


async def _call_every_mutating_method(client: GuardedExecutionClient) -> dict[str, Exception | object]:
    coid = new_client_order_id()
    calls = {
        "place_order": lambda: client.place_order(
            OrderRequest(coid, "BTCUSDT", Side.BUY, Decimal("0.001"), OrderType.LIMIT, price=Decimal("20000"))
        ),
        "amend_order": lambda: client.amend_order(AmendRequest(coid, "BTCUSDT", price=Decimal("20001"))),
        "cancel_order": lambda: client.cancel_order("BTCUSDT", coid, Category.LINEAR),
        "cancel_all_orders": lambda: client.cancel_all_orders(Category.LINEAR, "BTCUSDT"),
        "close_position": lambda: client.close_position("BTCUSDT", Category.LINEAR),
        "set_leverage": lambda: client.set_leverage("BTCUSDT", Decimal("2"), Category.LINEAR),
        "transfer": lambda: client.transfer("USDT", Decimal("1"), "UNIFIED", "FUND"),
        "place_orders": lambda: client.place_orders(
            [
                OrderRequest(
                    new_client_order_id(),
                    "BTCUSDT",
                    Side.BUY,
                    Decimal("0.001"),
                    OrderType.LIMIT,
                    price=Decimal("20000"),
                )
            ]
        ),
        "set_trading_stop": lambda: client.set_trading_stop("BTCUSDT", Category.LINEAR, stop_loss=Decimal("19000")),
    }
    assert set(calls) == MUTATING_METHODS | OPTIONAL_MUTATING_METHODS, "a mutating method is not exercised by this test"
    outcomes: dict[str, Exception | object] = {}
    for name, call in calls.items():
        try:
            outcomes[name] = await call()
        except Exception as exc:
            outcomes[name] = exc
    return outcomes


def test_every_mutating_call_when_debug_mode_on_then_zero_requests_reach_the_exchange(
    tmp_path: Path,
    fake_bybit: FakeBybit,
) -> None:
    gate, denied = _gate(tmp_path, debug=True)
    client = _client(gate, fake_bybit)
    outcomes = asyncio.run(_call_every_mutating_method(client))

    assert all(isinstance(o, OrderDeniedError) for o in outcomes.values()), outcomes
    assert fake_bybit.mutating_requests() == []
    assert {e.action for e in denied} == MUTATING_METHODS | OPTIONAL_MUTATING_METHODS
    assert all("debug mode is on" in e.reason for e in denied)


def test_reads_when_debug_mode_on_then_they_reach_the_exchange_without_keys(
    tmp_path: Path,
    fake_bybit: FakeBybit,
) -> None:
    gate, _ = _gate(tmp_path, debug=True)
    client = _client(gate, fake_bybit)
    server_ms = asyncio.run(client.server_time_ms())
    assert server_ms > 0
    assert all(not r.has_auth for r in fake_bybit.requests), "debug mode must never sign with a key"


def test_every_mutating_call_when_debug_mode_off_then_requests_do_reach_the_exchange(
    tmp_path: Path,
    fake_bybit: FakeBybit,
) -> None:
    """The control: the same calls with debug mode off arrive, so the zero above means something."""
    gate, denied = _gate(tmp_path, debug=False)
    client = _client(gate, fake_bybit)
    asyncio.run(_call_every_mutating_method(client))
    assert denied == []
    paths = {r.path for r in fake_bybit.mutating_requests()}
    assert {
        "/v5/order/create",
        "/v5/order/create-batch",
        "/v5/order/amend",
        "/v5/order/cancel",
        "/v5/position/set-leverage",
        "/v5/position/trading-stop",
    } <= paths


def test_order_in_flight_when_debug_mode_switched_on_then_it_is_blocked(
    tmp_path: Path,
    fake_bybit: FakeBybit,
) -> None:
    gate, denied = _gate(tmp_path, debug=False)
    client = _client(gate, fake_bybit)
    request = OrderRequest(new_client_order_id(), "BTCUSDT", Side.BUY, Decimal("0.001"))

    async def scenario() -> None:
        # The strategy decided to trade; before the order is sent, the user flips debug mode on.
        pending = asyncio.ensure_future(client.place_order(request))
        gate.debug_switch.set(True, source="test")
        with pytest.raises(OrderDeniedError):
            await pending

    asyncio.run(scenario())
    assert fake_bybit.mutating_requests() == []
    assert [e.client_order_id for e in denied] == [request.client_order_id]
