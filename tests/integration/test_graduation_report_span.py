"""A TESTNET candidate's report spans from the first bar it could decide on in its stage, not from
its first fill: a trade the backtest made there that the venue never made (an entry the risk
manager denied, so no order reached the ledger) is listed as only in the backtest; the signals
still warm on the bars before; and with its first fill right after the stage began nothing changes.

Real parts: real BTC 1h candles, the ledger in a real SQLite file with the candidate's tagged fills
at the backtest's own bars, graduation.ledger_trades and the report's venue_report."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import numpy as np

from tests.fakes.real_candles import BTC_1H, candles
from workstation.backtest.costs import CostModel
from workstation.backtest.runner import Market
from workstation.commands.graduation_report import expected_trades, venue_report
from workstation.core.enums import Side
from workstation.core.types import Fill
from workstation.engine.kernel import ledger_path
from workstation.engine.ledger import Ledger
from workstation.graduation.compare import Trade
from workstation.graduation.ledger_trades import ledger_trading
from workstation.graduation.models import Candidate, Evidence, Performance, Stage

TESTNET = "bybit-testnet"
HOUR = 3_600_000
CASH = 10_000.0
WARM = 200


def market() -> Market:
    bars = candles(BTC_1H, first=5000, count=WARM + 60)
    return Market(TESTNET, "BTCUSDT", "1h", bars, np.zeros(len(bars)), 0)


def candidate(stage_since_ms: int) -> Candidate:
    evidence = Evidence(Performance(200, sharpe=2.0, max_drawdown=0.1), mc_band=(-0.05, 0.05), mc_window=5)
    return Candidate(
        1, "sma_cross", {"fast": 2, "slow": 3}, "BTCUSDT", "1h", evidence, 0, Stage.TESTNET, stage_since_ms
    )


def fills_of(trades: list[Trade]) -> list[Fill]:
    """The venue's fills of these backtest trades: a second into the bar each entry/exit was made at."""
    out = []
    for n, t in enumerate(trades):
        side, back = (Side.BUY, Side.SELL) if t.side > 0 else (Side.SELL, Side.BUY)
        qty = Decimal(str(round(t.qty, 3)))
        price = Decimal(str(round(t.entry_price, 1)))
        out.append(Fill(f"e{n}", f"ltg1-{n}a", "BTCUSDT", side, qty, price, Decimal("0.1"), "USDT", t.entry_ts + 1000))
        if t.exit_ts is not None and t.exit_price is not None:
            exit_price = Decimal(str(round(t.exit_price, 1)))
            out.append(
                Fill(f"x{n}", f"ltg1-{n}b", "BTCUSDT", back, qty, exit_price, Decimal("0.1"), "USDT", t.exit_ts + 1000)
            )
    return out


def report(home: Path, cand: Candidate, mkt: Market, made: list[Trade]) -> dict[str, object]:
    ledger = Ledger.open(ledger_path(home))
    for fill in fills_of(made):
        ledger.record_fill(fill, TESTNET)
    trading = ledger_trading(ledger, cand, TESTNET)
    ledger.close()
    return venue_report(home, cand, trading, mkt, CASH)


def test_report_when_the_backtest_traded_after_the_stage_began_but_before_the_first_fill_then_only_backtest(
    tmp_path: Path,
) -> None:
    mkt = market()
    ts = mkt.candles.ts
    began = int(ts[WARM - 1]) + HOUR + 5  # promoted a moment after bar WARM-1 closed: bar WARM is its first
    cand = candidate(began)
    backtest = expected_trades(mkt, cand, CostModel(), CASH, from_ts=int(ts[WARM]))
    assert len(backtest) >= 4
    denied = 2  # the venue never made the first two (the risk manager denied those entries)
    data = report(tmp_path, cand, mkt, backtest[denied:])

    assert data["span"][0] == int(ts[WARM]) and data["warmup_bars"] == WARM  # warm-up unchanged
    rows = data["trades"]  # type: ignore[assignment]
    statuses = [row["status"] for row in rows]  # type: ignore[index]
    assert statuses[:denied] == ["only backtest"] * denied
    assert [row["expected"]["entry_ts"] for row in rows[:denied]] == [t.entry_ts for t in backtest[:denied]]  # type: ignore[index]
    first_fill = backtest[denied].entry_ts + 1000
    assert all(row["expected"]["entry_ts"] < first_fill for row in rows[:denied])  # type: ignore[index]
    assert data["totals"]["only_backtest"] >= denied and data["totals"]["matched"] >= 1  # type: ignore[index]


def test_report_when_the_first_fill_is_the_stages_first_decision_then_the_span_starts_at_it(tmp_path: Path) -> None:
    mkt = market()
    ts = mkt.candles.ts
    backtest = expected_trades(mkt, candidate(0), CostModel(), CASH, from_ts=int(ts[WARM]))
    first = backtest[0]
    began = first.entry_ts - HOUR + 5  # the bar before the entry bar, closing after it, is its first decision
    data = report(tmp_path, candidate(began), mkt, backtest)
    assert data["span"][0] == first.entry_ts - HOUR
    assert data["totals"]["only_backtest"] == 0  # type: ignore[index]
