"""`workstation headless --replay` trades the home's journalled paper account (resumed after a
restart, locked while it trades) with the risk manager on the order path, like `trade --env paper`."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

from tests.integration.cli_runner import run_cli
from tests.integration.headless_process import Headless, headless_engine
from workstation.paper.store import journal_path

ARGS = ("--set", "trading.venue=paper", "--set", "debug_mode=false")
ENV = {"WORKSTATION_REPLAY": "BTCUSDT:1m:sma_cross"}
DONE = re.compile(r"paper replay done: (\d+) candles")


def _replay_done(home: Path, runs_before: int, timeout_s: float = 90.0) -> int:
    """Candles fed by the next replay to finish (read from the engine's log)."""
    log = home / "logs" / "workstation.log"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = DONE.findall(_log(home)) if log.exists() else []
        if len(found) > runs_before:
            return int(found[runs_before])
        time.sleep(0.2)
    raise AssertionError("the headless paper replay did not finish in time")


def _log(home: Path) -> str:
    return (home / "logs" / "workstation.log").read_text(encoding="utf-8")


def _orders(engine: Headless) -> list[dict[str, Any]]:
    return list(engine.get("/api/orders", engine.tokens.read).json())


def test_headless_replay_when_restarted_then_it_resumes_the_journalled_account_through_the_risk_manager(
    isolated_home: Path,
) -> None:
    home = isolated_home
    with headless_engine(home, *ARGS, env=ENV) as engine:
        fed = _replay_done(home, 0)
        first = _orders(engine)
        # one trader per paper account: a CLI trader on the same home is refused while it runs
        busy = run_cli(*ARGS, "trade", "--strategy", "sma_cross", "--env", "paper", home=home)
    assert fed > 100 and len(first) >= 4 and "Filled" in {o["status"] for o in first}
    sized = re.findall(r"workstation\.risk\.engine +risk (OrderSized|OrderSizeReduced) ", _log(home))
    assert len(sized) >= len(first), "the risk manager did not size the orders: it is not on the order path"
    assert busy.returncode != 0 and "another process is trading the paper account" in busy.stdout + busy.stderr
    assert journal_path(home).stat().st_size > 0
    with headless_engine(home, *ARGS, env=ENV) as engine:
        assert _replay_done(home, 1) == 0  # the restored account already saw every candle
        again = _orders(engine)
    assert sorted(o["client_order_id"] for o in again) == sorted(o["client_order_id"] for o in first)
    assert [(o["status"], o["filled_qty"]) for o in sorted(again, key=lambda o: o["client_order_id"])] == [
        (o["status"], o["filled_qty"]) for o in sorted(first, key=lambda o: o["client_order_id"])
    ]
