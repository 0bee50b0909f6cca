"""Actual funding in the backtest-vs-live report of a TESTNET candidate: `workstation trade --env
testnet` (a real process, pybit and the private stream to the streaming fake Bybit, real BTC 1h
candles) trades candidate 1 across funding settlements; the fake settles each one on the position
open at that time (a Funding execution on REST and the stream, execFee = size x mark x rate for a
long, Bybit's sign); the ledger keeps each once, a restart's REST pull adds none, and `graduation
report 1 --json` shows the fake's settlements per trade (those after its entry and no later than
its exit) and in totals, the trades' P&L after them, beside the backtest's expected funding.

The fake's matching clock follows the streamed bars (test_graduation_testnet_report), so a
settlement at a bar's open is settled before the orders the trader sends on that bar."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from tests.fakes.bybit_public_ws import FakePublicWs
from tests.fakes.bybit_ws import StreamingFakeBybit
from tests.integration.cli_runner import run_cli
from tests.integration.live_trader import KEY, SECRET, live_trader, real_hours, serve_history
from tests.integration.test_graduation_testnet_ledger import TESTNET_OK, candidate_in_testnet, sets
from tests.integration.test_graduation_testnet_report import feed_on_bar_clock
from workstation.core.enums import Venue
from workstation.core.types import ApiCredentials
from workstation.data.store import CandleStore
from workstation.engine.kernel import EngineKernel, ledger_path
from workstation.engine.ledger import Ledger
from workstation.exchanges.bybit.client import BybitExecutionClient

LIVE_BARS = 30
EIGHT_H = 28_800_000
TESTNET = Venue.BYBIT_TESTNET.value


def funding_times(first_ts: int, last_ts: int) -> list[int]:
    """The 00:00/08:00/16:00 UTC settlements after the first live bar's open, up to the last's close."""
    t = first_ts - first_ts % EIGHT_H + EIGHT_H
    out = []
    while t <= last_ts + 3_600_000:
        out.append(t)
        t += EIGHT_H
    return out


async def restart_engine(home: Path, fake: StreamingFakeBybit) -> int:
    """A kernel on the home's ledger as the next trader would start it: the start's reconciliation
    pulls the executions (funding included) over REST again. The funding rows after it."""
    client = BybitExecutionClient(Venue.BYBIT_TESTNET, ApiCredentials(KEY, SECRET), base_url=fake.base_url)
    kernel = EngineKernel(client=client, ledger_path=ledger_path(home))
    report = await kernel.start()
    assert report is not None and report.new_funding == 0, report
    count = len(kernel.ledger.funding(TESTNET))
    await kernel.stop()
    return count


def test_report_when_a_testnet_candidate_held_positions_across_funding_then_actual_funding_is_the_venues(
    tmp_path: Path, public_ws: FakePublicWs
) -> None:
    home = tmp_path / "home"
    candidate_in_testnet(home)
    warm, live = real_hours(200, LIVE_BARS)
    times = funding_times(int(live.ts[0]), int(live.ts[-1]))
    rates = [("0.0001", "-0.00025", "0.0003", "0.00005")[i % 4] for i in range(len(times))]
    with StreamingFakeBybit() as fake:
        serve_history(fake, warm)
        fake.set_funding("BTCUSDT", list(zip(times, rates, strict=True)))
        with live_trader(home, fake, public_ws, "--bars", str(LIVE_BARS), debug=False, stream_url=fake.ws.url) as t:
            t.wait_for("READY BTCUSDT 1h")
            feed_on_bar_clock(t, fake, public_ws, live)
            out = t.finish()
        assert t.process.returncode == 0, out
        settled = fake.funding_executions("BTCUSDT")
        assert len(settled) >= 1, "no settlement fell while a position was open"
        assert asyncio.run(restart_engine(home, fake)) == len(settled)  # a restart adds nothing

    paid = {e["execId"]: Decimal(e["execFee"]) for e in settled}
    for e in settled:
        sign = 1 if e["side"] == "Buy" else -1
        assert Decimal(e["execFee"]) == sign * Decimal(e["execQty"]) * Decimal(e["markPrice"]) * Decimal(e["feeRate"])
    ledger = Ledger.open(ledger_path(home))
    stored = ledger.funding(TESTNET, "BTCUSDT")
    ledger.close()
    with CandleStore.open(home / "candles.db") as candles:  # the rates the backtest's funding comes from
        candles.upsert_funding("bybit-testnet", "BTCUSDT", np.array(times), np.array([float(r) for r in rates]))
    assert {p.exec_id: p.amount for p in stored} == paid  # each exactly once

    report = run_cli("graduation", "report", "1", "--json", home=home)
    assert report.returncode == 0, report.stdout + report.stderr
    data = json.loads(report.stdout)
    assert {s["exec_id"] for s in data["funding_settlements"]} == set(paid)
    totals = data["totals"]
    assert totals["actual_funding"] == pytest.approx(float(sum(paid.values())))
    assert "positive = paid" in data["actual_funding_note"]
    made = [row["actual"] for row in data["trades"] if row["actual"] is not None]
    assert sum(a["funding"] != 0 for a in made) >= 1
    for a in made:
        exit_ts = a["exit_ts"]
        mine = [p for p in stored if a["entry_ts"] < p.ts and (exit_ts is None or p.ts <= exit_ts)]
        assert a["funding"] == pytest.approx(float(sum(p.amount for p in mine)))
        if a["pnl"] is not None:  # after fees and funding
            gross = a["side"] * a["qty"] * (a["exit_price"] - a["entry_price"])
            assert a["pnl"] == pytest.approx(gross - a["fees"] - a["funding"])
    # beside the backtest's: the same settlements on its own positions (sized without the risk
    # manager's stop distance, so compared per unit held), valued at the bar's open
    matched = [row for row in data["trades"] if row["status"] == "matched"]
    both = [r for r in matched if r["actual"]["funding"] != 0]
    assert totals["expected_funding"] != 0 and both
    for row in both:
        e, a = row["expected"], row["actual"]
        assert e["funding"] / e["qty"] == pytest.approx(a["funding"] / a["qty"], rel=2e-3)

    text = run_cli("graduation", "report", "1", home=home)
    assert f"/ {totals['actual_funding']:.2f}; P&L" in text.stdout, text.stdout

    judged = run_cli(*sets(*TESTNET_OK), "graduation", "evaluate", "1", home=home)
    assert judged.returncode == 0, judged.stdout + judged.stderr
