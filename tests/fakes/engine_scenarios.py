"""Building blocks for engine tests: a kernel wired exactly like production (bus, SafetyGate,
BybitExecutionClient over real HTTP to FakeBybit, a real SQLite ledger file), plus an event log.

Nothing of ours is mocked: the only fake is the exchange itself.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

from tests.fakes.bybit_server import FakeBybit
from workstation.bus import EventBus
from workstation.core.enums import Category, OrderType, Side, Venue
from workstation.core.events import Event
from workstation.core.ids import new_client_order_id
from workstation.core.types import ApiCredentials, OrderRequest
from workstation.engine.kernel import EngineKernel
from workstation.engine.ledger import Ledger
from workstation.engine.oms import OmsConfig
from workstation.exchanges.bybit.client import BybitExecutionClient
from workstation.safety.gate import GuardedExecutionClient, SafetyGate
from workstation.safety.switches import DebugSwitch, KillSwitch

T = TypeVar("T")
E = TypeVar("E", bound=Event)
FAST = OmsConfig(resolve_attempts=4, resolve_delay_s=0.05, misses_to_fail=3)
CREATE = "/v5/order/create"


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


@dataclass
class EventLog:
    events: list[Event] = field(default_factory=list)

    def __call__(self, event: Event) -> None:
        self.events.append(event)

    def of(self, kind: type[E]) -> list[E]:
        return [e for e in self.events if isinstance(e, kind)]


@dataclass
class Rig:
    """One engine against one fake exchange. Build a new Rig on the same paths to 'restart'."""

    fake: FakeBybit
    ledger_file: Path
    state_dir: Path
    debug: bool = False
    timeout_s: float = 2.0
    config: OmsConfig = FAST
    busy_timeout_s: float = 5.0
    bus: EventBus = field(default_factory=EventBus)
    log: EventLog = field(default_factory=EventLog)

    def __post_init__(self) -> None:
        self.bus.subscribe(Event, self.log)
        self.debug_switch = DebugSwitch(self.debug, self.bus)
        self.gate = SafetyGate(
            debug_switch=self.debug_switch,
            kill_switch=KillSwitch(self.state_dir / "safety.json", self.bus),
            bus=self.bus,
            allowed_venues=(Venue.PAPER, Venue.BYBIT_TESTNET),
        )
        self.client: GuardedExecutionClient = self.gate.execution_client(
            Venue.BYBIT_TESTNET,
            live=lambda: self.bybit(credentials=True),
            keyless=lambda: self.bybit(credentials=False),
        )
        self.ledger = Ledger.open(self.ledger_file, busy_timeout_s=self.busy_timeout_s)
        self.kernel = EngineKernel(client=self.client, ledger=self.ledger, bus=self.bus, config=self.config)

    def bybit(self, *, credentials: bool = True) -> BybitExecutionClient:
        creds = ApiCredentials(self.fake.api_key, self.fake.api_secret) if credentials else None
        return BybitExecutionClient(Venue.BYBIT_TESTNET, creds, base_url=self.fake.base_url, timeout_s=self.timeout_s)


def make_rig(fake: FakeBybit, tmp_path: Path, **kwargs: Any) -> Rig:
    return Rig(fake, tmp_path / "ledger.sqlite", tmp_path / "state", **kwargs)


def limit(
    side: Side = Side.BUY, qty: str = "0.01", price: str = "30000", coid: str | None = None, symbol: str = "BTCUSDT"
) -> OrderRequest:
    return OrderRequest(
        coid or new_client_order_id(), symbol, side, Decimal(qty), OrderType.LIMIT, price=Decimal(price)
    )


def market(side: Side = Side.BUY, qty: str = "0.01", coid: str | None = None, symbol: str = "BTCUSDT") -> OrderRequest:
    return OrderRequest(coid or new_client_order_id(), symbol, side, Decimal(qty), OrderType.MARKET)


def creates_for(fake: FakeBybit, coid: str) -> int:
    return sum(1 for r in fake.requests_to(CREATE) if r.params.get("orderLinkId") == coid)


def exchange_orders(fake: FakeBybit) -> dict[str, dict[str, Any]]:
    """Every order the fake exchange holds, by orderLinkId."""
    with fake.exchange.lock:
        return {o["orderLinkId"]: dict(o) for o in fake.exchange.orders.values()}


def exchange_exec_ids(fake: FakeBybit, category: Category = Category.LINEAR) -> set[str]:
    with fake.exchange.lock:
        return {e["execId"] for e in fake.exchange.executions if e["_category"] == category.value}


def wait_until(predicate: Callable[[], bool], timeout_s: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()
