"""Engine rigs for the fault and stream tests: the production wiring of engine_scenarios.Rig, plus
a shared VenueGuard (injectable clock), an optional instrument precheck, and the private stream."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.fakes.bybit_server import FakeBybit
from tests.fakes.bybit_ws import StreamingFakeBybit
from tests.fakes.engine_scenarios import Rig
from workstation.core.enums import Venue
from workstation.core.types import ApiCredentials
from workstation.engine.kernel import EngineKernel
from workstation.engine.precheck import OrderPrecheck
from workstation.exchanges.bybit.client import BybitExecutionClient
from workstation.exchanges.bybit.guard import GuardPolicy, VenueGuard
from workstation.exchanges.bybit.instruments import InstrumentCache, bybit_instrument_fetcher
from workstation.exchanges.bybit.stream import BybitPrivateStream, StreamConfig

FAST_STREAM = StreamConfig(
    ping_interval_s=0.2,
    pong_timeout_s=0.3,
    connect_timeout_s=1.0,
    reply_timeout_s=1.0,
    backoff_initial_s=0.05,
    backoff_max_s=0.2,
)


@dataclass
class ManualClock:
    """Wall-clock milliseconds that a test can move forward (the 10-minute ban window)."""

    offset_ms: int = 0

    def __call__(self) -> int:
        return time.time_ns() // 1_000_000 + self.offset_ms

    def advance(self, seconds: float) -> None:
        self.offset_ms += int(seconds * 1000)


@dataclass
class FaultRig(Rig):
    clock: ManualClock = field(default_factory=ManualClock)
    policy: GuardPolicy = field(default_factory=GuardPolicy)
    api_key: str | None = None  # None: the fake's own key
    api_secret: str | None = None
    with_precheck: bool = False
    instrument_ttl_s: float = 300.0

    def __post_init__(self) -> None:
        self.guard = VenueGuard("bybit-testnet", bus=self.bus, policy=self.policy, now_ms=self.clock)
        super().__post_init__()
        self.instruments: InstrumentCache | None = None
        if self.with_precheck:
            fetch = bybit_instrument_fetcher(Venue.BYBIT_TESTNET, base_url=self.fake.base_url, guard=self.guard)
            self.instruments = InstrumentCache("bybit-testnet", fetch, ttl_s=self.instrument_ttl_s, bus=self.bus)
            # Same wiring as production: the kernel is built with the precheck.
            self.kernel = EngineKernel(
                client=self.client,
                ledger=self.ledger,
                bus=self.bus,
                config=self.config,
                precheck=OrderPrecheck(self.instruments),
            )

    def credentials(self) -> ApiCredentials:
        return ApiCredentials(self.api_key or self.fake.api_key, self.api_secret or self.fake.api_secret)

    def bybit(self, *, credentials: bool = True) -> BybitExecutionClient:
        return BybitExecutionClient(
            Venue.BYBIT_TESTNET,
            self.credentials() if credentials else None,
            base_url=self.fake.base_url,
            timeout_s=self.timeout_s,
            guard=self.guard,
        )

    def stream(self, config: StreamConfig = FAST_STREAM) -> BybitPrivateStream:
        assert isinstance(self.fake, StreamingFakeBybit)
        return BybitPrivateStream(
            Venue.BYBIT_TESTNET, self.credentials(), url=self.fake.ws.url, config=config, guard=self.guard
        )


def fault_rig(fake: FakeBybit, tmp_path: Path, **kwargs: Any) -> FaultRig:
    return FaultRig(fake, tmp_path / "ledger.sqlite", tmp_path / "state", **kwargs)


async def eventually(predicate: Callable[[], bool], timeout_s: float = 5.0, step_s: float = 0.02) -> bool:
    """Await (never block the loop) until `predicate()` holds."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        await asyncio.sleep(step_s)
    return predicate()
