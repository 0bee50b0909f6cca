"""Performance figures from an equity curve and a trade list, and the benchmark comparison.

Returns are per bar; annualisation uses the observed number of bars per year (so 24/7 crypto and
weekday-only stock data both come out right). The risk-free rate is 0.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numba import njit

from workstation.backtest import fills as F
from workstation.backtest import simulator as S
from workstation.backtest.simulator import SimResult

YEAR_MS = 365.25 * 86_400_000


def _iso(ms: int) -> str:
    return str(iso_times(np.array([ms]))[0])


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


@njit(cache=True, nogil=True)
def _bar_stats(ts, eq, position):  # pragma: no cover - numba
    """One pass over the curve: mean/sd/downside of bar returns, max drawdown, its duration, exposure."""
    n = len(eq)
    m = n - 1
    total = 0.0
    for i in range(1, n):
        total += eq[i] / eq[i - 1] - 1.0 if eq[i - 1] > 0 else 0.0
    mean = total / m if m > 0 else np.nan
    sq = 0.0
    down = 0.0
    for i in range(1, n):
        r = eq[i] / eq[i - 1] - 1.0 if eq[i - 1] > 0 else 0.0
        sq += (r - mean) ** 2
        if r < 0.0:
            down += r * r
    sd = np.sqrt(sq / (m - 1)) if m > 1 else np.nan
    downside = np.sqrt(down / m) if m > 0 else np.nan
    peak = eq[0]
    peak_i = 0
    mdd = 0.0
    longest = 0
    at_peak = True
    held = 0
    for i in range(n):
        if position[i] != 0.0:
            held += 1
        if eq[i] >= peak:
            if not at_peak:
                longest = max(longest, ts[i] - ts[peak_i])
            peak = eq[i]
            peak_i = i
            at_peak = True
        else:
            at_peak = False
            if peak > 0.0:
                mdd = min(mdd, eq[i] / peak - 1.0)
    longest = max(longest, ts[n - 1] - ts[peak_i])
    return mean, sd, downside, mdd, longest, held / n


def compute_metrics(result: SimResult) -> dict[str, Any]:
    eq, ts = result.equity, result.ts
    if len(eq) < 2:
        raise ValueError("need at least two bars for metrics")
    stats = _bar_stats(np.ascontiguousarray(ts, dtype=np.int64), eq, result.position)
    return metrics_from_stats(
        stats, ts, eq[-1], result.initial_cash, result.fees_paid, result.funding_paid, result.trades
    )


def metrics_from_stats(
    stats: tuple[float, float, float, float, int, float],
    ts: np.ndarray,
    final_equity: float,
    initial_cash: float,
    fees_paid: float,
    funding_paid: float,
    trades: np.ndarray,
) -> dict[str, Any]:
    """compute_metrics from `_bar_stats` output (the fused sweep kernels compute that in-kernel)."""
    mean, sd, downside, mdd, longest, exposure = stats
    ppy = periods_per_year(ts)
    years = (ts[-1] - ts[0]) / YEAR_MS
    growth = final_equity / initial_cash
    cagr = growth ** (1 / years) - 1 if growth > 0 and years > 0 else -1.0
    out: dict[str, Any] = {
        "initial_cash": initial_cash,
        "final_equity": float(final_equity),
        "total_return": float(growth - 1),
        "cagr": _finite(cagr),
        "volatility": _finite(sd * math.sqrt(ppy)),
        "sharpe": _finite(mean / sd * math.sqrt(ppy)) if sd > 0 else None,
        "sortino": _finite(mean / downside * math.sqrt(ppy)) if downside > 0 else None,
        "max_drawdown": float(mdd),
        "max_drawdown_duration_days": int(longest) / 86_400_000,
        "calmar": _finite(cagr / -mdd) if mdd < 0 else None,
        "exposure": float(exposure),
        "fees_paid": fees_paid,
        "funding_paid": funding_paid,
        "bars": len(ts),
        "start": _iso(int(ts[0])),
        "end": _iso(int(ts[-1])),
    }
    out.update(trade_stats(trades))
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


def iso_times(ms: np.ndarray) -> np.ndarray:
    """UTC ISO 8601 strings ending in Z (seconds, or milliseconds when any are fractional)."""
    ms = np.asarray(ms, dtype=np.int64)
    unit = "s" if not len(ms) or not (ms % 1000).any() else "ms"
    return np.char.add(np.datetime_as_string(ms.astype("datetime64[ms]"), unit=unit), "Z")


def trade_list(result: SimResult) -> list[dict[str, Any]]:
    tr, ts = result.trades, result.ts
    if not len(tr):
        return []
    exit_i = tr[:, S.T_EXIT_I].astype(np.int64)
    entry = iso_times(ts[tr[:, S.T_ENTRY_I].astype(np.int64)]).tolist()
    exits = iso_times(ts[np.maximum(exit_i, 0)]).tolist()
    sides = np.where(tr[:, S.T_SIDE] > 0, "long", "short").tolist()
    reasons = np.asarray(F.EXIT_NAMES)[tr[:, S.T_REASON].astype(np.int64)].tolist()
    cols = [tr[:, c].tolist() for c in (S.T_QTY, S.T_ENTRY_PX, S.T_EXIT_PX, S.T_PNL, S.T_FEES, S.T_FUNDING)]
    keys = ("entry_time", "exit_time", "side", "qty", "entry_price", "exit_price", "pnl", "fees", "funding")
    out = []
    for i, row in enumerate(zip(entry, exits, sides, *cols, strict=True)):
        d = dict(zip(keys, row, strict=True))
        if exit_i[i] < 0:
            d["exit_time"] = None
        d["exit_reason"] = reasons[i]
        out.append(d)
    return out
