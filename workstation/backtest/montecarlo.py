"""Monte Carlo: how much of a backtest's result is the luck of the order and the draw.

Methods (each path has as many steps as the original):
- "shuffle": the trade returns in a random order (final return unchanged; the path varies);
- "bootstrap": trade returns drawn with replacement;
- "block": daily returns of the equity curve drawn in blocks of consecutive days (keeps
  volatility clustering).
Optional `noise` adds N(0, noise x sd) to every drawn return. A trade's return is its P&L over
the equity just before its entry bar, so compounding the returns replays the equity path.

Percentiles come as a frozen `MonteCarloBand` (101 quantiles per statistic): the risk and
graduation layer compares live results against it (`band.final_return.rank(x)`).
Runs are seeded: the same inputs and seed give the same band, on any machine.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numba import njit

from workstation.backtest import simulator as S
from workstation.backtest.metrics import YEAR_MS, periods_per_year
from workstation.backtest.simulator import SimResult

METHODS = ("shuffle", "bootstrap", "block")
DAY_MS = 86_400_000
FAN_POINTS = 101


@dataclass(frozen=True, slots=True)
class StatBand:
    """Distribution of one statistic over the paths: quantiles[q] is the q-th percentile."""

    original: float
    quantiles: tuple[float, ...]  # 101 values, percentiles 0..100
    mean: float

    def at(self, percentile: float) -> float:
        return float(np.interp(percentile, np.arange(FAN_POINTS), self.quantiles))

    def rank(self, value: float) -> float:
        """The percentile (0..100) at which `value` sits in the simulated distribution."""
        q = np.asarray(self.quantiles)
        tol = 1e-9 * max(1.0, abs(value))  # reordered sums differ in the last bits
        lo = np.searchsorted(q, value - tol, side="left")
        hi = np.searchsorted(q, value + tol, side="right")
        if hi > lo:  # value equals a run of quantiles: the middle of that run
            return float((lo + hi - 1) / 2)
        return float(np.interp(value, q, np.arange(FAN_POINTS)))

    def to_dict(self) -> dict[str, Any]:
        return {
            "original": self.original,
            "mean": self.mean,
            **{f"p{p}": self.quantiles[p] for p in (1, 5, 25, 50, 75, 95, 99)},
            "original_rank": self.rank(self.original),
        }


@dataclass(frozen=True, slots=True)
class MonteCarloBand:
    method: str
    iterations: int
    seed: int
    steps: int  # trades (shuffle, bootstrap) or days (block) per path
    final_return: StatBand
    max_drawdown: StatBand  # negative fractions, like compute_metrics
    sharpe: StatBand  # annualised from the step returns
    ruin_level: float  # a path is ruined when its equity touches this fraction of the start
    ruin_probability: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "iterations": self.iterations,
            "seed": self.seed,
            "steps": self.steps,
            "final_return": self.final_return.to_dict(),
            "max_drawdown": self.max_drawdown.to_dict(),
            "sharpe": self.sharpe.to_dict(),
            "ruin_level": self.ruin_level,
            "ruin_probability": self.ruin_probability,
        }


@dataclass(frozen=True, slots=True, eq=False)
class MonteCarlo:
    band: MonteCarloBand
    fan: np.ndarray  # (FAN_POINTS percentiles, points along the path) equity growth multiples
    original_path: np.ndarray  # the original growth path at the same points
    samples: np.ndarray  # (iterations, 3): final return, max drawdown, sharpe per path


def trade_returns(result: SimResult) -> np.ndarray:
    """Each trade's P&L over the equity just before its entry bar (trades in entry order)."""
    tr = result.trades
    if not len(tr):
        return np.empty(0)
    entry = tr[:, S.T_ENTRY_I].astype(np.int64)
    before = result.equity[np.maximum(entry - 1, 0)]
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(before > 0, tr[:, S.T_PNL] / before, 0.0)
    return np.maximum(r, -1.0)


def daily_returns(result: SimResult) -> np.ndarray:
    """Returns between the last equity of consecutive UTC days."""
    day = result.ts // DAY_MS
    last = np.flatnonzero(np.diff(day)) if len(day) else np.empty(0, np.int64)
    eq = np.concatenate([[result.initial_cash], result.equity[last], result.equity[-1:]])
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(eq[:-1] > 0, eq[1:] / eq[:-1] - 1.0, 0.0)


@njit(cache=True, nogil=True)
def _paths(r, iterations, method, block, noise, ruin, seed, fan_at, ppy):  # pragma: no cover - numba
    np.random.seed(seed)
    n = len(r)
    sd = r.std() if n > 1 else 0.0
    stats = np.empty((iterations, 3))
    ruined = 0
    fan = np.empty((iterations, len(fan_at)))
    order = np.arange(n)
    step = np.empty(n)
    for it in range(iterations):
        if method == 0:
            np.random.shuffle(order)
            for j in range(n):
                step[j] = r[order[j]]
        elif method == 1:
            for j in range(n):
                step[j] = r[np.random.randint(0, n)]
        else:
            j = 0
            while j < n:
                start = np.random.randint(0, n)
                for b in range(block):
                    if j >= n:
                        break
                    step[j] = r[(start + b) % n]
                    j += 1
        if noise > 0.0:
            for j in range(n):
                step[j] = max(step[j] + noise * sd * np.random.standard_normal(), -1.0)
        g = 1.0
        peak = 1.0
        mdd = 0.0
        hit = False
        total = 0.0
        k = 0
        if len(fan_at) and fan_at[0] == 0:
            fan[it, 0] = 1.0
            k = 1
        for j in range(n):
            g *= 1.0 + step[j]
            total += step[j]
            if g > peak:
                peak = g
            elif peak > 0.0:
                mdd = min(mdd, g / peak - 1.0)
            if g <= ruin:
                hit = True
            while k < len(fan_at) and fan_at[k] == j + 1:
                fan[it, k] = g
                k += 1
        mean = total / n if n else 0.0
        var = 0.0
        for j in range(n):
            var += (step[j] - mean) ** 2
        s = math.sqrt(var / (n - 1)) if n > 1 else 0.0
        stats[it, 0] = g - 1.0
        stats[it, 1] = mdd
        stats[it, 2] = mean / s * math.sqrt(ppy) if s > 0.0 else np.nan
        if hit:
            ruined += 1
    return stats, fan, ruined / iterations if iterations else 0.0


def _path_stats(r: np.ndarray, ruin: float, ppy: float) -> tuple[np.ndarray, np.ndarray, bool]:
    growth = np.cumprod(1.0 + r)
    peak = np.maximum.accumulate(np.concatenate([[1.0], growth]))[1:]
    mdd = float(min(0.0, (growth / peak - 1.0).min())) if len(r) else 0.0
    sd = r.std(ddof=1) if len(r) > 1 else 0.0
    sharpe = r.mean() / sd * math.sqrt(ppy) if sd > 0 else math.nan
    final = float(growth[-1] - 1.0) if len(r) else 0.0
    return np.array([final, mdd, sharpe]), growth, bool(len(r) and growth.min() <= ruin)


def _band(original: float, samples: np.ndarray) -> StatBand:
    ok = samples[np.isfinite(samples)]
    if not len(ok):
        return StatBand(original, tuple([math.nan] * FAN_POINTS), math.nan)
    q = np.percentile(ok, np.arange(FAN_POINTS))
    return StatBand(float(original), tuple(float(x) for x in q), float(ok.mean()))


def monte_carlo(
    result: SimResult,
    *,
    method: str = "bootstrap",
    iterations: int = 5_000,
    seed: int = 0,
    block_days: int = 10,
    noise: float = 0.0,
    ruin_level: float = 0.5,
) -> MonteCarlo:
    """Resample a finished run's trades (or daily returns) `iterations` times."""
    if method not in METHODS:
        raise ValueError(f"unknown Monte Carlo method {method!r} (one of {', '.join(METHODS)})")
    if iterations < 1:
        raise ValueError("iterations must be at least 1")
    years = (result.ts[-1] - result.ts[0]) / YEAR_MS if len(result.ts) > 1 else 0.0
    if method == "block":
        r = daily_returns(result)
        ppy = periods_per_year(np.arange(len(r) + 1) * float(DAY_MS))
    else:
        r = trade_returns(result)
        ppy = len(r) / years if years > 0 else math.nan
    if len(r) < 2:
        raise ValueError(f"Monte Carlo needs at least two {'days' if method == 'block' else 'trades'}")
    r = np.ascontiguousarray(r, dtype=np.float64)
    fan_at = np.unique(np.linspace(0, len(r), min(len(r) + 1, 200)).round().astype(np.int64))
    stats, fan, ruin_p = _paths(
        r, iterations, METHODS.index(method), max(1, block_days), noise, ruin_level, seed, fan_at, ppy
    )
    original, growth, _ = _path_stats(r, ruin_level, ppy)
    band = MonteCarloBand(
        method, iterations, seed, len(r),
        *(_band(original[k], stats[:, k]) for k in range(3)),
        ruin_level, float(ruin_p),
    )  # fmt: skip
    bands = np.percentile(fan, np.arange(FAN_POINTS), axis=0)
    path = np.concatenate([[1.0], growth])[fan_at]
    return MonteCarlo(band, bands, path, stats)
