"""Performance figures from an equity curve and a trade list, and the benchmark comparison.

Returns are per bar; annualisation uses the observed number of bars per year (so 24/7 crypto and
weekday-only stock data both come out right). The risk-free rate is 0.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import numpy as np

from workstation.backtest import fills as F
from workstation.backtest import simulator as S
from workstation.backtest.simulator import SimResult

YEAR_MS = 365.25 * 86_400_000


def _iso(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC).isoformat().replace("+00:00", "Z")


def _finite(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def bar_returns(equity: np.ndarray) -> np.ndarray:
    prev = equity[:-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(prev > 0, equity[1:] / prev - 1.0, 0.0)
    return r


def periods_per_year(ts: np.ndarray) -> float:
    span = (ts[-1] - ts[0]) / YEAR_MS if len(ts) > 1 else 0.0
    return (len(ts) - 1) / span if span > 0 else math.nan


def drawdown(equity: np.ndarray) -> np.ndarray:
    peak = np.maximum.accumulate(equity)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(peak > 0, equity / peak - 1.0, 0.0)


def max_drawdown_duration_ms(ts: np.ndarray, equity: np.ndarray) -> int:
    """Longest time from a peak until equity is back above it (or the end of the data)."""
    if len(equity) == 0:
        return 0
    peak = np.maximum.accumulate(equity)
    at_peak = equity >= peak
    peak_ts = ts[np.maximum.accumulate(np.where(at_peak, np.arange(len(ts)), 0))]
    # a stretch under water ends at the bar that regains the peak (or at the last bar)
    recovered = np.flatnonzero(at_peak[1:] & ~at_peak[:-1]) + 1
    spans = ts[recovered] - peak_ts[recovered - 1]
    tail = ts[-1] - peak_ts[-1]
    return int(max(spans.max(initial=0), tail))


def trade_stats(trades: np.ndarray) -> dict[str, Any]:
    closed = trades[trades[:, S.T_REASON] != F.EXIT_END] if len(trades) else trades
    pnl = closed[:, S.T_PNL] if len(closed) else np.empty(0)
    wins, losses = pnl[pnl > 0], pnl[pnl < 0]
    gross_loss = -losses.sum()
    return {
        "trade_count": len(closed),
        "open_trades": len(trades) - len(closed),
        "win_rate": _finite(len(wins) / len(pnl)) if len(pnl) else None,
        "profit_factor": _finite(wins.sum() / gross_loss) if gross_loss > 0 else None,
        "expectancy": _finite(pnl.mean()) if len(pnl) else None,
        "average_trade_return": _finite(
            float(np.mean(pnl / (closed[:, S.T_QTY] * closed[:, S.T_ENTRY_PX]))) if len(pnl) else math.nan
        ),
        "best_trade": _finite(pnl.max()) if len(pnl) else None,
        "worst_trade": _finite(pnl.min()) if len(pnl) else None,
    }


def compute_metrics(result: SimResult) -> dict[str, Any]:
    eq, ts = result.equity, result.ts
    if len(eq) < 2:
        raise ValueError("need at least two bars for metrics")
    r = bar_returns(eq)
    ppy = periods_per_year(ts)
    years = (ts[-1] - ts[0]) / YEAR_MS
    growth = eq[-1] / result.initial_cash
    cagr = growth ** (1 / years) - 1 if growth > 0 and years > 0 else -1.0
    sd = r.std(ddof=1) if len(r) > 1 else math.nan
    downside = math.sqrt(np.mean(np.minimum(r, 0.0) ** 2)) if len(r) else math.nan
    dd = drawdown(eq)
    mdd = float(dd.min())
    out: dict[str, Any] = {
        "initial_cash": result.initial_cash,
        "final_equity": float(eq[-1]),
        "total_return": float(growth - 1),
        "cagr": _finite(cagr),
        "volatility": _finite(sd * math.sqrt(ppy)),
        "sharpe": _finite(r.mean() / sd * math.sqrt(ppy)) if sd > 0 else None,
        "sortino": _finite(r.mean() / downside * math.sqrt(ppy)) if downside > 0 else None,
        "max_drawdown": mdd,
        "max_drawdown_duration_days": max_drawdown_duration_ms(ts, eq) / 86_400_000,
        "calmar": _finite(cagr / -mdd) if mdd < 0 else None,
        "exposure": float(np.mean(result.position != 0.0)),
        "fees_paid": result.fees_paid,
        "funding_paid": result.funding_paid,
        "bars": len(eq),
        "start": _iso(int(ts[0])),
        "end": _iso(int(ts[-1])),
    }
    out.update(trade_stats(result.trades))
    return out


def alpha_beta(strategy: np.ndarray, benchmark: np.ndarray, ppy: float) -> tuple[float | None, float | None]:
    """Beta of strategy bar returns on benchmark bar returns; alpha annualised (per-bar * ppy)."""
    rs, rb = bar_returns(strategy), bar_returns(benchmark)
    var = rb.var()
    if not len(rb) or var == 0:
        return None, None
    beta = float(np.mean((rs - rs.mean()) * (rb - rb.mean())) / var)
    alpha = float((rs.mean() - beta * rb.mean()) * ppy)
    return _finite(alpha), _finite(beta)


def benchmark_metrics(result: SimResult, bench: SimResult) -> dict[str, Any]:
    m = compute_metrics(bench)
    alpha, beta = alpha_beta(result.equity, bench.equity, periods_per_year(result.ts))
    keys = ("final_equity", "total_return", "cagr", "sharpe", "sortino", "max_drawdown", "calmar", "fees_paid")
    return {"strategy": "buy_and_hold", **{k: m[k] for k in keys}, "alpha": alpha, "beta": beta}


def trade_list(result: SimResult) -> list[dict[str, Any]]:
    ts = result.ts
    out = []
    for row in result.trades:
        exit_i = int(row[S.T_EXIT_I])
        out.append(
            {
                "entry_time": _iso(int(ts[int(row[S.T_ENTRY_I])])),
                "exit_time": _iso(int(ts[exit_i])) if exit_i >= 0 else None,
                "side": "long" if row[S.T_SIDE] > 0 else "short",
                "qty": float(row[S.T_QTY]),
                "entry_price": float(row[S.T_ENTRY_PX]),
                "exit_price": float(row[S.T_EXIT_PX]),
                "pnl": float(row[S.T_PNL]),
                "fees": float(row[S.T_FEES]),
                "funding": float(row[S.T_FUNDING]),
                "exit_reason": F.EXIT_NAMES[int(row[S.T_REASON])],
            }
        )
    return out
