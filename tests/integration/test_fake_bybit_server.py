"""FakeBybit speaks Bybit V5 on the wire: checked with hand-signed HTTP, independent of pybit."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.fakes.bybit_server import FakeBybit


@pytest.fixture
def fake() -> Iterator[FakeBybit]:
    with FakeBybit() as server:
        yield server


def call(
    fake: FakeBybit,
    method: str,
    path: str,
    params: dict[str, Any] | None = None,
    *,
    key: str | None = None,
    secret: str | None = None,
    ts: int | None = None,
    sign: bool = True,
    timeout: float = 3.0,
) -> requests.Response:
    params = params or {}
    key, secret = key or fake.api_key, secret or fake.api_secret
    payload = "&".join(f"{k}={v}" for k, v in params.items()) if method == "GET" else json.dumps(params)
    headers = {"Content-Type": "application/json"}
    if sign:
        ts = time.time_ns() // 1_000_000 if ts is None else ts
        signature = hmac.new(secret.encode(), f"{ts}{key}5000{payload}".encode(), hashlib.sha256).hexdigest()
        headers |= {
            "X-BAPI-API-KEY": key,
            "X-BAPI-TIMESTAMP": str(ts),
            "X-BAPI-SIGN": signature,
            "X-BAPI-RECV-WINDOW": "5000",
        }
    url = fake.base_url + path
    if method == "GET":
        return requests.get(f"{url}?{payload}" if payload else url, headers=headers, timeout=timeout)
    return requests.post(url, data=payload, headers=headers, timeout=timeout)


def ret_code(response: requests.Response) -> int:
    return int(response.json()["retCode"])


def create(fake: FakeBybit, link: str, timeout: float = 3.0, **extra: Any) -> requests.Response:
    order = {"category": "linear", "symbol": "BTCUSDT", "side": "Buy", "orderType": "Limit"}
    order |= {"qty": "0.01", "price": "30000", "orderLinkId": link, **extra}
    return call(fake, "POST", "/v5/order/create", order, timeout=timeout)


# --- envelope, signing, clock -----------------------------------------------------------------
def test_market_time_when_public_then_v5_envelope_and_rate_limit_headers(fake: FakeBybit) -> None:
    response = call(fake, "GET", "/v5/market/time", sign=False)
    body = response.json()
    assert set(body) == {"retCode", "retMsg", "result", "retExtInfo", "time"}
    assert body["retCode"] == 0 and int(body["result"]["timeSecond"]) == body["time"] // 1000
    for header in ("X-Bapi-Limit", "X-Bapi-Limit-Status", "X-Bapi-Limit-Reset-Timestamp"):
        assert response.headers[header].isdigit()


def test_private_call_when_signed_correctly_then_accepted(fake: FakeBybit) -> None:
    assert ret_code(call(fake, "GET", "/v5/account/wallet-balance", {"accountType": "UNIFIED"})) == 0
    assert ret_code(create(fake, "link-1")) == 0


def test_private_call_when_unsigned_or_unknown_key_then_10003(fake: FakeBybit) -> None:
    assert ret_code(call(fake, "GET", "/v5/position/list", {"category": "linear"}, sign=False)) == 10003
    assert ret_code(call(fake, "GET", "/v5/position/list", {"category": "linear"}, key="nobody")) == 10003


def test_private_call_when_signature_wrong_then_10004(fake: FakeBybit) -> None:
    response = call(fake, "GET", "/v5/account/wallet-balance", {"accountType": "UNIFIED"}, secret="bad")
    assert ret_code(response) == 10004 and "origin_string[" in response.json()["retMsg"]


def test_private_call_when_timestamp_outside_window_then_10002(fake: FakeBybit) -> None:
    now = time.time_ns() // 1_000_000
    params = {"accountType": "UNIFIED"}
    assert ret_code(call(fake, "GET", "/v5/account/wallet-balance", params, ts=now - 6_000)) == 10002
    assert ret_code(call(fake, "GET", "/v5/account/wallet-balance", params, ts=now + 1_500)) == 10002
    fake.set_clock_offset_ms(-6_000)  # server behind: a correct client clock is now "in the future"
    assert ret_code(call(fake, "GET", "/v5/account/wallet-balance", params)) == 10002


def test_order_create_when_read_only_key_or_missing_permission_then_10005(fake: FakeBybit) -> None:
    fake.add_key("ro", "ro-secret", read_only=True)
    fake.add_key("spot-only", "s-secret", {"Spot": ["SpotTrade"]})
    order = {"category": "linear", "symbol": "BTCUSDT", "side": "Buy", "orderType": "Market", "qty": "0.01"}
    assert ret_code(call(fake, "POST", "/v5/order/create", order, key="ro", secret="ro-secret")) == 10005
    assert ret_code(call(fake, "POST", "/v5/order/create", order, key="spot-only", secret="s-secret")) == 10005


def test_unknown_path_when_called_then_http_404(fake: FakeBybit) -> None:
    assert call(fake, "GET", "/v5/nope").status_code == 404


# --- market data ------------------------------------------------------------------------------
def test_kline_when_candles_given_then_newest_first_within_start_end_and_limit(fake: FakeBybit) -> None:
    fake.set_candles("BTCUSDT", "1", [(i * 60_000, 100 + i, 101 + i, 99 + i, 100.5 + i, 2) for i in range(10)])
    params = {"category": "linear", "symbol": "BTCUSDT", "interval": "1"}

    newest = call(fake, "GET", "/v5/market/kline", params | {"limit": 3}, sign=False).json()["result"]["list"]
    ranged = call(fake, "GET", "/v5/market/kline", params | {"start": 120_000, "end": 300_000}, sign=False)
    too_many = call(fake, "GET", "/v5/market/kline", params | {"limit": 1001}, sign=False)

    assert [row[0] for row in newest] == ["540000", "480000", "420000"] and len(newest[0]) == 7
    assert [int(r[0]) for r in ranged.json()["result"]["list"]] == [300_000, 240_000, 180_000, 120_000]
    assert ret_code(too_many) == 10001


def test_instruments_when_paged_then_cursor_walks_every_instrument(fake: FakeBybit) -> None:
    symbols: list[str] = []
    cursor = ""
    for _ in range(10):
        params = {"category": "linear", "limit": 2} | ({"cursor": cursor} if cursor else {})
        result = call(fake, "GET", "/v5/market/instruments-info", params, sign=False).json()["result"]
        symbols += [i["symbol"] for i in result["list"]]
        cursor = result["nextPageCursor"]
        if not cursor:
            break
    assert symbols == ["BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT", "DOGEUSDT"]


# --- orders -----------------------------------------------------------------------------------
def test_order_create_when_link_id_too_long_or_duplicate_then_rejected(fake: FakeBybit) -> None:
    assert ret_code(create(fake, "x" * 37)) == 10001
    assert ret_code(create(fake, "dup")) == 0
    assert ret_code(create(fake, "dup")) == 110072
    assert len(fake.open_orders()) == 1


def test_order_lifecycle_when_amended_cancelled_then_realtime_reflects_it(fake: FakeBybit) -> None:
    create(fake, "life")
    ref = {"category": "linear", "symbol": "BTCUSDT", "orderLinkId": "life"}
    assert ret_code(call(fake, "POST", "/v5/order/amend", ref | {"price": "29000"})) == 0
    (order,) = call(fake, "GET", "/v5/order/realtime", ref).json()["result"]["list"]
    assert order["price"] == "29000" and order["orderStatus"] == "New"
    assert ret_code(call(fake, "POST", "/v5/order/cancel", ref)) == 0
    assert ret_code(call(fake, "POST", "/v5/order/cancel", ref)) == 110001
    (order,) = call(fake, "GET", "/v5/order/realtime", ref).json()["result"]["list"]
    assert order["orderStatus"] == "Cancelled"


def test_cancel_all_when_linear_without_scope_then_10001_and_with_settle_coin_then_cancels(fake: FakeBybit) -> None:
    create(fake, "a")
    create(fake, "b")
    assert ret_code(call(fake, "POST", "/v5/order/cancel-all", {"category": "linear"})) == 10001
    result = call(fake, "POST", "/v5/order/cancel-all", {"category": "linear", "settleCoin": "USDT"}).json()
    assert sorted(o["orderLinkId"] for o in result["result"]["list"]) == ["a", "b"]
    assert result["result"]["success"] == "1" and fake.open_orders() == []


def test_fill_order_when_called_then_position_and_execution_recorded(fake: FakeBybit) -> None:
    create(fake, "f1", qty="0.02")
    fake.fill_order("f1", "30000", "0.02")
    (position,) = call(fake, "GET", "/v5/position/list", {"category": "linear", "settleCoin": "USDT"}).json()["result"][
        "list"
    ]
    (execution,) = call(fake, "GET", "/v5/execution/list", {"category": "linear"}).json()["result"]["list"]
    assert (position["side"], position["size"], position["avgPrice"]) == ("Buy", "0.02", "30000")
    assert execution["orderLinkId"] == "f1" and execution["execQty"] == "0.02"
    assert fake.order("f1")["orderStatus"] == "Filled"  # type: ignore[index]


def test_set_leverage_when_same_value_then_110043(fake: FakeBybit) -> None:
    body = {"category": "linear", "symbol": "BTCUSDT", "buyLeverage": "3", "sellLeverage": "3"}
    assert ret_code(call(fake, "POST", "/v5/position/set-leverage", body)) == 0
    assert ret_code(call(fake, "POST", "/v5/position/set-leverage", body)) == 110043


def test_inter_transfer_when_insufficient_then_131212(fake: FakeBybit) -> None:
    body = {"transferId": "t1", "coin": "USDT", "amount": "1000000", "fromAccountType": "UNIFIED"}
    response = call(fake, "POST", "/v5/asset/transfer/inter-transfer", body | {"toAccountType": "FUND"})
    assert ret_code(response) == 131212


def test_query_api_when_withdraw_permission_set_then_visible(fake: FakeBybit) -> None:
    fake.add_key("w", "w-secret", {"Wallet": ["Withdraw"]})
    result = call(fake, "GET", "/v5/user/query-api", key="w", secret="w-secret").json()["result"]
    assert result["permissions"]["Wallet"] == ["Withdraw"] and result["readOnly"] == 0 and result["secret"] == ""


# --- request log and faults -------------------------------------------------------------------
def test_request_log_when_reads_and_writes_then_mutating_requests_only_lists_writes(fake: FakeBybit) -> None:
    call(fake, "GET", "/v5/market/time", sign=False)
    call(fake, "GET", "/v5/order/realtime", {"category": "linear", "symbol": "BTCUSDT"})
    create(fake, "m1")
    assert [r.path for r in fake.requests] == ["/v5/market/time", "/v5/order/realtime", "/v5/order/create"]
    assert [r.has_auth for r in fake.requests] == [False, True, True]
    assert [r.params["orderLinkId"] for r in fake.mutating_requests()] == ["m1"]
    assert len(fake.requests_to("/v5/order/")) == 2
    fake.reset_log()
    assert fake.requests == []


def test_faults_when_queued_then_served_in_order_and_then_normal_again(fake: FakeBybit) -> None:
    fake.fail_next("/v5/order/create", 10006, "Too many visits")
    fake.fail_next("/v5/order/create", 110007, "Insufficient available balance")
    assert ret_code(create(fake, "q1")) == 10006
    assert ret_code(create(fake, "q1")) == 110007
    assert ret_code(create(fake, "q1")) == 0
    fake.http_status_next("/v5/market/time", 403)
    assert call(fake, "GET", "/v5/market/time", sign=False).status_code == 403
    assert call(fake, "GET", "/v5/market/time", sign=False).status_code == 200


def test_delay_next_when_client_times_out_then_request_still_takes_effect(fake: FakeBybit) -> None:
    fake.delay_next("/v5/order/create", 0.5)
    with pytest.raises(requests.Timeout):
        create(fake, "slow", timeout=0.2)
    deadline = time.monotonic() + 3
    while fake.order("slow") is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert fake.order("slow") is not None and fake.errors == []
