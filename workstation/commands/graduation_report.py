"""`workstation graduation report ID` and `evaluate ID`: the candidate's own fills, read from the
ledger of the venue its stage trades on (paper, testnet or mainnet; its orders carry its id,
graduation.tagging), against a backtest of the same strategy and parameters over the same candles,
trade by trade (graduation.compare), and measured as the stage's Performance (graduation.measure).

The backtest runs with the paper account's own cost model and starting balance on paper, and with
the fees a live venue charges there (Bybit linear: `venue_cost`), so what differs is what trading
through the order path changed: risk sizing, attached stops, denials, slippage, fees. On a live
venue the backtest starts where the candidate could first trade there: its signals warmed on the
stored bars before, its account flat at the first bar that closed after it entered its stage (or the
bar before its first fill, when that is earlier: `stage_start`, `expected_trades(from_ts=)`), so an
entry the venue never made (denied by the risk manager) is listed as only in the backtest. Limit:
the stage's start is when it could trade, not when a trader first ran for it.
On a live venue the actual funding is what the venue settled (the ledger's funding table, kept from
its Funding executions) while each trade was open, beside the backtest's from the stored funding
rates; paper's is its account's own total.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from workstation.backtest import fills as F
from workstation.backtest import simulator as S
from workstation.backtest.costs import CostModel
from workstation.backtest.runner import Market
from workstation.core.enums import Venue
from workstation.data.intervals import interval_ms
from workstation.engine.kernel import ledger_path
from workstation.engine.ledger import Ledger
from workstation.graduation.compare import Trade, pair, totals
from workstation.graduation.ledger_trades import LedgerTrading, ledger_trading
from workstation.graduation.measure import stage_performance
from workstation.graduation.models import Candidate, Performance
from workstation.graduation.tagging import TAG
from workstation.paper.store import read_paper
from workstation.strategies.base import signals
from workstation.strategies.builtin import build

ENVS = {Venue.PAPER.value: "paper", Venue.BYBIT_TESTNET.value: "testnet", Venue.BYBIT_MAINNET.value: "mainnet"}
LIVE_FUNDING = (
    "the funding settlements the venue booked (ledger, by exec id) after each trade's entry fill and no later "
    "than its exit fill on its symbol; positive = paid, negative = received; P&L is after them"
)


def venue_cost(venue: str) -> CostModel:
    """What a live venue charges: Bybit linear perpetuals, taker 0.055% (market and stop fills),
    maker 0.02%, no modelled slippage (the report measures it). The ledger keeps the fee of every
    fill as the venue reported it, so the report shows both."""
    del venue  # every live venue here is Bybit linear
    return CostModel()


def trading_start(market: Market, first_fill_ms: int) -> int:
    """The bar the trader decided its first fill on: the one before the bar that fill fell in (the
    runner acts at the next bar's open on the bar that just closed); the market's first bar at the
    earliest."""
    ts = market.candles.ts
    step = interval_ms(market.interval)
    i = int(np.searchsorted(ts, first_fill_ms - first_fill_ms % step - step))
    return int(ts[min(i, len(ts) - 1)])


def stage_start(market: Market, candidate: Candidate, before: int) -> int:
    """The bar a live candidate's span starts at: the first one that closed after it entered its
    stage (the first it could have decided on there), when that is earlier than `before` (the bar
    of its first fill's decision). The backtest's trades from there that the venue never made (an
    entry the risk manager denied) are then listed as only in the backtest. The signals still warm
    on every bar before it, and at least the strategy's own warm-up is left before it."""
    ts = market.candles.ts
    step = interval_ms(market.interval)
    i = int(np.searchsorted(ts, candidate.stage_since_ms - step, side="right"))
    i = max(i, build(candidate.strategy, candidate.params).warmup)
    return int(ts[i]) if i < len(ts) and int(ts[i]) < before else before


def expected_trades(
    market: Market, candidate: Candidate, cost: Any, cash: float, *, from_ts: int | None = None
) -> list[Trade]:
    """The backtest's round trips over `market`. `from_ts`: the signals see every bar (the warm-up),
    the account starts flat with `cash` at that bar and trades from there."""
    candles, funding = market.candles, market.funding
    sig = signals(build(candidate.strategy, candidate.params), candles)
    if from_ts is not None:
        start = slice(int(np.searchsorted(candles.ts, from_ts)), None)
        candles, funding, sig = candles.take(start), funding[start], sig.take(start)
    result = S.simulate(candles, sig, cost, cash=cash, funding=funding)
    ts = candles.ts
    out = []
    for row in result.trades:
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


def ledger_of(home: Path) -> Ledger:
    path = ledger_path(home)
    if not path.exists():
        raise LookupError(f"no ledger at {path}: nothing has traded in this home yet")
    return Ledger.open(path)


def stage_venue(candidate: Candidate, on: str | None) -> str:
    """The venue measured: `on` when given, else where the candidate's stage trades (paper before that)."""
    if on is not None:
        return Venue(on).value
    return (candidate.venue or Venue.PAPER).value


def load_trading(
    home: Path, candidate: Candidate, venue: str, start_ms: int | None, end_ms: int | None, *, tagged: bool = True
) -> LedgerTrading:
    """The candidate's fills and orders on `venue` from the ledger. Raises LookupError when it has none."""
    ledger = ledger_of(home)
    try:
        trading = ledger_trading(ledger, candidate, venue, start_ms=start_ms, end_ms=end_ms, tagged=tagged)
    finally:
        ledger.close()
    if not trading.fills:
        whose = (
            f"candidate {candidate.id}'s orders (client order ids tagged {TAG}{candidate.id})"
            if tagged
            else "any order"
        )
        raise LookupError(
            f"the ledger has no fills of {whose} on {venue} for {candidate.symbol}"
            f"{' in that span' if start_ms is not None or end_ms is not None else ''}: trade it there first"
            f" (`workstation trade ... --env {ENVS.get(venue, 'testnet')}`)"
        )
    return trading


def starting_cash(home: Path, trading: LedgerTrading, paper_balance: float) -> float:
    """The equity the candidate's returns are measured on: the paper balance on paper; on a live venue
    the latest USDT balance the ledger snapshotted less the candidate's realised P&L (the balance
    before it traded, as near as the ledger knows), the paper balance when there is no snapshot."""
    if trading.venue == Venue.PAPER.value:
        return paper_balance
    ledger = ledger_of(home)
    try:
        usdt = [b for b in ledger.latest_balances(trading.venue) if b.coin == "USDT"]
    finally:
        ledger.close()
    if not usdt:
        return paper_balance
    realised = sum(t.pnl or 0.0 for t in trading.trades)
    return max(float(usdt[0].total) - realised, 1e-9)


def venue_report(
    home: Path, candidate: Candidate, trading: LedgerTrading, market: Market | None, cash: float
) -> dict[str, Any]:
    """The candidate's round trips on its venue against a backtest over the same candles (`market`;
    None: no stored candles, the report lists what it made only). On a live venue `market` holds the
    warm-up before the first fill too; the backtest trades from `trading_start`."""
    on_paper = trading.venue == Venue.PAPER.value
    paper = read_paper(home, cash=cash) if on_paper else None
    cost = paper.account.cost if paper is not None else venue_cost(trading.venue)
    actual = trading.trades
    start = None if on_paper or market is None or not trading.fills else trading_start(market, trading.fills[0].ts)
    if (
        start is not None
        and market is not None
        and candidate.venue is not None
        and candidate.venue.value == trading.venue
    ):
        start = stage_start(market, candidate, start)
    expected = expected_trades(market, candidate, cost, cash, from_ts=start) if market is not None else []
    rows = pair(expected, actual, interval_ms(market.interval) if market is not None else 1)
    book = paper.account.books.get(candidate.symbol) if paper is not None else None
    ts = market.candles.ts if market is not None else np.empty(0, dtype=np.int64)
    traded = ts if start is None else ts[int(np.searchsorted(ts, start)) :]
    span = [int(traded[0]), int(traded[-1])] if len(traded) else list(trading.span or ())
    data: dict[str, Any] = {
        "candidate": candidate.id,
        "strategy_id": candidate.strategy_id,
        "venue": trading.venue,
        "market_venue": None if market is None else market.venue,
        "span": span,
        "bars": len(traded),
        "warmup_bars": len(ts) - len(traded),
        "backtest": market is not None,
        "cost": {
            "taker_fee": cost.taker_fee,
            "maker_fee": cost.maker_fee,
            "slippage_bps": cost.slippage_bps,
            "cash": cash,
        },
        "totals": totals(rows, actual_funding=book.funding_paid if book is not None else None),
        "trades": [r.to_json() for r in rows],
    }
    if not on_paper:
        data["actual_funding_note"] = LIVE_FUNDING
        data["funding_settlements"] = [
            {"exec_id": p.exec_id, "ts": p.ts, "amount": float(p.amount), "rate": None if p.rate is None else float(p.rate),
             "position_qty": float(p.position_qty)}
            for p in trading.funding
        ]  # fmt: skip
    return data


def measured_performance(
    home: Path, candidate: Candidate, trading: LedgerTrading, market: Market | None, paper_balance: float
) -> tuple[Performance, dict[str, Any]]:
    """What the candidate did on its venue as the stage's Performance: its round trips from the ledger
    (graduation.measure), the mean slippage against the backtest's prices (entries and exits, bp,
    positive = cost; None without stored candles) and the share of its market and limit orders that
    filled. Also returns the report it was measured from."""
    cash = starting_cash(home, trading, paper_balance)
    data = venue_report(home, candidate, trading, market, cash)
    slips = [
        s for row in data["trades"] for s in (row["entry_slippage_bps"], row["exit_slippage_bps"]) if s is not None
    ]
    perf = stage_performance(
        trading.trades,
        cash=cash,
        window=candidate.evidence.mc_window,
        slippage_bps=sum(slips) / len(slips) if slips and market is not None else None,
        fill_ratio=trading.fill_ratio,
    )
    return perf, data
