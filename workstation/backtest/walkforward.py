"""Walk-forward validation: pick parameters in each train window, trade them in the next test window.

Windows are laid out in time: the first train window starts at the first candle; each test window
starts where its train window ends and lasts `test_ms`; the next window moves on by `step_ms`
(default: the test length, so test windows tile the history without overlap). Rolling windows keep
the train length; anchored windows keep the first train start and grow.

Training sees candles [train_start, train_end) only. The test run computes signals over candles
from the train start to the test end (signals are causal, so a test bar's signal uses its past
only, and indicators are warm at the test start), then simulates the test bars alone: it starts
flat with the equity the previous test window ended with, so the out-of-sample curve is one
continuous compounded path. A position still open at a test window's end is sold at that
window's last close like any market exit, paying the taker fee and slippage (exit reason
"window_end"): the next window starts flat, so the boundary is a real round trip.

A variant whose warm-up (bars before its first meaningful signal) is not shorter than the shortest
train window could never score, so it is left out of every window and listed in `skipped`; when
no variant fits, walk_forward raises ValueError naming the train window in bars, the warm-ups and
the --train length that would fit (see `split_by_warmup`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from workstation.backtest import metrics as M
from workstation.backtest import simulator as S
from workstation.backtest.costs import CostModel
from workstation.backtest.runner import Backtest, combinations, sweep
from workstation.backtest.simulator import SimResult, simulate
from workstation.data.arrays import CandleArrays
from workstation.strategies.base import signals
from workstation.strategies.builtin import BuyAndHold, build


@dataclass(frozen=True, slots=True)
class Window:
    """Bar index ranges (end exclusive) of one train/test pair."""

    index: int
    train_start: int
    train_end: int
    test_start: int
    test_end: int


@dataclass(frozen=True, slots=True)
class WindowResult:
    window: Window
    train_start_ts: int
    train_end_ts: int  # the first bar NOT in training (= the test start)
    test_start_ts: int
    test_end_ts: int  # the last test bar's open
    params: dict[str, Any] | None  # None when no combination produced the objective
    objective_value: float | None
    in_sample: dict[str, Any] | None
    out_of_sample: dict[str, Any] | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.window.index,
            "train_start": M.iso_times(np.array([self.train_start_ts]))[0].item(),
            "train_end": M.iso_times(np.array([self.train_end_ts]))[0].item(),
            "test_start": M.iso_times(np.array([self.test_start_ts]))[0].item(),
            "test_end": M.iso_times(np.array([self.test_end_ts]))[0].item(),
            "train_bars": self.window.train_end - self.window.train_start,
            "test_bars": self.window.test_end - self.window.test_start,
            "params": self.params,
            "objective_value": self.objective_value,
            "in_sample": self.in_sample,
            "out_of_sample": self.out_of_sample,
        }


@dataclass(frozen=True, slots=True)
class Skipped:
    """A variant left out because its warm-up does not fit the shortest train window."""

    params: dict[str, Any]
    warmup: int

    def to_dict(self) -> dict[str, Any]:
        return {"params": self.params, "warmup_bars": self.warmup}


@dataclass(frozen=True, slots=True, eq=False)
class WalkForward:
    strategy: str
    objective: str
    anchored: bool
    windows: tuple[WindowResult, ...]
    result: SimResult  # the stitched out-of-sample run (ts, equity, position, trades over test bars)
    metrics: dict[str, Any]
    skipped: tuple[Skipped, ...] = ()

    def to_dict(self, *, trades: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {
            "strategy": self.strategy,
            "objective": self.objective,
            "anchored": self.anchored,
            "windows": [w.to_dict() for w in self.windows],
            "metrics": self.metrics,
            "skipped": [k.to_dict() for k in self.skipped],
        }
        if trades:
            out["trades"] = M.trade_list(self.result)
        return out


def make_windows(
    ts: np.ndarray, train_ms: int, test_ms: int, *, anchored: bool = False, step_ms: int | None = None
) -> list[Window]:
    """Train/test windows over sorted bar times; the last test window may be shorter (>= 2 bars)."""
    if train_ms <= 0 or test_ms <= 0:
        raise ValueError("train and test lengths must be positive")
    step = step_ms or test_ms
    if len(ts) < 2:
        return []
    t0, last = int(ts[0]), int(ts[-1])
    out: list[Window] = []
    k = 0
    while True:
        train_from = t0 if anchored else t0 + k * step
        test_from = t0 + train_ms + k * step
        if test_from > last:
            break
        idx = np.searchsorted(ts, [train_from, test_from, test_from + test_ms], side="left")
        a, b, c = (int(i) for i in idx)
        if c - b >= 2 and b - a >= 2:
            out.append(Window(len(out), a, b, b, c))
        k += 1
    return out


def split_by_warmup(
    strategy: str, combos: list[dict[str, Any]], windows: list[Window], ts: np.ndarray
) -> tuple[list[dict[str, Any]], list[Skipped]]:
    """The variants whose warm-up is shorter than every train window, and the ones left out.

    Raises ValueError when none fits: the message names the shortest train window in bars, the
    smallest and largest warm-up among the variants and the train length that would fit them.
    """
    train_bars = min(w.train_end - w.train_start for w in windows)
    warmups = [build(strategy, c).warmup for c in combos]
    kept = [c for c, n in zip(combos, warmups, strict=True) if n < train_bars]
    skipped = [Skipped(dict(c), n) for c, n in zip(combos, warmups, strict=True) if n >= train_bars]
    if kept:
        return kept, skipped
    lo, hi = min(warmups), max(warmups)
    span = f"{lo:,} bars" if lo == hi else f"{lo:,} bars (smallest) to {hi:,} bars (largest)"
    step = int(np.median(np.diff(ts))) if len(ts) > 1 else 0
    need = (lo + 1) * step
    length = f"{math.ceil(need / 86_400_000)}d" if need >= 86_400_000 else f"{math.ceil(need / 3_600_000)}h"
    shorter = _warmup_params(strategy, combos[warmups.index(lo)])
    raise ValueError(
        f"no {strategy} variant can trade: the shortest train window holds {train_bars:,} bars, but the "
        f"variants need {span} of warm-up before their first signal, so every window would stay flat. "
        f"Use --train {length} or longer (more than {lo:,} bars), or parameters with a shorter warm-up"
        + (f" (lower {', '.join(shorter)})" if shorter else "")
    )


def _warmup_params(strategy: str, params: dict[str, Any]) -> list[str]:
    """Names of the parameters whose next lower value shortens this variant's warm-up."""
    base = build(strategy, params)
    names = []
    for spec in base.params():
        lower = getattr(base, spec.name) - spec.step
        if lower < spec.low:
            continue
        try:
            if build(strategy, {**params, spec.name: lower}).warmup < base.warmup:
                names.append(spec.name)
        except ValueError:
            continue
    return names


def _score(metrics: Mapping[str, Any] | None, objective: str) -> float:
    value = (metrics or {}).get(objective)
    return -math.inf if value is None or not math.isfinite(float(value)) else float(value)


def walk_forward(
    strategy: str,
    combos: list[dict[str, Any]],
    candles: CandleArrays,
    *,
    train_ms: int,
    test_ms: int,
    anchored: bool = False,
    step_ms: int | None = None,
    objective: str = "sharpe",
    minimize: bool = False,
    cost: CostModel | None = None,
    cash: float = 10_000.0,
    funding: np.ndarray | None = None,
    jobs: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> WalkForward:
    """Walk-forward over `combos` (see runner.combinations). `progress` gets 1 per variant and test run.

    The objective is a metric name from compute_metrics (maximised, or minimised with `minimize`);
    ties go to the earlier combination.
    """
    if not combos:
        raise ValueError("walk-forward needs at least one parameter combination")
    cost = cost or CostModel()
    fund = np.zeros(len(candles)) if funding is None else np.ascontiguousarray(funding, dtype=np.float64)
    windows = make_windows(candles.ts, train_ms, test_ms, anchored=anchored, step_ms=step_ms)
    if not windows:
        raise ValueError("the history is too short for one train window plus a test window")
    combos, skipped = split_by_warmup(strategy, combos, windows, candles.ts)
    sign = -1.0 if minimize else 1.0
    equity = cash
    parts: list[SimResult] = []
    results: list[WindowResult] = []
    for w in windows:
        train = slice(w.train_start, w.train_end)
        rows = sweep(
            strategy, combos, candles.take(train), cost=cost, cash=cash, funding=fund[train], jobs=jobs,
            progress=progress,
        )  # fmt: skip
        scores = [sign * _score(r.get("metrics"), objective) for r in rows]
        best = int(np.argmax(scores))
        chosen = rows[best] if scores[best] > -math.inf else None
        test = slice(w.test_start, w.test_end)
        ts = candles.ts
        params = None if chosen is None else dict(chosen["params"])
        if params is None:  # nothing scored: stay flat through the test window
            flat = np.full(w.test_end - w.test_start, equity)
            part = SimResult(ts[test], flat, np.zeros(len(flat)), np.zeros((0, S.T_COLS)), 0.0, 0.0, equity)
        else:
            history = candles.take(slice(w.train_start, w.test_end))
            sig = signals(build(strategy, params), history).take(slice(w.test_start - w.train_start, None))
            part = simulate(candles.take(test), sig, cost, cash=equity, funding=fund[test], close_at_end=True)
        if progress:
            progress(1)
        parts.append(part)
        equity = float(part.equity[-1])
        results.append(
            WindowResult(
                w, int(ts[w.train_start]), int(ts[w.test_start]), int(ts[w.test_start]), int(ts[w.test_end - 1]),
                params, None if chosen is None else sign * scores[best], None if chosen is None else chosen["metrics"],
                M.compute_metrics(part) if params is not None else None,
            )
        )  # fmt: skip
    stitched = stitch(parts, cash)
    metrics = M.compute_metrics(stitched)
    return WalkForward(strategy, objective, anchored, tuple(results), stitched, metrics, tuple(skipped))


def stitch(parts: list[SimResult], cash: float) -> SimResult:
    """Concatenate consecutive runs into one result (trade bar indices shifted to the joined arrays)."""
    offsets = np.cumsum([0] + [len(p.ts) for p in parts[:-1]])
    trades = []
    for off, p in zip(offsets, parts, strict=True):
        t = p.trades.copy()
        t[:, S.T_ENTRY_I] += off
        t[:, S.T_EXIT_I] = np.where(t[:, S.T_EXIT_I] >= 0, t[:, S.T_EXIT_I] + off, -1)
        trades.append(t)
    return SimResult(
        np.concatenate([p.ts for p in parts]),
        np.concatenate([p.equity for p in parts]),
        np.concatenate([p.position for p in parts]),
        np.concatenate(trades) if trades else np.zeros((0, S.T_COLS)),
        float(sum(p.fees_paid for p in parts)),
        float(sum(p.funding_paid for p in parts)),
        cash,
    )


def oos_benchmark(
    wf: WalkForward,
    strategy: str,
    params: dict[str, Any],
    candles: CandleArrays,
    funding: np.ndarray,
    cost: CostModel,
    cash: float,
) -> Backtest | None:
    """Buy and hold over the out-of-sample bars, for the report; None unless the test windows are contiguous."""
    oos = wf.result
    span = candles.between(int(oos.ts[0]), int(oos.ts[-1]) + 1)
    if len(span) != len(oos.ts):
        return None
    fund = funding[np.searchsorted(candles.ts, oos.ts)]
    held_sig = signals(BuyAndHold(), span)
    held = simulate(span, held_sig, cost, cash=cash, funding=fund)
    return Backtest(build(strategy, params), held_sig, oos, held, wf.metrics, M.benchmark_metrics(oos, held))


def pick_combos(
    strategy: str, grid: Mapping[str, list[float]], fixed: Mapping[str, Any] | None = None
) -> list[dict[str, Any]]:
    """Convenience for callers with a {name: values} grid (e.g. discovery): the valid combinations."""
    return list(combinations(strategy, list(grid.items()), fixed))
