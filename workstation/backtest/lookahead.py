"""The lookahead check: signals on truncated history must equal the full-history signals.

A causal strategy's row t depends on candles[: t + 1] only, so cutting the history after bar t
must not change rows 0..t. Any difference means the strategy peeked at the future.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from workstation.data.arrays import CandleArrays
from workstation.strategies.base import Strategy, signals

COLUMNS = ("target", "order_kind", "entry_price", "stop_loss", "take_profit")


@dataclass(frozen=True, slots=True)
class LookaheadViolation:
    cut_ts: int  # history was cut after this bar
    bar_ts: int  # the earliest earlier bar whose signal changed
    column: str
    full: float
    truncated: float


@dataclass(frozen=True, slots=True)
class LookaheadReport:
    strategy: str
    cuts_checked: int
    violations: tuple[LookaheadViolation, ...]

    @property
    def ok(self) -> bool:
        return not self.violations


def check_lookahead(
    strategy: Strategy, candles: CandleArrays, *, samples: int = 20, seed: int = 0, rtol: float = 1e-9
) -> LookaheadReport:
    """Recompute signals on `samples` random prefixes (plus the shortest useful one)."""
    n = len(candles)
    full = signals(strategy, candles)
    lo = min(max(strategy.warmup, 2), n)
    rng = np.random.default_rng(seed)
    cuts = sorted({lo, *rng.integers(lo, n, size=max(samples - 1, 0)).tolist()} - {n}) if lo < n else []
    found = []
    for cut in cuts:
        part = signals(strategy, candles.take(slice(0, cut)))
        for name, a, b in zip(COLUMNS, full.columns(), part.columns(), strict=True):
            a = a[:cut].astype(np.float64)
            b = b.astype(np.float64)
            same = np.isclose(a, b, rtol=rtol, atol=0.0, equal_nan=True)
            if not same.all():
                i = int(np.flatnonzero(~same)[0])
                found.append(LookaheadViolation(int(candles.ts[cut - 1]), int(candles.ts[i]), name, a[i], b[i]))
                break
    return LookaheadReport(strategy.name, len(cuts), tuple(found))
