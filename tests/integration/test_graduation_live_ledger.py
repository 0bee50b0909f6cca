"""A LIVE (mainnet) candidate measured from the ledger through the same code as TESTNET: the ledger
holds candidate 1's orders (`lvg1-...`) and fills on bybit-mainnet, written through the Ledger API
as the engine writes them (the order row before it is sent, then the fill with the position after
it, the order marked filled, a balance snapshot), and the bars it traded on are stored under "bybit"
(where the live trader keeps mainnet market data). `graduation report 1` backtests it on them,
`graduation evaluate 1` measures it (no --on, no --venue), keeps it LIVE when the hard limits hold
and demotes it LIVE -> TESTNET on a drawdown breach, with the numbers in its history.

The trading is the live runner's rule on real BTC 1h bars: sma_cross 2/3 decides at a bar's close
and its market order fills a moment into the next bar, `SLIP` above or below that close.
"""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from tests.fakes.real_candles import BTC_1H, candles, funding
from tests.integration.cli_runner import run_cli
from workstation.core.clock import SystemClock
from workstation.core.enums import OrderStatus, Side, Venue
from workstation.core.types import Balance, Fill, OrderRequest
from workstation.data.arrays import CandleArrays
from workstation.data.store import CandleStore
from workstation.engine.kernel import ledger_path
from workstation.engine.ledger import Ledger
from workstation.engine.portfolio import PositionState, apply_fill
from workstation.engine.state import OrderRecord
from workstation.graduation.models import Evidence, Performance, Stage
from workstation.graduation.pipeline import DoctorVerdict, GraduationPipeline
from workstation.graduation.store import GraduationStore, store_path
from workstation.runtime import build_runtime
from workstation.strategies.base import signals
from workstation.strategies.builtin import build

HOUR = 3_600_000
MAINNET = Venue.BYBIT_MAINNET.value
FIRST, WARM, LIVE_BARS = 8000, 300, 72
QTY = Decimal("0.05")
SLIP = 0.0002  # the fill's price against the close the runner acted on, against the trade
TAKER = Decimal("0.00055")
LOOSE = ("graduation.candidate.min_trades=0", "graduation.candidate.min_sharpe=null",
         "graduation.candidate.min_profit_factor=null", "graduation.candidate.max_drawdown=null",
         "graduation.paper.min_days=0", "graduation.paper.min_trades=0", "graduation.paper.min_sharpe=null",
         "graduation.paper.min_profit_factor=null", "graduation.paper.require_mc_band=false",
         "graduation.testnet.min_days=0", "graduation.testnet.min_trades=0", "graduation.testnet.min_sharpe=null",
         "graduation.testnet.min_profit_factor=null", "graduation.testnet.require_mc_band=false")  # fmt: skip
LIVE_OK = ("graduation.live.max_drawdown=0.9", "graduation.live.max_slippage_bps=50",
           "graduation.live.min_fill_ratio=0.9")  # fmt: skip


def candidate_live(home: Path) -> None:
    """Candidate 1 (sma_cross 2/3 BTCUSDT 1h) through PAPER and TESTNET, approved for LIVE."""
    rt = build_runtime(home=home, config_file=None, overrides=LOOSE)
    store = GraduationStore.open(store_path(home))
    try:
        pipeline = GraduationPipeline(store, rt.settings.graduation, bus=rt.bus, clock=SystemClock())
        evidence = Evidence(Performance(200, sharpe=2.0, max_drawdown=0.1), mc_band=(-0.05, 0.05), mc_window=5)
        cand = pipeline.add(
            strategy="sma_cross", params={"fast": 2, "slow": 3}, symbol="BTCUSDT", interval="1h",
            evidence=evidence, by="test",
        )  # fmt: skip
        pipeline.evaluate(cand.id)
        good = Performance(50, max_drawdown=0.05, fill_ratio=1.0, slippage_bps=1.0)
        pipeline.evaluate(cand.id, good)
        assert pipeline.evaluate(cand.id, good).met
        pipeline.approve(cand.id, by="test", debug_mode=False, doctor=DoctorVerdict(True), mainnet_confirmed=True)
        assert pipeline.get(cand.id).stage is Stage.LIVE
    finally:
        store.close()


def store_market(home: Path) -> CandleArrays:
    """The bars the live trader stored for mainnet (its warm-up and the live ones) and the funding."""
    bars = candles(BTC_1H, first=FIRST, count=WARM + LIVE_BARS)
    f_ts, f_rate = funding()
    keep = (f_ts >= bars.ts[0]) & (f_ts <= bars.ts[-1])
    with CandleStore.open(home / "candles.db") as store:
        store.upsert_candles("bybit", "BTCUSDT", "1h", bars)
        store.upsert_funding("bybit", "BTCUSDT", f_ts[keep], f_rate[keep])
    return bars


def trade_into_ledger(home: Path, bars: CandleArrays) -> list[Fill]:
    """What the live runner does from the first live bar on, written as the engine writes it."""
    target = signals(build("sma_cross", {"fast": 2, "slow": 3}), bars).target
    ledger = Ledger.open(ledger_path(home))
    position = PositionState(MAINNET, "BTCUSDT")
    fills: list[Fill] = []
    held = 0.0
    try:
        for i in range(WARM, len(bars) - 1):
            if target[i] == held:
                continue
            side = Side.BUY if target[i] > held else Side.SELL
            ts = int(bars.ts[i + 1]) + 1_500  # a moment into the next bar
            price = Decimal(str(round(float(bars.close[i]) * (1 + SLIP if side is Side.BUY else 1 - SLIP), 1)))
            coid = f"lvg1-{ts:x}-{i:016x}"
            request = OrderRequest(coid, "BTCUSDT", side, QTY)
            record = OrderRecord.pending(request, MAINNET, ts - 1_000)
            ledger.insert_order(record)  # before it is sent
            fill = Fill(f"x{i}", coid, "BTCUSDT", side, QTY, price, (QTY * price * TAKER).quantize(Decimal("1e-8")),
                        "USDT", ts)  # fmt: skip
            position = apply_fill(position, fill, ts)
            assert ledger.record_fill(fill, MAINNET, position)
            filled = replace(record.order, status=OrderStatus.FILLED, filled_qty=QTY, avg_price=price, updated_ms=ts)
            ledger.save_order(replace(record, order=filled))
            fills.append(fill)
            held = float(target[i])
        equity = Decimal(10_000) + position.realized_pnl - position.fees
        ledger.snapshot_balances([Balance(MAINNET, "USDT", equity, equity)], int(bars.ts[-1]))
    finally:
        ledger.close()
    return fills


def sets(*overrides: str) -> list[str]:
    return [arg for o in overrides for arg in ("--set", o)]


def test_evaluate_when_a_live_candidate_traded_on_mainnet_then_its_ledger_fills_are_measured_and_a_breach_demotes(
    tmp_path: Path,
) -> None:
    home = tmp_path
    candidate_live(home)
    bars = store_market(home)
    fills = trade_into_ledger(home, bars)
    assert len(fills) >= 6

    report = run_cli("graduation", "report", "1", "--json", home=home)
    assert report.returncode == 0, report.stdout + report.stderr
    data = json.loads(report.stdout)
    assert data["venue"] == MAINNET and data["market_venue"] == "bybit" and data["backtest"] is True
    assert data["warmup_bars"] >= WARM - 1
    made = [row for row in data["trades"] if row["actual"] is not None]
    assert sum(r["actual"]["qty"] for r in made if r["actual"]["exit_ts"] is not None) * 2 + sum(
        r["actual"]["qty"] for r in made if r["actual"]["exit_ts"] is None
    ) == pytest.approx(float(sum(f.qty for f in fills)))
    # the runner's rule is the backtest's: every trade pairs, each entry SLIP worse than the next open
    matched = [row for row in data["trades"] if row["status"] == "matched"]
    assert len(matched) == len(data["trades"]) == data["totals"]["expected_trades"] > 0
    for row in matched:
        e = row["expected"]
        close = float(bars.close[int(np.searchsorted(bars.ts, e["entry_ts"])) - 1])
        assert row["entry_slippage_bps"] == pytest.approx(
            (round(close * (1 + SLIP), 1) - e["entry_price"]) / e["entry_price"] * 1e4
        )
        assert row["actual_fee_bps"] == pytest.approx(5.5, rel=1e-3)
        assert row["expected_fee_bps"] == pytest.approx(5.5, rel=1e-3)
    assert data["totals"]["expected_funding"] != 0 and data["totals"]["actual_funding"] == 0.0  # the venue settled none

    kept = run_cli(*sets(*LIVE_OK), "graduation", "evaluate", "1", home=home)
    assert kept.returncode == 0, kept.stdout + kept.stderr
    measured = json.loads(kept.stdout.split(f"measured on {MAINNET}: ", 1)[1].splitlines()[0])
    closed = [r["actual"] for r in made if r["actual"]["exit_ts"] is not None]
    assert measured["trades"] == len(closed) and measured["fill_ratio"] == 1.0
    assert measured["slippage_bps"] == pytest.approx(
        np.mean([s for r in matched for s in (r["entry_slippage_bps"], r["exit_slippage_bps"]) if s is not None])
    )
    assert "candidate 1 (LIVE -> LIVE): criteria met" in kept.stdout, kept.stdout

    assert measured["max_drawdown"] > 0.0001
    breach = run_cli(*sets(*LIVE_OK, "graduation.live.max_drawdown=0.0001"), "graduation", "evaluate", "1",
                     home=home)  # fmt: skip
    assert "candidate 1 (LIVE -> TESTNET)" in breach.stdout and "max drawdown" in breach.stdout, breach.stdout
    shown = json.loads(run_cli("graduation", "show", "1", "--json", home=home).stdout)
    assert shown["stage"] == "TESTNET"
    last = shown["history"][-1]
    assert (last["from"], last["to"], last["by"]) == ("LIVE", "TESTNET", "graduation")
    assert last["reason"].startswith("breach: max drawdown") and last["metrics"]["performance"] == measured
