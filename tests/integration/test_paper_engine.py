"""The paper venue wired like any venue: through the SafetyGate into an EngineKernel with a real
SQLite ledger. Debug mode denies its orders too; it never reads a key nor opens a socket; the
headless engine serves its account from a replay."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import keyring
import pytest

from tests.fixtures.tripwire_keyring import TripwireKeyring
from tests.integration.cli_runner import REPO
from tests.integration.headless_process import headless_engine
from workstation.core.enums import OrderStatus, Venue
from workstation.core.errors import OrderDeniedError
from workstation.core.events import OrderDenied
from workstation.data.sample import SAMPLE_INTERVAL, SAMPLE_SYMBOL, SAMPLE_VENUE, load_bundled_sample
from workstation.data.store import CandleStore
from workstation.exchanges.simulated import PaperExecutionClient
from workstation.paper.guard import GatedTradingStop
from workstation.paper.replay import ReplayData, load_replay, replay
from workstation.paper.runner import StrategyRunner
from workstation.runtime import build_runtime
from workstation.safety.gate import GuardedExecutionClient
from workstation.strategies.builtin import build
from workstation.wiring import build_kernel


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> ReplayData:
    with CandleStore.open(tmp_path_factory.mktemp("store") / "candles.db") as store:
        load_bundled_sample(store)
        data = load_replay(store, SAMPLE_VENUE, SAMPLE_SYMBOL, SAMPLE_INTERVAL)
    return ReplayData(data.candles.take(slice(0, 1500)), data.funding[:1500])


@pytest.fixture
def no_keys_no_network(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Every keyring use is written to a file; every outbound connection or DNS lookup raises."""
    log = tmp_path / "keyring-touches.log"
    monkeypatch.setenv("TRIPWIRE_KEYRING_LOG", str(log))
    previous = keyring.get_keyring()
    keyring.set_keyring(TripwireKeyring())

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError(f"network use: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    yield log
    keyring.set_keyring(previous)


def replay_with_runtime(home: Path, data: ReplayData, *overrides: str) -> dict[str, Any]:
    runtime = build_runtime(home=home, config_file=None, overrides=("trading.venue=paper", *overrides))
    denials: list[OrderDenied] = []
    runtime.bus.subscribe(OrderDenied, denials.append)

    async def go() -> dict[str, Any]:
        paper = PaperExecutionClient(cost=None, cash=10_000.0)
        kernel = build_kernel(runtime, paper=paper, poll_interval_s=None)
        assert kernel is not None and isinstance(kernel.client, GuardedExecutionClient)
        await kernel.start()
        stop = GatedTradingStop(runtime.gate, kernel.client, paper)
        runner = StrategyRunner(
            kernel,
            build("sma_cross", {"fast": 5, "slow": 20}),
            "BTCUSDT",
            paper.account.cost,
            window=200,
            trading_stop=stop,
        )
        await replay(paper, "BTCUSDT", data, runner)
        await asyncio.sleep(0)  # let the bus deliver
        orders = await kernel.ledger.call(kernel.ledger.orders, venue="paper")
        fills = await kernel.ledger.call(kernel.ledger.fills, venue="paper")
        balances = await kernel.client.fetch_balances()
        await kernel.stop()
        return {
            "paper": paper,
            "orders": orders,
            "fills": fills,
            "denials": denials,
            "balances": balances,
            "runner": runner,
            "stop": stop,
        }

    return asyncio.run(go())


def test_paper_replay_when_debug_mode_on_then_every_order_denied_zero_fills_reads_still_work(
    isolated_home: Path, sample: ReplayData, no_keys_no_network: Path
) -> None:
    out = replay_with_runtime(isolated_home, sample)  # debug_mode defaults to on
    assert out["orders"] and {r.status for r in out["orders"]} == {OrderStatus.DENIED}
    assert out["fills"] == [] and out["paper"].account.fills == [] and out["paper"].account.orders == {}
    assert len(out["denials"]) >= len(out["orders"]) and all("debug mode" in d.reason for d in out["denials"])
    assert out["balances"][0].total == 10_000  # reads go to the paper account itself
    with pytest.raises(OrderDeniedError):
        asyncio.run(out["stop"]("BTCUSDT", out["orders"][0].category, None, None))
    assert not no_keys_no_network.exists()


def test_paper_replay_when_debug_mode_off_then_orders_fill_in_ledger_without_keys_or_network(
    isolated_home: Path, sample: ReplayData, no_keys_no_network: Path
) -> None:
    out = replay_with_runtime(isolated_home, sample, "debug_mode=false")
    assert out["denials"] == [] and out["runner"].refusals == 0
    statuses = {r.status for r in out["orders"]}
    assert OrderStatus.FILLED in statuses and OrderStatus.DENIED not in statuses
    assert len(out["fills"]) == len(out["paper"].account.fills) > 10
    assert not no_keys_no_network.exists()


def test_headless_when_paper_replay_then_api_serves_paper_positions_orders_trades_with_auth_and_no_keyring(
    tmp_path: Path, isolated_home: Path
) -> None:
    home = isolated_home
    tripwire = tmp_path / "keyring-touches.log"
    env = {
        "PYTHON_KEYRING_BACKEND": "tests.fixtures.tripwire_keyring.TripwireKeyring",
        "TRIPWIRE_KEYRING_LOG": str(tripwire),
        "PYTHONPATH": str(REPO),
        "WORKSTATION_REPLAY": "BTCUSDT:1m:sma_cross",
    }
    args = ("--set", "trading.venue=paper", "--set", "debug_mode=false")
    with headless_engine(home, *args, env=env) as engine:
        assert engine.get("/api/trades/paper").status_code == 401
        deadline = time.monotonic() + 40
        trades: list[dict[str, Any]] = []
        while len(trades) < 4 and time.monotonic() < deadline:
            time.sleep(0.5)
            trades = engine.get("/api/trades/paper", engine.tokens.read).json()
        assert len(trades) >= 4, "the replay produced no trades in time"
        orders = engine.get("/api/orders", engine.tokens.read).json()
        by_id = {o["client_order_id"]: o for o in orders}
        # each fill is one of the ledger's orders, or a protective exit (the risk manager's stop-loss)
        assert all(t["client_order_id"] in by_id or not t["client_order_id"] for t in trades), trades
        assert any(t["client_order_id"] in by_id for t in trades)
        assert {o["venue"] for o in orders} == {"paper"} and "Filled" in {o["status"] for o in orders}
        [balances] = engine.get("/api/multi-balance", engine.tokens.read).json()
        assert balances["venue"] == "paper" and balances["connected"] is True
        assert balances["balances"][0]["coin"] == "USDT"
        positions = engine.get("/api/positions", engine.tokens.admin).json()
        assert all(p["venue"] == "paper" for p in positions)
        assert engine.get("/health").json()["venue"] == Venue.PAPER.value
    assert not tripwire.exists(), tripwire.read_text()
