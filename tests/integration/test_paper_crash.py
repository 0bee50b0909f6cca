"""Crash test for the paper venue: `workstation trade --env paper --replay ...` (a real process) is
killed with SIGKILL at random moments, restarted each time, then run to the end. The restored
paper venue and the ledger must agree on every order, every fill exactly once, and the position;
the venue must have seen every candle of the range exactly once (the replay resumed, never rewound)."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import time
from decimal import Decimal
from pathlib import Path

from tests.integration.cli_runner import REPO, run_cli, workstation_exe
from workstation.core.enums import Category, OrderStatus
from workstation.engine.kernel import EngineKernel, ledger_path
from workstation.engine.ledger import Ledger
from workstation.exchanges.simulated.book import dec
from workstation.paper.store import read_paper

KILLS = 4
RANGE = "2024-11-01:2024-11-01T16:00"  # 960 one-minute candles of the shipped sample
TRADE = ("--set", "debug_mode=false", "trade", "--strategy", "sma_cross", "--param", "fast=3",
         "--param", "slow=8", "--env", "paper", "--replay", RANGE)  # fmt: skip


def _start(home: Path, speed: str, log: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "WORKSTATION_HOME": str(home), "COLUMNS": "200", "NO_COLOR": "1"}
    return subprocess.Popen(
        [*workstation_exe(), *TRADE, "--speed", speed],
        stdout=subprocess.PIPE, stderr=log.open("a"), text=True, env=env, cwd=REPO,
    )  # fmt: skip


def _wait_ready(child: subprocess.Popen[str], log: Path, timeout: float = 60) -> None:
    assert child.stdout is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = child.stdout.readline()
        if not line:
            break
        if line.startswith("READY"):
            return
    raise AssertionError(f"trader never got READY: {log.read_text()[-2000:]}")


def test_trade_when_killed_at_random_points_then_restart_loses_and_duplicates_nothing(
    isolated_home: Path, tmp_path: Path
) -> None:
    seed = int(os.environ.get("CRASH_SEED", time.time_ns() % 1_000_000))
    rng = random.Random(seed)
    log = tmp_path / "trader.log"
    first = run_cli("data", "load-sample", home=isolated_home)  # the import is not what we crash
    assert first.returncode == 0, first.stderr
    for _ in range(KILLS):
        child = _start(isolated_home, "300", log)
        _wait_ready(child, log)
        time.sleep(rng.uniform(0.7, 3.0))  # the first orders come ~0.8 s after READY (signal warm-up)
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
    final = run_cli(*TRADE, home=isolated_home, timeout=120)
    context = f"seed={seed} (rerun with CRASH_SEED={seed}); log: {log.read_text()[-1500:]}\n{final.stdout[-1500:]}"
    assert final.returncode == 0, context + final.stderr
    assert final.stdout.count("RESTORED") == 1, context
    assert log.read_text().count("Traceback") == 0, context

    paper = read_paper(isolated_home)
    assert paper is not None, context
    book = paper.account.books["BTCUSDT"]
    assert book.prev is not None and book.bar is None
    assert book.prev.ts == 1730419200000 + 959 * 60_000, context  # the last candle, finished

    async def settle() -> None:  # what a restart does: reconcile until unsent rows are given up
        kernel = EngineKernel(client=read_paper(isolated_home), ledger_path=ledger_path(isolated_home))  # type: ignore[arg-type]
        await kernel.start()
        for _ in range(kernel.oms.config.misses_to_fail):
            await kernel.reconcile()
        await kernel.stop()

    asyncio.run(settle())
    ledger = Ledger.open(ledger_path(isolated_home))
    records = {r.client_order_id: r for r in ledger.orders(venue="paper")}
    venue_orders = paper.account.orders
    assert len(venue_orders) >= 10, context  # it did trade
    for coid, order in venue_orders.items():  # every accepted order is in the ledger, as the venue has it
        record = records.get(coid)
        assert record is not None, (coid, context)
        assert record.status is order.status, (coid, record.status, order.status, context)
        assert record.order.filled_qty == dec(order.filled_qty), (coid, context)
    for coid, record in records.items():  # and the ledger invents none
        if coid not in venue_orders:
            assert record.status in (OrderStatus.REJECTED, OrderStatus.DENIED), (coid, record, context)
    fills = ledger.fills(venue="paper")
    venue_fills = asyncio.run(paper.fetch_executions(Category.LINEAR))
    assert len(fills) == len({f.exec_id for f in fills}), context
    assert {f.exec_id for f in fills} == {f.exec_id for f in venue_fills} == {f.exec_id for f in paper.account.fills}
    positions = {p.symbol: p.size for p in ledger.positions("paper")}
    assert positions.get("BTCUSDT", Decimal(0)) == dec(book.qty), context
    ledger.close()
