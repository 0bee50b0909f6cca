"""Moving a live position's stop-loss / take-profit goes through the one order path: the gated
client re-checks debug mode and the kill switch, and only then does the Bybit client POST
/v5/position/trading-stop (pybit over real HTTP to the fake Bybit V5 server, which records it)."""

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
from workstation.core.types import ApiCredentials, OrderRequest
from workstation.exchanges.bybit.client import BybitExecutionClient
from workstation.safety.gate import GuardedExecutionClient, SafetyGate

CREDS = ApiCredentials(api_key=DEFAULT_API_KEY, api_secret=DEFAULT_API_SECRET)
LINEAR = Category.LINEAR
TRADING_STOP = "/v5/position/trading-stop"


def gated(
    tmp_path: Path, fake: FakeBybit, *, debug: bool
) -> tuple[SafetyGate, GuardedExecutionClient, list[OrderDenied]]:
    gate, denied = make_gate(tmp_path, debug=debug, allowed_venues=(Venue.BYBIT_TESTNET,))
    client = gate.execution_client(
        Venue.BYBIT_TESTNET,
        live=lambda: BybitExecutionClient(Venue.BYBIT_TESTNET, CREDS, base_url=fake.base_url),
        keyless=lambda: BybitExecutionClient(Venue.BYBIT_TESTNET, None, base_url=fake.base_url),
    )
    return gate, client, denied


def open_long(client: GuardedExecutionClient, fake: FakeBybit) -> None:
    request = OrderRequest("oa-long", "BTCUSDT", Side.BUY, Decimal("0.02"), OrderType.LIMIT, price=Decimal("30000"))
    asyncio.run(client.place_order(request))
    fake.fill_order("oa-long", "30000", "0.02")
    fake.set_mark_price("BTCUSDT", "30500")


def test_set_trading_stop_when_debug_mode_on_then_denied_shown_and_zero_requests(
    tmp_path: Path, fake_bybit: FakeBybit
) -> None:
    _, client, denied = gated(tmp_path, fake_bybit, debug=True)
    with pytest.raises(OrderDeniedError, match="debug mode"):
        asyncio.run(client.set_trading_stop("BTCUSDT", LINEAR, Decimal("29000"), Decimal("33000")))
    assert [(d.action, d.symbol) for d in denied] == [("set_trading_stop", "BTCUSDT")]
    assert fake_bybit.requests_to(TRADING_STOP) == [] and fake_bybit.mutating_requests() == []
    assert fake_bybit.exchange.trading_stops == []


def test_set_trading_stop_when_debug_mode_off_then_the_venue_records_the_moved_stop(
    tmp_path: Path, fake_bybit: FakeBybit
) -> None:
    _, client, denied = gated(tmp_path, fake_bybit, debug=False)
    open_long(client, fake_bybit)

    asyncio.run(client.set_trading_stop("BTCUSDT", LINEAR, Decimal("29000.50"), Decimal("33000")))
    asyncio.run(client.set_trading_stop("BTCUSDT", LINEAR, None, Decimal("34000")))  # TP only: SL stays
    asyncio.run(client.set_trading_stop("BTCUSDT", LINEAR, None, Decimal("34000")))  # not modified: no error

    first, second, third = fake_bybit.requests_to(TRADING_STOP)
    assert first.method == "POST" and first.has_auth and first.api_key == DEFAULT_API_KEY
    assert first.params == {
        "category": "linear",
        "symbol": "BTCUSDT",
        "tpslMode": "Full",
        "positionIdx": 0,
        "stopLoss": "29000.5",
        "takeProfit": "33000",
    }
    assert "stopLoss" not in second.params and second.params["takeProfit"] == "34000"
    assert third.params == second.params
    accepted = [(r.get("stopLoss"), r.get("takeProfit")) for r in fake_bybit.exchange.trading_stops]
    assert accepted == [("29000.5", "33000"), (None, "34000")]  # the unchanged third one: 34040, not recorded
    position = fake_bybit.exchange.position("linear", "BTCUSDT")
    assert (position["stopLoss"], position["takeProfit"]) == ("29000.5", "34000")
    assert denied == []


def test_set_trading_stop_when_stop_removed_then_zero_is_sent_and_the_leg_cleared(
    tmp_path: Path, fake_bybit: FakeBybit
) -> None:
    _, client, _ = gated(tmp_path, fake_bybit, debug=False)
    open_long(client, fake_bybit)
    asyncio.run(client.set_trading_stop("BTCUSDT", LINEAR, Decimal("29000"), None))
    asyncio.run(client.set_trading_stop("BTCUSDT", LINEAR, Decimal("0"), None))
    assert fake_bybit.requests_to(TRADING_STOP)[-1].params["stopLoss"] == "0"
    assert fake_bybit.exchange.position("linear", "BTCUSDT")["stopLoss"] == ""


def test_set_trading_stop_when_kill_switch_engaged_then_denied_and_zero_requests(
    tmp_path: Path, fake_bybit: FakeBybit
) -> None:
    gate, client, denied = gated(tmp_path, fake_bybit, debug=False)
    open_long(client, fake_bybit)
    gate.kill_switch.engage("test", "pytest")
    fake_bybit.reset_log()
    with pytest.raises(OrderDeniedError, match="kill switch"):
        asyncio.run(client.set_trading_stop("BTCUSDT", LINEAR, Decimal("30400"), None))
    assert [d.action for d in denied] == ["set_trading_stop"]
    assert fake_bybit.requests_to(TRADING_STOP) == []
    asyncio.run(client.close_position("BTCUSDT", LINEAR))  # the risk-reducing action still passes
    assert len(fake_bybit.requests_to("/v5/order/create")) == 1
