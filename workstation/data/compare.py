"""Cross-check two sources' candles for one symbol and interval: missing bars on each side and
prices that differ by more than a tolerance (in basis points of the two prices' mean)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from workstation.data.arrays import CandleArrays
from workstation.data.intervals import format_ms

PRICES = ("open", "high", "low", "close")
MAX_LISTED = 20


@dataclass(frozen=True, slots=True)
class MissingRun:
    """Consecutive bars one side has and the other lacks."""

    start_ts: int
    end_ts: int  # open time of the last missing bar
    bars: int

    def __str__(self) -> str:
        return f"{format_ms(self.start_ts)} -> {format_ms(self.end_ts)} UTC ({self.bars} bars)"


@dataclass(frozen=True, slots=True)
class PriceDiff:
    ts: int
    column: str
    a: float
    b: float
    bps: float

    def __str__(self) -> str:
        return f"{format_ms(self.ts)} {self.column}: {self.a:g} vs {self.b:g} ({self.bps:.1f} bps)"


@dataclass(frozen=True, slots=True)
class CompareReport:
    name_a: str
    name_b: str
    interval: str
    rows_a: int
    rows_b: int
    common: int
    only_a: tuple[MissingRun, ...]  # bars A has that B lacks
    only_b: tuple[MissingRun, ...]
    tolerance_bps: float
    differing_bars: int  # common bars with any price beyond the tolerance
    max_bps: dict[str, float]  # worst difference per price column
    worst: tuple[PriceDiff, ...]  # the largest differences beyond the tolerance, worst first
    volume_ratio: float  # median volume A / volume B over common bars (NaN if unknown)

    @property
    def missing_in_b(self) -> int:
        return sum(r.bars for r in self.only_a)

    @property
    def missing_in_a(self) -> int:
        return sum(r.bars for r in self.only_b)

    @property
    def ok(self) -> bool:
        return not self.only_a and not self.only_b and self.differing_bars == 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "a": self.name_a,
            "b": self.name_b,
            "interval": self.interval,
            "rows_a": self.rows_a,
            "rows_b": self.rows_b,
            "common": self.common,
            "missing_in_a": self.missing_in_a,
            "missing_in_b": self.missing_in_b,
            "only_a": [
                {"start": format_ms(r.start_ts), "end": format_ms(r.end_ts), "bars": r.bars} for r in self.only_a
            ],
            "only_b": [
                {"start": format_ms(r.start_ts), "end": format_ms(r.end_ts), "bars": r.bars} for r in self.only_b
            ],
            "tolerance_bps": self.tolerance_bps,
            "differing_bars": self.differing_bars,
            "max_bps": self.max_bps,
            "worst": [
                {"ts": d.ts, "time": format_ms(d.ts), "column": d.column, "a": d.a, "b": d.b, "bps": d.bps}
                for d in self.worst
            ],
            "volume_ratio": None if np.isnan(self.volume_ratio) else self.volume_ratio,
            "ok": self.ok,
        }


def _runs(ts: np.ndarray, step: int) -> tuple[MissingRun, ...]:
    if not len(ts):
        return ()
    breaks = np.flatnonzero(np.diff(ts) != step)
    starts = np.concatenate([[0], breaks + 1])
    ends = np.concatenate([breaks, [len(ts) - 1]])
    return tuple(MissingRun(int(ts[s]), int(ts[e]), int(e - s + 1)) for s, e in zip(starts, ends, strict=True))


def compare_candles(
    a: CandleArrays,
    b: CandleArrays,
    step_ms: int,
    *,
    interval: str = "",
    name_a: str = "A",
    name_b: str = "B",
    tolerance_bps: float = 5.0,
) -> CompareReport:
    common, ia, ib = np.intersect1d(a.ts, b.ts, assume_unique=True, return_indices=True)
    only_a = np.setdiff1d(a.ts, b.ts, assume_unique=True)
    only_b = np.setdiff1d(b.ts, a.ts, assume_unique=True)
    max_bps: dict[str, float] = {}
    beyond = np.zeros(len(common), dtype=bool)
    diffs: list[PriceDiff] = []
    for column in PRICES:
        pa, pb = getattr(a, column)[ia], getattr(b, column)[ib]
        with np.errstate(divide="ignore", invalid="ignore"):
            bps = np.abs(pa - pb) / ((np.abs(pa) + np.abs(pb)) / 2) * 1e4
        bps = np.where(pa == pb, 0.0, bps)
        max_bps[column] = float(np.nanmax(bps)) if len(bps) else 0.0
        over = bps > tolerance_bps
        beyond |= over
        for i in np.flatnonzero(over)[np.argsort(-bps[over])][:MAX_LISTED]:
            diffs.append(PriceDiff(int(common[i]), column, float(pa[i]), float(pb[i]), float(bps[i])))
    va, vb = a.volume[ia], b.volume[ib]
    usable = np.isfinite(va) & np.isfinite(vb) & (vb > 0)
    ratio = float(np.median(va[usable] / vb[usable])) if usable.any() else float("nan")
    return CompareReport(
        name_a=name_a,
        name_b=name_b,
        interval=interval,
        rows_a=len(a),
        rows_b=len(b),
        common=len(common),
        only_a=_runs(only_a, step_ms),
        only_b=_runs(only_b, step_ms),
        tolerance_bps=tolerance_bps,
        differing_bars=int(beyond.sum()),
        max_bps=max_bps,
        worst=tuple(sorted(diffs, key=lambda d: -d.bps)[:MAX_LISTED]),
        volume_ratio=ratio,
    )
