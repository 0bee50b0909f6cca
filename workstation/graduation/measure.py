"""A stage's measured performance from the round trips a venue made (graduation.compare.Trade):
what `graduation evaluate ID --from-paper` judges a PAPER candidate on.

Equity is walked from the starting balance by realised P&L (open positions are not marked), so a
trade's return is its P&L over the equity before its entry, as the backtest's trade_returns does,
and the daily equity is the realised equity at the end of each UTC day.
"""

from __future__ import annotations

from collections.abc import Sequence

from workstation.graduation.compare import Trade
from workstation.graduation.models import Performance

DAY_MS = 86_400_000


def stage_performance(
    trades: Sequence[Trade],
    *,
    cash: float,
    window: int,
    slippage_bps: float | None = None,
    fill_ratio: float | None = None,
) -> Performance:
    closed = sorted((t for t in trades if t.exit_ts is not None and t.pnl is not None), key=lambda t: t.exit_ts or 0)
    if not closed:
        return Performance(0, slippage_bps=slippage_bps, fill_ratio=fill_ratio)
    realised: list[tuple[int, float]] = []  # (exit ts, equity after it)
    equity = cash
    for t in closed:
        equity += t.pnl or 0.0
        realised.append((t.exit_ts or 0, equity))

    def equity_before(ts: int) -> float:
        value = cash
        for exit_ts, after in realised:
            if exit_ts > ts:
                break
            value = after
        return value

    returns = []
    for t in sorted(closed, key=lambda t: t.entry_ts):
        before = equity_before(t.entry_ts)
        returns.append(max((t.pnl or 0.0) / before, -1.0) if before > 0 else 0.0)
    first_day = min(t.entry_ts for t in closed) // DAY_MS
    last_day = realised[-1][0] // DAY_MS
    daily = [cash] + [equity_before((day + 1) * DAY_MS - 1) for day in range(first_day, last_day + 1)]
    return Performance.measure(daily, returns, window=window, slippage_bps=slippage_bps, fill_ratio=fill_ratio)
