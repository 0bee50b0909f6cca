"""BybitExecutionClient against FakeBybit: pybit speaks real HTTP, nothing is mocked."""

from __future__ import annotations

import asyncio
import logging
import time
import traceback
from collections.abc import Coroutine, Iterator
from decimal import Decimal
from typing import Any, TypeVar

import pytest

from tests.fakes.bybit_server import FakeBybit
from workstation.core.enums import Category, OrderStatus, OrderType, Side, Venue
from workstation.core.errors import ExchangeError, ExchangeUnavailable
from workstation.core.types import AmendRequest, ApiCredentials, OrderRequest
from workstation.exchanges.bybit import (
    BybitExecutionClient,
    BybitHttpError,
    BybitRateLimited,
    fetch_server_time_ms,
)
from workstation.exchanges.bybit.guard import GuardPolicy
from workstation.exchanges.ports import MUTATING_METHODS, READ_METHODS, ExecutionClient

T = TypeVar("T")
LINEAR = Category.LINEAR


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def make_client(
    fake: FakeBybit, secret: str | None = None, key: str | None = None, **kwargs: Any
) -> BybitExecutionClient:
    credentials = ApiCredentials(key or fake.api_key, secret or fake.api_secret)
    kwargs.setdefault("timeout_s", 3.0)
    return BybitExecutionClient(Venue.BYBIT_TESTNET, credentials, base_url=fake.base_url, **kwargs)


@pytest.fixture
def fake() -> Iterator[FakeBybit]:
    with FakeBybit() as server:
        yield server


@pytest.fixture
def client(fake: FakeBybit) -> Iterator[BybitExecutionClient]:
    bybit = make_client(fake)
    yield bybit
    run(bybit.close())


def limit_buy(coid: str, qty: str = "0.01", price: str = "30000", symbol: str = "BTCUSDT") -> OrderRequest:
    return OrderRequest(coid, symbol, Side.BUY, Decimal(qty), OrderType.LIMIT, price=Decimal(price))


# --- shape ------------------------------------------------------------------------------------
def test_client_when_built_then_implements_every_port_method(client: BybitExecutionClient) -> None:
    assert isinstance(client, ExecutionClient)
    for name in MUTATING_METHODS | READ_METHODS:
        assert asyncio.iscoroutinefunction(getattr(client, name)), name
    assert client.venue == "bybit-testnet"


def test_client_when_venue_is_paper_then_value_error() -> None:
    with pytest.raises(ValueError, match="not a Bybit venue"):
        BybitExecutionClient(Venue.PAPER, None)


def test_client_when_no_base_url_then_venue_picks_host() -> None:
    hosts = {
        Venue.BYBIT_TESTNET: "https://api-testnet.bybit.com",
        Venue.BYBIT_DEMO: "https://api-demo.bybit.com",
        Venue.BYBIT_MAINNET: "https://api.bybit.com",
    }
    for venue, host in hosts.items():
        bybit = BybitExecutionClient(venue, None)
        assert bybit.endpoint == host
        run(bybit.close())


# --- signing and clock ------------------------------------------------------------------------
def test_place_order_when_signed_with_right_secret_then_order_rests_as_new(
    client: BybitExecutionClient,
    fake: FakeBybit,
) -> None:
    ack = run(client.place_order(limit_buy("oa-1")))

    assert ack.client_order_id == "oa-1" and ack.status is OrderStatus.NEW and ack.venue_order_id
    sent = fake.requests_to("/v5/order/create")[0]
    assert sent.has_auth and sent.params["qty"] == "0.01" and sent.params["price"] == "30000"
    assert [r.path for r in fake.mutating_requests()] == ["/v5/order/create"]
    assert run(client.fetch_order(LINEAR, "oa-1")).status is OrderStatus.NEW  # type: ignore[union-attr]


def test_call_when_secret_is_wrong_then_exchange_error_10004_without_key_or_secret(
    fake: FakeBybit,
) -> None:
    bybit = make_client(fake, secret="WRONGSECRET-canary-7f3a")
    with pytest.raises(ExchangeError) as info:
        run(bybit.fetch_balances())
    assert info.value.code == 10004 and not isinstance(info.value, ExchangeUnavailable)
    assert fake.api_key not in str(info.value) and "canary" not in str(info.value)
    assert info.value.__cause__ is None and info.value.__context__ is None


def test_call_when_key_is_unknown_then_exchange_error_10003(fake: FakeBybit) -> None:
    bybit = make_client(fake, key="NOT-A-KEY")
    with pytest.raises(ExchangeError) as info:
        run(bybit.fetch_positions(LINEAR, "BTCUSDT"))
    assert info.value.code == 10003


def test_call_when_server_clock_is_ahead_then_exchange_error_10002(
    client: BybitExecutionClient,
    fake: FakeBybit,
) -> None:
    fake.set_clock_offset_ms(8_000)
    with pytest.raises(ExchangeError) as info:
        run(client.place_order(limit_buy("oa-skew")))
    assert info.value.code == 10002
    assert len(fake.requests_to("/v5/order/create")) == 1  # pybit's silent retry is off
    assert fake.order("oa-skew") is None


def test_fetch_server_time_ms_when_server_clock_skewed_then_skew_is_measurable(
    fake: FakeBybit,
) -> None:
    fake.set_clock_offset_ms(-6_000)
    skew = fetch_server_time_ms(Venue.BYBIT_TESTNET, base_url=fake.base_url) - time.time_ns() // 1_000_000
    assert -7_000 < skew < -5_000
    assert not fake.requests[0].has_auth


def test_server_time_ms_when_called_then_server_clock(client: BybitExecutionClient) -> None:
    assert abs(run(client.server_time_ms()) - time.time_ns() // 1_000_000) < 1_000


# --- mutating round trips ---------------------------------------------------------------------
def test_place_order_when_order_link_id_duplicate_then_existing_order_returned(
    client: BybitExecutionClient,
    fake: FakeBybit,
) -> None:
    first = run(client.place_order(limit_buy("oa-dup")))
    again = run(client.place_order(limit_buy("oa-dup")))

    assert again.venue_order_id == first.venue_order_id and again.message == "already exists"
    assert len(fake.open_orders()) == 1
    assert [r.path for r in fake.requests][-2:] == ["/v5/order/create", "/v5/order/realtime"]


def test_place_order_when_response_lost_then_resend_with_same_id_resolves(fake: FakeBybit) -> None:
    bybit = make_client(fake, timeout_s=0.3)
    fake.delay_next("/v5/order/create", 0.8)
    with pytest.raises(ExchangeUnavailable, match="timed out"):
        run(bybit.place_order(limit_buy("oa-lost")))
    deadline = time.monotonic() + 3
    while fake.order("oa-lost") is None and time.monotonic() < deadline:
        time.sleep(0.05)

    ack = run(bybit.place_order(limit_buy("oa-lost")))

    assert ack.venue_order_id == fake.order("oa-lost")["orderId"]  # type: ignore[index]
    assert len(fake.open_orders()) == 1


def test_amend_order_when_open_then_price_and_qty_change(
    client: BybitExecutionClient,
    fake: FakeBybit,
) -> None:
    run(client.place_order(limit_buy("oa-am")))
    ack = run(client.amend_order(AmendRequest("oa-am", "BTCUSDT", qty=Decimal("0.02"), price=Decimal("29500.5"))))
    order = run(client.fetch_order(LINEAR, "oa-am"))
    assert ack.client_order_id == "oa-am"
    assert order is not None and order.qty == Decimal("0.02") and order.price == Decimal("29500.5")


def test_cancel_order_when_open_then_cancelled_and_when_gone_then_110001(client: BybitExecutionClient) -> None:
    run(client.place_order(limit_buy("oa-c")))
    ack = run(client.cancel_order("BTCUSDT", "oa-c", LINEAR))
    assert ack.status is OrderStatus.CANCELLED
    assert run(client.fetch_order(LINEAR, "oa-c")).status is OrderStatus.CANCELLED  # type: ignore[union-attr]
    with pytest.raises(ExchangeError) as info:
        run(client.cancel_order("BTCUSDT", "oa-c", LINEAR))
    assert info.value.code == 110001


def test_cancel_all_orders_when_no_symbol_then_every_linear_order_cancelled(
    client: BybitExecutionClient,
    fake: FakeBybit,
) -> None:
    run(client.place_order(limit_buy("oa-x1")))
    run(client.place_order(limit_buy("oa-x2", qty="1", price="2000", symbol="ETHUSDT")))
    acks = run(client.cancel_all_orders(LINEAR))
    assert sorted(a.client_order_id for a in acks) == ["oa-x1", "oa-x2"]
    assert fake.open_orders() == []
    assert fake.requests_to("/v5/order/cancel-all")[0].params["settleCoin"] == "USDT"


def test_fetch_open_orders_when_more_than_one_page_then_all_returned(client: BybitExecutionClient) -> None:
    for i in range(55):
        run(client.place_order(limit_buy(f"oa-p{i}")))
    orders = run(client.fetch_open_orders(LINEAR))
    assert len({o.client_order_id for o in orders}) == 55


def test_set_leverage_when_unchanged_then_110043_treated_as_success(
    client: BybitExecutionClient,
    fake: FakeBybit,
) -> None:
    run(client.set_leverage("BTCUSDT", Decimal(5), LINEAR))
    run(client.set_leverage("BTCUSDT", Decimal(5), LINEAR))  # Bybit answers 110043
    assert len(fake.requests_to("/v5/position/set-leverage")) == 2
    assert run(client.fetch_positions(LINEAR, "BTCUSDT"))[0].leverage == Decimal(5)


def test_transfer_when_funds_available_then_moved_and_same_id_not_moved_twice(
    client: BybitExecutionClient,
    fake: FakeBybit,
) -> None:
    transfer_id = run(client.transfer("USDT", Decimal("100.5"), "UNIFIED", "FUND"))
    again = run(client.transfer("USDT", Decimal("100.5"), "UNIFIED", "FUND", transfer_id=transfer_id))
    assert again == transfer_id
    assert fake.exchange.wallets["FUND"]["USDT"] == Decimal("100.5")
    assert fake.requests_to("/v5/asset/")[0].params["amount"] == "100.5"


def test_close_position_when_long_then_reduce_only_market_sell_and_when_flat_then_none(
    client: BybitExecutionClient,
    fake: FakeBybit,
) -> None:
    assert run(client.close_position("BTCUSDT", LINEAR)) is None
    run(client.place_order(limit_buy("oa-open", qty="0.02")))
    fake.fill_order("oa-open", "30000", "0.02")
    fake.set_mark_price("BTCUSDT", "31000")

    ack = run(client.close_position("BTCUSDT", LINEAR))

    assert ack is not None
    sent = fake.requests_to("/v5/order/create")[-1].params
    assert sent["side"] == "Sell" and sent["reduceOnly"] is True and sent["qty"] == "0.02"
    assert run(client.fetch_positions(LINEAR, "BTCUSDT"))[0].side is None


# --- reads ------------------------------------------------------------------------------------
def test_fetch_after_fill_when_partially_filled_then_position_fill_and_balance_mapped(
    client: BybitExecutionClient,
    fake: FakeBybit,
) -> None:
    run(client.place_order(limit_buy("oa-f", qty="0.03")))
    fake.fill_order("oa-f", "30000", "0.01")
    fake.set_mark_price("BTCUSDT", "30500")

    (position,) = run(client.fetch_positions(LINEAR))
    (fill,) = run(client.fetch_executions(LINEAR, "BTCUSDT"))
    order = run(client.fetch_order(LINEAR, "oa-f"))
    usdt = next(b for b in run(client.fetch_balances()) if b.coin == "USDT")

    assert (position.side, position.size, position.entry_price) == (Side.BUY, Decimal("0.01"), Decimal(30000))
    assert position.unrealized_pnl == Decimal(5)
    assert (fill.client_order_id, fill.qty, fill.price, fill.fee_currency) == ("oa-f", Decimal("0.01"), 30000, "USDT")
    assert order is not None and order.status is OrderStatus.PARTIALLY_FILLED and order.filled_qty == Decimal("0.01")
    assert usdt.total == Decimal(10_000) - fill.fee and usdt.available < usdt.total


def test_fetch_api_key_info_when_key_may_withdraw_then_can_withdraw(fake: FakeBybit) -> None:
    fake.add_key("WKEY", "WSECRET", {"Wallet": ["AccountTransfer", "Withdraw"]}, ips=["10.0.0.1"])
    info = run(make_client(fake, key="WKEY", secret="WSECRET").fetch_api_key_info())
    assert info.can_withdraw and not info.read_only and info.ips == ("10.0.0.1",) and info.ip_bound
    plain = run(make_client(fake).fetch_api_key_info())
    assert not plain.can_withdraw and plain.expires_at is not None and "apiKey" not in repr(plain)


def test_place_order_when_key_is_read_only_then_10005(fake: FakeBybit) -> None:
    fake.add_key("RKEY", "RSECRET", read_only=True)
    with pytest.raises(ExchangeError) as info:
        run(make_client(fake, key="RKEY", secret="RSECRET").place_order(limit_buy("oa-ro")))
    assert info.value.code == 10005


# --- unavailability ---------------------------------------------------------------------------
def test_call_when_http_403_then_exchange_unavailable(client: BybitExecutionClient, fake: FakeBybit) -> None:
    fake.http_status_next("/v5/position/list", 403)
    with pytest.raises(BybitHttpError) as info:
        run(client.fetch_positions(LINEAR))
    assert isinstance(info.value, ExchangeUnavailable) and info.value.http_status == 403


def test_call_when_rate_limited_then_exchange_unavailable_with_code(
    client: BybitExecutionClient,
    fake: FakeBybit,
) -> None:
    client.guard.policy = GuardPolicy(rate_limit_retries=0)  # by default the guard waits and retries
    fake.fail_next("/v5/order/realtime", 10006, "Too many visits")
    before = time.time_ns() // 1_000_000
    with pytest.raises(BybitRateLimited) as info:
        run(client.fetch_open_orders(LINEAR, "BTCUSDT"))
    assert isinstance(info.value, ExchangeUnavailable) and info.value.code == 10006
    assert info.value.reset_at_ms is not None and before < info.value.reset_at_ms <= before + 2_000


def test_fetch_server_time_ms_when_host_unreachable_then_exchange_unavailable() -> None:
    with pytest.raises(ExchangeUnavailable):
        fetch_server_time_ms(Venue.BYBIT_TESTNET, base_url="http://127.0.0.1:9", timeout_s=0.5)


# --- secrets ----------------------------------------------------------------------------------
def test_failures_when_logged_at_debug_then_secret_and_key_never_appear(
    fake: FakeBybit,
    caplog: pytest.LogCaptureFixture,
) -> None:
    key, secret = "CANARYKEY-9d1e", "CANARYSECRET-51b7c0"
    fake.add_key(key, secret)
    errors: list[BaseException] = []
    wrong = make_client(fake, key=key, secret="CANARYSECRET-wrong")
    good = make_client(fake, key=key, secret=secret, timeout_s=0.3)
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="pybit")  # after the clients: they raise pybit to INFO
    fake.http_status_next("/v5/order/create", 403)
    fake.delay_next("/v5/position/list", 0.6)
    calls = [wrong.fetch_balances(), good.place_order(limit_buy("oa-s")), good.fetch_positions(LINEAR)]
    for call in calls:
        try:
            run(call)
        except ExchangeError as exc:
            errors.append(exc)
            logging.getLogger("test").exception("call failed")

    assert len(errors) == 3
    texts = [repr(wrong), repr(good), caplog.text, *(r.getMessage() for r in caplog.records)]
    texts += ["".join(traceback.format_exception(e)) + repr(e) for e in errors]
    for text in texts:
        assert secret not in text and "CANARYSECRET" not in text and key not in text
