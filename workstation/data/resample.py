"""Resampling to coarser intervals the way exchanges build their own bars.

Buckets are aligned to UTC (weeks start Monday 00:00): open of the first bar, highest high,
lowest low, close of the last bar, summed volume. A bucket is complete when it holds every
source bar it should (e.g. 12 five-minute bars in an hour). Incomplete buckets - at the edges of
the data or around a gap - are dropped by default, because presenting them as normal bars would
lie about the market; with keep_partial=True they are kept and `complete` marks them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from workstation.data.arrays import CandleArrays
from workstation.data.intervals import bucket_offset_ms, bucket_start, interval_ms


@dataclass(frozen=True, slots=True, eq=False)
class Resampled:
    candles: CandleArrays
    bars: np.ndarray  # number of source bars in each bucket
    expected: int  # source bars in a complete bucket
    dropped: int  # incomplete buckets left out (0 when keep_partial)

    @property
    def complete(self) -> np.ndarray:
        return self.bars == self.expected


def align_up(ts: int, interval: str) -> int:
    """The first bucket open of `interval` at or after ts."""
    step = interval_ms(interval)
    offset = bucket_offset_ms(interval)
    return -((offset - ts) // step) * step + offset


def ratio(source: str, target: str) -> int:
    """How many source bars make one target bar; ValueError when target is not a multiple."""
    src, dst = interval_ms(source), interval_ms(target)
    if source.strip().endswith("w") and source != target:
        raise ValueError(f"cannot resample weekly candles to {target}")
    if dst < src or dst % src:
        raise ValueError(f"cannot resample {source} to {target}: {target} is not a multiple of {source}")
    return dst // src


def resample(candles: CandleArrays, source: str, target: str, *, keep_partial: bool = False) -> Resampled:
    """Resample sorted, de-duplicated `source` candles to `target` buckets."""
    expected = ratio(source, target)
    if len(candles) == 0 or expected == 1:
        bars = np.ones(len(candles), dtype=np.int64)
        return Resampled(candles, bars, expected, 0)
    buckets = bucket_start(candles.ts, target)
    starts = np.concatenate([[0], np.flatnonzero(buckets[1:] != buckets[:-1]) + 1])
    ends = np.concatenate([starts[1:], [len(buckets)]])
    bars = ends - starts
    out = CandleArrays(
        buckets[starts],
        candles.open[starts],
        np.maximum.reduceat(candles.high, starts),
        np.minimum.reduceat(candles.low, starts),
        candles.close[ends - 1],
        np.add.reduceat(candles.volume, starts),
    )
    if keep_partial:
        return Resampled(out, bars, expected, 0)
    full = bars == expected
    return Resampled(out.take(full), bars[full], expected, int((~full).sum()))
