"""Crash test: an engine process trading against FakeBybit is killed with SIGKILL at random
moments, several times; the exchange moves on while it is down. A restart plus reconciliation
must find every order the exchange has, every fill exactly once, and the same position."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

from tests.fakes.bybit_server import FakeBybit
from tests.fakes.engine_scenarios import CREATE, exchange_exec_ids, exchange_orders, make_rig, run
from workstation.core.enums import OrderStatus
from workstation.engine.ledger import Ledger
from workstation.engine.state import ORIGIN_LOCAL
from workstation.exchanges.bybit.parse import order_status

REPO = Path(__file__).resolve().parents[2]
VENUE = "bybit-testnet"
RUNS = 6


def _start_child(fake: FakeBybit, tmp_path: Path, seed: int, log: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.engine_crash_child", fake.base_url, str(tmp_path / "ledger.sqlite"),
         str(tmp_path / "state"), str(seed)],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=log.open("a"), text=True,
    )  # fmt: skip


def test_engine_when_killed_at_random_points_then_restart_loses_and_duplicates_nothing(
    fake_bybit: FakeBybit, tmp_path: Path
) -> None:
    seed = int(os.environ.get("CRASH_SEED", time.time_ns() % 1_000_000))
    rng = random.Random(seed)
    fake_bybit.set_mark_price("BTCUSDT", "30000")
    child_log = tmp_path / "child.log"
    for run_no in range(RUNS):
        fake_bybit.delay_next(CREATE, rng.uniform(0.05, 0.8), times=2)  # widen PENDING->ack windows
        child = _start_child(fake_bybit, tmp_path, seed + run_no, child_log)
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "READY", child_log.read_text()
        time.sleep(rng.uniform(0.1, 0.9))
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
        for resting in fake_bybit.open_orders()[: rng.randint(0, 2)]:  # the market moves while we are down
            fake_bybit.fill_order(resting["orderLinkId"], resting["price"], resting["leavesQty"])
    time.sleep(0.9)  # let any delayed create from a dead child land
    fake_bybit.clear_faults()

    rig = make_rig(fake_bybit, tmp_path)
    before = {r.client_order_id: r.origin for r in Ledger.open(rig.ledger_file).orders()}

    async def restart() -> None:
        await rig.kernel.start()
        for _ in range(rig.config.misses_to_fail):  # settle rows whose request never left
            await rig.kernel.reconcile()
        await rig.kernel.stop()

    run(restart())
    context = f"seed={seed} (rerun with CRASH_SEED={seed}); child log: {child_log.read_text()[-2000:]}"
    on_exchange = exchange_orders(fake_bybit)
    ledger = Ledger.open(rig.ledger_file)
    records = {r.client_order_id: r for r in ledger.orders()}
    assert len(on_exchange) >= RUNS, context  # the children did trade
    # Every order on the exchange was committed to the ledger before it was sent (never adopted).
    assert set(on_exchange) <= set(before), context
    assert all(records[c].origin == ORIGIN_LOCAL for c in on_exchange), context
    # The ledger agrees with the exchange on every order, and invents none.
    for coid, venue_order in on_exchange.items():
        record = records[coid]
        assert record.status is order_status(venue_order["orderStatus"]), (coid, record, context)
        assert record.order.filled_qty == Decimal(venue_order["cumExecQty"]), (coid, context)
        assert record.order.venue_order_id == venue_order["orderId"], context
    for coid, record in records.items():
        if coid not in on_exchange:
            assert record.status in (OrderStatus.REJECTED, OrderStatus.DENIED), (coid, record, context)
    # Every fill exactly once, and the same position.
    fills = ledger.fills()
    assert len(fills) == len({f.exec_id for f in fills}) == len(exchange_exec_ids(fake_bybit)), context
    assert {f.exec_id for f in fills} == exchange_exec_ids(fake_bybit), context
    with fake_bybit.exchange.lock:
        pos = fake_bybit.exchange.position("linear", "BTCUSDT")
        exchange_size = Decimal(pos["size"]) * (-1 if pos["side"] == "Sell" else 1)
    ledger_positions = {p.symbol: p.size for p in ledger.positions(VENUE)}
    assert ledger_positions.get("BTCUSDT", Decimal(0)) == exchange_size, context
