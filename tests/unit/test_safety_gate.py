"""SafetyGate rules: what is handed out, what is denied, and why."""

from __future__ import annotations

import asyncio
import inspect
from decimal import Decimal
from pathlib import Path

import pytest

from tests.fakes.bybit_server import DEFAULT_API_KEY, DEFAULT_API_SECRET, FakeBybit
from tests.fixtures.gates import make_gate
from workstation.core.enums import Category, Side, Venue
from workstation.core.errors import ExchangeError, OrderDeniedError
from workstation.core.ids import MAX_CLIENT_ORDER_ID, new_client_order_id
from workstation.core.types import ApiCredentials, OrderRequest
from workstation.exchanges.bybit.client import BybitExecutionClient
from workstation.exchanges.ports import MUTATING_METHODS, READ_METHODS, ExecutionClient
from workstation.safety.gate import GuardedExecutionClient
from workstation.safety.switches import KillSwitch

CREDS = ApiCredentials(api_key=DEFAULT_API_KEY, api_secret=DEFAULT_API_SECRET)


def bybit(fake: FakeBybit, venue: Venue = Venue.BYBIT_TESTNET) -> BybitExecutionClient:
    return BybitExecutionClient(venue, CREDS, base_url=fake.base_url)


def test_protocol_when_inspected_then_every_method_is_classified_mutating_or_read() -> None:
    methods = {n for n, _ in inspect.getmembers(ExecutionClient, inspect.isfunction) if not n.startswith("_")}
    assert methods == MUTATING_METHODS | READ_METHODS
    assert not MUTATING_METHODS & READ_METHODS


def test_guard_when_inspected_then_it_implements_every_protocol_method_explicitly() -> None:
    for name in MUTATING_METHODS | READ_METHODS:
        assert name in GuardedExecutionClient.__dict__, f"{name} would bypass the gate"
    assert "__getattr__" not in GuardedExecutionClient.__dict__


def test_hand_out_when_debug_mode_on_then_the_live_factory_is_never_called(tmp_path: Path) -> None:
    gate, _ = make_gate(tmp_path, debug=True)

    def live() -> ExecutionClient:
        raise AssertionError("debug mode must not build a live client (it would load keys)")

    client = gate.execution_client(Venue.BYBIT_TESTNET, live=live)
    assert client.can_trade is False


def test_hand_out_when_mainnet_not_confirmed_then_client_denies_orders(tmp_path: Path, fake_bybit: FakeBybit) -> None:
    gate, denied = make_gate(tmp_path, debug=False, mainnet_confirmed=False)
    client = gate.execution_client(Venue.BYBIT_MAINNET, live=lambda: bybit(fake_bybit, Venue.BYBIT_MAINNET))
    with pytest.raises(OrderDeniedError, match="needs explicit confirmation"):
        asyncio.run(client.place_order(OrderRequest(new_client_order_id(), "BTCUSDT", Side.BUY, Decimal("0.001"))))
    assert gate.refusal_reason(Venue.BYBIT_MAINNET) is not None
    assert "--confirm-mainnet" in (gate.refusal_reason(Venue.BYBIT_MAINNET) or "")
    assert fake_bybit.mutating_requests() == []
    assert len(denied) == 1


def test_place_when_kill_switch_engaged_then_new_risk_denied_but_reduce_only_passes(
    tmp_path: Path,
    fake_bybit: FakeBybit,
) -> None:
    gate, denied = make_gate(tmp_path)
    client = gate.execution_client(Venue.BYBIT_TESTNET, live=lambda: bybit(fake_bybit))
    gate.kill_switch.engage("drawdown breach", by="test")

    opening = OrderRequest(new_client_order_id(), "BTCUSDT", Side.BUY, Decimal("0.001"))
    closing = OrderRequest(new_client_order_id(), "BTCUSDT", Side.SELL, Decimal("0.001"), reduce_only=True)
    with pytest.raises(OrderDeniedError, match="kill switch is engaged"):
        asyncio.run(client.place_order(opening))
    with pytest.raises(ExchangeError, match="110017"):  # passed the gate; the venue has no position to reduce
        asyncio.run(client.place_order(closing))
    asyncio.run(client.cancel_all_orders(Category.LINEAR, "BTCUSDT"))
    with pytest.raises(OrderDeniedError):
        asyncio.run(client.set_leverage("BTCUSDT", Decimal(5), Category.LINEAR))

    sent = [r.params.get("orderLinkId") for r in fake_bybit.requests_to("/v5/order/create")]
    assert sent == [closing.client_order_id]
    assert [d.action for d in denied] == ["place_order", "set_leverage"]


def test_kill_switch_when_engaged_then_it_survives_a_restart_until_cleared(tmp_path: Path) -> None:
    path = tmp_path / "safety.json"
    KillSwitch(path).engage("manual stop", by="test")
    restarted = KillSwitch(path)
    assert restarted.engaged and "manual stop" in restarted.describe()
    restarted.clear(by="test")
    assert not KillSwitch(path).engaged


def test_kill_switch_when_state_file_is_corrupt_then_it_fails_safe_as_engaged(tmp_path: Path) -> None:
    path = tmp_path / "safety.json"
    path.write_text("{not json")
    assert KillSwitch(path).engaged


def test_client_order_id_when_generated_then_unique_and_within_bybit_limit() -> None:
    ids = {new_client_order_id() for _ in range(2000)}
    assert len(ids) == 2000
    assert max(len(i) for i in ids) <= MAX_CLIENT_ORDER_ID
