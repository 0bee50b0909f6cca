"""`workstation graduation report ID`: the candidate's fills on the paper venue against a backtest of
the same strategy and parameters over the same candles, trade by trade (graduation.compare).

The backtest runs with the paper account's own cost model and starting balance, so what differs is
what trading through the order path changed: risk sizing, attached stops, denials, slippage.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from workstation.backtest import fills as F
from workstation.backtest import simulator as S
from workstation.backtest.runner import Market, run_backtest
from workstation.graduation.compare import Trade, pair, round_trips, totals
from workstation.graduation.measure import stage_performance
from workstation.graduation.models import Candidate, Performance
from workstation.paper.store import read_paper
from workstation.strategies.builtin import build


def expected_trades(market: Market, candidate: Candidate, cost: Any, cash: float) -> list[Trade]:
    bt = run_backtest(
        build(candidate.strategy, candidate.params), market.candles, cost, cash=cash, funding=market.funding
    )
    ts = market.candles.ts
    out = []
    for row in bt.result.trades:
        reason = int(row[S.T_REASON])
        still_open = reason == F.EXIT_END
        exit_i = int(row[S.T_EXIT_I])
        out.append(
            Trade(
                entry_ts=int(ts[int(row[S.T_ENTRY_I])]),
                exit_ts=None if still_open or exit_i < 0 else int(ts[exit_i]),
                side=int(row[S.T_SIDE]),
                qty=float(row[S.T_QTY]),
                entry_price=float(row[S.T_ENTRY_PX]),
                exit_price=None if still_open else float(row[S.T_EXIT_PX]),
                fees=float(row[S.T_FEES]),
                funding=float(row[S.T_FUNDING]),
                pnl=None if still_open else float(row[S.T_PNL]),
                exit_reason="open" if still_open else F.EXIT_NAMES[reason],
            )
        )
    return out


def paper_report(home: Path, candidate: Candidate, market: Market, cash: float) -> dict[str, Any]:
    """Raises LookupError when the home's paper account never traded."""
    paper = read_paper(home, cash=cash)
    if paper is None:
        raise LookupError("the paper account has not traded yet (run `workstation trade --env paper` first)")
    account = paper.account
    lo, hi = int(market.candles.ts[0]), int(market.candles.ts[-1])
    fills = [
        (f.ts, int(f.side), f.qty, f.price, f.fee, F.EXIT_NAMES[f.reason] if f.reason else "signal")
        for f in account.fills
        if f.symbol == candidate.symbol and lo <= f.ts <= hi
    ]
    actual = round_trips(fills)
    expected = expected_trades(market, candidate, account.cost, cash)
    rows = pair(expected, actual)
    book = account.books.get(candidate.symbol)
    return {
        "candidate": candidate.id,
        "strategy_id": candidate.strategy_id,
        "venue": "paper",
        "span": [lo, hi],
        "bars": int(np.size(market.candles.ts)),
        "totals": totals(rows, actual_funding=book.funding_paid if book is not None else 0.0),
        "trades": [r.to_json() for r in rows],
    }


def paper_performance(
    home: Path, candidate: Candidate, market: Market, cash: float
) -> tuple[Performance, dict[str, Any]]:
    """What the candidate did on paper over `market`'s candles, as the stage's Performance: its round
    trips (graduation.measure), the mean slippage against the backtest's prices (entries and exits,
    bp, positive = cost) and the share of its market and limit orders that filled. Also returns the
    report it was measured from. Raises LookupError when the paper account never traded."""
    data = paper_report(home, candidate, market, cash)
    actual = [Trade(**row["actual"]) for row in data["trades"] if row["actual"] is not None]
    slips = [
        s for row in data["trades"] for s in (row["entry_slippage_bps"], row["exit_slippage_bps"]) if s is not None
    ]
    paper = read_paper(home, cash=cash)
    assert paper is not None  # paper_report has read it
    lo, hi = data["span"]
    sent = [
        o
        for o in paper.account.orders.values()
        if o.request.symbol == candidate.symbol and math.isnan(o.trigger) and not o.is_open and lo <= o.created_ms <= hi
    ]
    filled = sum(o.filled_qty > 0 for o in sent)
    perf = stage_performance(
        actual,
        cash=cash,
        window=candidate.evidence.mc_window,
        slippage_bps=sum(slips) / len(slips) if slips else None,
        fill_ratio=filled / len(sent) if sent else None,
    )
    return perf, data
