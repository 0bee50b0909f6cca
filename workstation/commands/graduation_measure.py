"""`workstation graduation evaluate|report`: a candidate's trading read from the ledger of its
stage's venue, the stored candles to backtest it on, and the performance measured from both.

A live venue's candles are those the live trader stored as it traded (its warm-up, streamed and
backfilled bars) under the market data's venue name (`market_venue`: "bybit-testnet" for testnet,
"bybit" for mainnet), read from `warmup_bars` before the candidate's first fill; --venue overrides.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer

from workstation.commands.common import fail, options, out_console
from workstation.core.enums import Venue
from workstation.graduation.models import Candidate, Performance


@dataclass(frozen=True, slots=True)
class MeasureOptions:
    """What `graduation report` and `evaluate` read a candidate's trading from (their shared options)."""

    start: str | None = None  # --start: UTC date/time or ms (default: the span of its fills)
    end: str | None = None  # --end, exclusive
    venue: str | None = None  # --venue: the candle store's venue (default: the stage venue's market data)
    db: str | None = None  # --db: candle store file (default: <home>/candles.db)
    on: str | None = None  # --on: the ledger venue (default: the candidate's stage)
    all_fills: bool = False  # --all-fills: every fill on the symbol, not only the candidate's tagged orders


def candidate_trading(ctx: typer.Context, cand: Candidate, opts: MeasureOptions) -> tuple[Any, Any]:
    """The candidate's ledger trading on its venue and the candles to backtest it on (None: not stored)."""
    from workstation.commands import backtest_common as bc
    from workstation.commands.graduation_report import load_trading, stage_venue
    from workstation.data.intervals import interval_ms, parse_time

    rt = options(ctx).runtime()
    start, end, db = opts.start, opts.end, opts.db
    try:
        where = stage_venue(cand, opts.on)
        lo = None if start is None else parse_time(start)
        hi = None if end is None else parse_time(end)
        trading = load_trading(rt.home, cand, where, lo, hi, tagged=not opts.all_fills)
    except (LookupError, ValueError) as exc:
        raise fail(f"error: {exc}") from exc
    venue = opts.venue or market_venue(trading.venue)
    if start is not None or end is not None:
        return trading, bc.market(ctx, db, cand.symbol, cand.interval, venue, start, end, True)
    first, last = trading.span or (0, 0)
    step = interval_ms(cand.interval)
    lo = first - first % step
    if trading.venue != Venue.PAPER.value:  # the bars the live trader warmed up on, and the one it decided on
        lo -= (warmup_bars(cand) + 1) * step
    try:
        mkt = stored_market(ctx, db, cand, venue, lo, last - last % step + step)
    except (LookupError, ValueError):
        mkt = None
    return trading, mkt


def market_venue(trading_venue: str) -> str | None:
    """The candle store's venue of the market data a live venue trades on, as the live trader stores
    it (None on paper: a replay trades whatever stored venue it was given)."""
    if trading_venue == Venue.PAPER.value:
        return None
    from workstation.live.feed import market_data_venue

    return market_data_venue(Venue(trading_venue))


def warmup_bars(cand: Candidate) -> int:
    """The bars before its first fill the backtest warms the candidate's signals on: the live
    runner's own window (StrategyRunner window = the trader's history: at least 1000 bars and ten
    strategy warm-ups)."""
    from workstation.strategies.builtin import build

    return max(1000, 10 * build(cand.strategy, cand.params).warmup)


def stored_market(ctx: typer.Context, db: str | None, cand: Candidate, venue: str | None, lo: int, hi: int) -> Any:
    from workstation.backtest.runner import load_market
    from workstation.data.store import CandleStore
    from workstation.runtime import resolve_home

    path = db or resolve_home(options(ctx).home) / "candles.db"
    if not Path(path).exists():
        raise LookupError(f"no candle store at {path}")
    with CandleStore.open(path) as store:
        return load_market(store, cand.symbol, cand.interval, venue=venue, start=lo, end=hi, allow_gaps=True)


def measured(ctx: typer.Context, cand: Candidate, opts: MeasureOptions) -> Performance:
    from workstation.commands.graduation_report import measured_performance

    trading, mkt = candidate_trading(ctx, cand, opts)
    rt = options(ctx).runtime()
    try:
        perf, _report = measured_performance(rt.home, cand, trading, mkt, rt.settings.trading.paper_balance)
    except (LookupError, ValueError) as exc:
        raise fail(f"error: {exc}") from exc
    label = "paper" if trading.venue == Venue.PAPER.value else trading.venue
    out_console.print(f"measured on {label}: {json.dumps(perf.to_json())}", markup=False)
    return perf
