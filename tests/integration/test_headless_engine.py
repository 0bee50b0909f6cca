"""The headless engine with no Qt, with a real venue account behind it, and fuzzed from its schema."""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal
from pathlib import Path

import pytest

from tests.fakes.bybit_server import FakeBybit
from tests.integration.headless_process import headless_engine
from workstation.core.enums import OrderType, Side, Venue
from workstation.core.types import ApiCredentials, OrderRequest
from workstation.exchanges.bybit.client import BybitExecutionClient

KEY = "HEADLESSKEY000000001"
SECRET = "HEADLESSSECRET0000000000000000000001"


def test_headless_when_qt_cannot_even_be_imported_then_it_still_serves(tmp_path: Path) -> None:
    poison = tmp_path / "poison" / "PySide6"
    poison.mkdir(parents=True)
    (poison / "__init__.py").write_text('raise ImportError("the headless engine must not import Qt")\n')
    with headless_engine(tmp_path / "h", env={"PYTHONPATH": str(poison.parent)}) as running:
        assert running.get("/health").status_code == 200
        assert running.get("/api/system-stats", running.tokens.read).status_code == 200
        assert running.process.poll() is None


def test_headless_when_testnet_account_has_an_order_then_api_shows_it_and_emergency_stop_cancels_it(
    tmp_path: Path, fake_bybit: FakeBybit
) -> None:
    fake_bybit.add_key(KEY, SECRET, ips=["203.0.113.7"])
    fake_bybit.set_balance("USDT", Decimal("2500"))
    args = ("--set", "trading.venue=bybit-testnet", "--set", "debug_mode=false")
    args += ("--set", f"exchanges.bybit.base_url={fake_bybit.base_url}")
    env = {"WORKSTATION_BYBIT_TESTNET_API_KEY": KEY, "WORKSTATION_BYBIT_TESTNET_API_SECRET": SECRET}
    # An order placed outside the workstation (another program, the exchange website) before it starts:
    outside = BybitExecutionClient(Venue.BYBIT_TESTNET, ApiCredentials(KEY, SECRET), base_url=fake_bybit.base_url)
    order = OrderRequest(
        "website-order-1", "BTCUSDT", Side.BUY, Decimal("0.01"), OrderType.LIMIT, price=Decimal("20000")
    )
    asyncio.run(outside.place_order(order))
    asyncio.run(outside.close())
    with headless_engine(tmp_path / "h", *args, env=env) as running:
        orders = running.get("/api/orders", running.tokens.read).json()
        assert [o["client_order_id"] for o in orders] == ["website-order-1"]  # adopted by reconciliation
        [balances] = running.get("/api/multi-balance", running.tokens.read).json()
        assert balances["connected"] is True
        assert any(b["coin"] == "USDT" and Decimal(b["total"]) == Decimal("2500") for b in balances["balances"])
        stop = running.post("/api/bot/emergency-stop", running.tokens.read, json={"reason": "test"})
        assert stop.status_code == 200 and "1 order(s) cancelled" in stop.json()["detail"]
    assert fake_bybit.order("website-order-1")["orderStatus"] == "Cancelled"


def test_api_when_fuzzed_from_its_openapi_schema_then_no_server_errors(tmp_path: Path) -> None:
    schemathesis = pytest.importorskip("schemathesis")
    from hypothesis import HealthCheck, given, settings

    with headless_engine(tmp_path / "h") as running:
        schema = schemathesis.openapi.from_url(running.url + "/openapi.json")
        failures: list[str] = []
        calls: list[int] = []
        fuzzed = 0
        for operation in schema.get_all_operations():
            op = operation.ok()
            if op.path == "/api/admin/wipe-data" or op.path == "/api/bot/emergency-stop":
                continue  # destructive/halting: exercised by their own tests
            fuzzed += 1

            @settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), database=None)
            @given(case=op.as_strategy())
            def run(case: object) -> None:
                response = case.call(base_url=running.url, headers=running.headers(running.tokens.admin))  # type: ignore[attr-defined]
                calls.append(response.status_code)
                if response.status_code >= 500:
                    failures.append(f"{case.method} {case.formatted_path} -> {response.status_code}")  # type: ignore[attr-defined]

            run()
        assert failures == []
        assert len(calls) >= fuzzed and 200 in calls


def test_headless_when_testnet_key_loaded_then_private_stream_connects_and_fills_reach_the_api(tmp_path: Path) -> None:
    from tests.fakes.bybit_ws import StreamingFakeBybit

    with StreamingFakeBybit() as fake:
        fake.add_key(KEY, SECRET, ips=["203.0.113.7"])
        args = ("--set", "trading.venue=bybit-testnet", "--set", "debug_mode=false")
        args += (
            "--set",
            f"exchanges.bybit.base_url={fake.base_url}",
            "--set",
            f"exchanges.bybit.stream_url={fake.ws.url}",
        )
        env = {"WORKSTATION_BYBIT_TESTNET_API_KEY": KEY, "WORKSTATION_BYBIT_TESTNET_API_SECRET": SECRET}
        outside = BybitExecutionClient(Venue.BYBIT_TESTNET, ApiCredentials(KEY, SECRET), base_url=fake.base_url)
        with headless_engine(tmp_path / "h", *args, env=env) as running:
            deadline = time.monotonic() + 20
            while fake.ws.connections < 1 and time.monotonic() < deadline:
                time.sleep(0.1)
            assert fake.ws.connections >= 1, "the engine never opened the private stream"
            order = OrderRequest(
                "outside-2", "BTCUSDT", Side.BUY, Decimal("0.01"), OrderType.LIMIT, price=Decimal("20000")
            )
            asyncio.run(outside.place_order(order))
            fake.fill_order("outside-2", "20000", "0.01")
            trades: list[dict[str, object]] = []
            while not trades and time.monotonic() < deadline + 10:
                trades = running.get("/api/trades/testnet", running.tokens.read).json()
                time.sleep(0.2)
            assert [t["client_order_id"] for t in trades] == ["outside-2"]
            assert Decimal(str(trades[0]["qty"])) == Decimal("0.01")
        asyncio.run(outside.close())


def test_headless_when_sync_on_then_the_data_universe_is_topped_up_from_the_venue(
    tmp_path: Path, fake_bybit: FakeBybit
) -> None:
    from tests.fakes.real_candles import BTC_1H, candles, rows
    from workstation.data.store import CandleStore

    recent = candles(BTC_1H, first=-48 * 3)  # the last three days of real Bybit BTC 1h bars
    fake_bybit.set_candles("BTCUSDT", "60", rows(recent))
    # The shared series ends 2026-02-08: a history reaching back past it covers those bars.
    universe = "data.universe=[{symbol: BTCUSDT, interval: 1h, source: bybit, category: linear, history: 400d}]"
    args = ("--set", universe, "--set", f"exchanges.bybit.base_url={fake_bybit.base_url}")
    home = tmp_path / "h"
    with headless_engine(home, *args, sync=True):
        deadline = time.monotonic() + 30
        stored = 0
        while stored == 0 and time.monotonic() < deadline:
            time.sleep(0.5)
            if (home / "candles.db").exists():
                with CandleStore.open(home / "candles.db") as store:
                    stored = sum(s.rows for s in store.series() if s.symbol == "BTCUSDT" and s.interval == "1h")
        assert stored == len(recent), "the engine's start-up sync did not store the venue's bars"
    assert not [r for r in fake_bybit.requests if r.has_auth], "market data must never be signed with a key"
