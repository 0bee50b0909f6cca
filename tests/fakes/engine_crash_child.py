"""Child process of the crash test: trades against a FakeBybit run by the parent until SIGKILL.

    python -m tests.fakes.engine_crash_child BASE_URL LEDGER STATE_DIR SEED

Wired like production (SafetyGate -> BybitExecutionClient over HTTP, EngineKernel, SQLite ledger).
Prints READY once the kernel has started (ledger loaded, reconciled), then trades forever.
"""

from __future__ import annotations

import asyncio
import random
import sys
from decimal import Decimal
from pathlib import Path

from tests.fakes.bybit_server import DEFAULT_API_KEY, DEFAULT_API_SECRET
from workstation.bus import EventBus
from workstation.core.enums import OrderType, Side, Venue
from workstation.core.errors import WorkstationError
from workstation.core.ids import new_client_order_id
from workstation.core.types import ApiCredentials, OrderRequest
from workstation.engine.kernel import EngineKernel
from workstation.engine.oms import OmsConfig
from workstation.exchanges.bybit.client import BybitExecutionClient
from workstation.safety.gate import SafetyGate
from workstation.safety.switches import DebugSwitch, KillSwitch


async def trade(base_url: str, ledger: Path, state_dir: Path, seed: int) -> None:
    bus = EventBus()
    gate = SafetyGate(
        debug_switch=DebugSwitch(False, bus),
        kill_switch=KillSwitch(state_dir / "safety.json", bus),
        bus=bus,
        allowed_venues=(Venue.BYBIT_TESTNET,),
    )
    creds = ApiCredentials(DEFAULT_API_KEY, DEFAULT_API_SECRET)
    client = gate.execution_client(
        Venue.BYBIT_TESTNET,
        live=lambda: BybitExecutionClient(Venue.BYBIT_TESTNET, creds, base_url=base_url, timeout_s=0.5),
    )
    kernel = EngineKernel(
        client=client, ledger_path=ledger, bus=bus, config=OmsConfig(resolve_attempts=3, resolve_delay_s=0.05)
    )
    await kernel.start()
    print("READY", flush=True)
    rng = random.Random(seed)
    while True:
        roll = rng.random()
        side = rng.choice((Side.BUY, Side.SELL))
        qty = Decimal(rng.randint(1, 10)) * Decimal("0.001")
        try:
            if roll < 0.5:
                price = Decimal(29000 if side is Side.BUY else 31000) + rng.randint(0, 50)
                request = OrderRequest(new_client_order_id("crash"), "BTCUSDT", side, qty, OrderType.LIMIT, price=price)
                await kernel.submit(request)
            elif roll < 0.8:
                await kernel.submit(OrderRequest(new_client_order_id("crash"), "BTCUSDT", side, qty))
            elif roll < 0.9:
                resting = kernel.oms.records(open_only=True)
                if resting:
                    await kernel.cancel(rng.choice(resting).client_order_id)
            else:
                await kernel.sync()
        except WorkstationError as exc:
            print(f"ERROR {exc}", file=sys.stderr, flush=True)


def main() -> None:
    base_url, ledger, state_dir, seed = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]), int(sys.argv[4])
    asyncio.run(trade(base_url, ledger, state_dir, seed))


if __name__ == "__main__":
    main()
