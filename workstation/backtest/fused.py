"""Sweep fast path: rule, simulation and bar statistics in one compiled call that releases the GIL.

For a rule family with a compiled target (CrossRule: sma_cross, ema_cross) a sweep variant is
`cross_state_into` -> `run_into` -> `_bar_stats` over cached indicator arrays and per-thread
buffers, with no Python in between: no Signals object, no validation pass, no fresh 8 MB arrays.
The pieces are the very functions the generic path calls, so the metrics are identical.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import numpy as np
from numba import njit

from workstation.backtest import costs as C
from workstation.backtest.costs import CostModel
from workstation.backtest.metrics import _bar_stats, metrics_from_stats
from workstation.backtest.simulator import run_into
from workstation.data.arrays import CandleArrays
from workstation.strategies.base import Strategy
from workstation.strategies.builtin.trend import CrossRule
from workstation.strategies.indicators import cross_state_into


@njit(cache=True, nogil=True)
def cross_variant(
    o, h, lo, c, v, funding, fast, slow, down, kind, nan, cfg, ts, target, equity, position
):  # pragma: no cover
    cross_state_into(fast, slow, down, target)
    tr, fees, funding_paid = run_into(o, h, lo, c, v, funding, target, kind, nan, nan, nan, cfg, equity, position)
    return tr, fees, funding_paid, _bar_stats(ts, equity, position)


def supports(strategy: Strategy) -> bool:
    """True when `strategy`'s signals are exactly its rule family's (compute not overridden)."""
    return isinstance(strategy, CrossRule) and type(strategy).compute is CrossRule.compute


@dataclass(slots=True)
class Buffers:
    """Scratch arrays for one thread's variants over n bars (the kernel overwrites all of them)."""

    target: np.ndarray
    equity: np.ndarray
    position: np.ndarray
    kind: np.ndarray  # market orders only
    nan: np.ndarray  # no entry price, stop-loss or take-profit

    @classmethod
    def of(cls, n: int) -> Buffers:
        return cls(np.empty(n), np.empty(n), np.empty(n), np.zeros(n, np.int8), np.full(n, np.nan))


class ThreadBuffers(threading.local):
    """One Buffers per thread and bar count; drop the object to free them."""

    def __init__(self) -> None:
        self.by_n: dict[int, Buffers] = {}

    def get(self, n: int) -> Buffers:
        buf = self.by_n.get(n)
        if buf is None:
            buf = self.by_n[n] = Buffers.of(n)
        return buf


def _readonly(a: np.ndarray) -> np.ndarray:
    # one compiled signature whether the line is a shared cached indicator (read-only) or not
    out = np.ascontiguousarray(a, dtype=np.float64).view()
    out.flags.writeable = False
    return out


def _writable_f64(a: np.ndarray) -> np.ndarray:
    out = np.ascontiguousarray(a, dtype=np.float64)
    return out if out.flags.writeable else out.copy()


def variant_metrics(
    strategy: Strategy,
    candles: CandleArrays,
    cost: CostModel,
    cash: float,
    funding: np.ndarray,
    buffers: Buffers | None = None,
) -> dict[str, Any]:
    """compute_metrics(simulate(candles, signals(strategy, candles), ...)) for a supported strategy."""
    n = len(candles)
    if n < 2:
        raise ValueError("need at least two bars for metrics")
    assert isinstance(strategy, CrossRule)
    fast, slow, down = strategy.cross_lines(candles)
    if len(fast) != n or len(slow) != n:
        raise ValueError(f"{strategy.name}: lines of {len(fast)}/{len(slow)} rows for {n} candles")
    buf = buffers or Buffers.of(n)
    cfg = cost.to_array()
    cfg[C.CFG_CASH] = cash
    tr, fees, funding_paid, stats = cross_variant(
        *(_writable_f64(a) for a in (candles.open, candles.high, candles.low, candles.close, candles.volume)),
        _writable_f64(funding), _readonly(fast), _readonly(slow), float(down), buf.kind, buf.nan, cfg,
        np.ascontiguousarray(candles.ts, dtype=np.int64), buf.target, buf.equity, buf.position,
    )  # fmt: skip
    return metrics_from_stats(stats, candles.ts, buf.equity[-1], cash, float(fees), float(funding_paid), tr)
