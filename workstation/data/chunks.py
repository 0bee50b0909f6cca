"""Pure array operations behind the chunked store: sorting, de-duplication, merging, month split."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from workstation.data.arrays import PRICE_COLUMNS, CandleArrays
from workstation.data.intervals import month_starts


@dataclass(frozen=True, slots=True)
class MergeResult:
    candles: CandleArrays
    added: int  # timestamps that were not stored before
    changed: int  # stored timestamps whose values the new data replaced

    @property
    def modified(self) -> bool:
        return self.added > 0 or self.changed > 0


def normalise(candles: CandleArrays) -> CandleArrays:
    """Sorted by ts with unique timestamps; of duplicates the LAST one in input order wins."""
    ts = candles.ts
    if len(ts) < 2 or bool(np.all(ts[1:] > ts[:-1])):
        return candles
    reversed_ = candles.take(slice(None, None, -1))
    _, first = np.unique(reversed_.ts, return_index=True)
    return reversed_.take(first)


def merge(old: CandleArrays, new: CandleArrays) -> MergeResult:
    """Merge new candles into stored ones: newer values win, result sorted without duplicates."""
    new = normalise(new)
    if len(old) == 0:
        return MergeResult(new, added=len(new), changed=0)
    if len(new) == 0:
        return MergeResult(old, 0, 0)
    combined = CandleArrays.concat([new, old])
    _, first = np.unique(combined.ts, return_index=True)
    merged = combined.take(first)
    added = len(merged) - len(old)
    positions = np.searchsorted(merged.ts, old.ts)
    differs = np.zeros(len(old), dtype=bool)
    for name in PRICE_COLUMNS:
        before = getattr(old, name)
        after = getattr(merged, name)[positions]
        differs |= ~((before == after) | (np.isnan(before) & np.isnan(after)))
    return MergeResult(merged, added=added, changed=int(differs.sum()))


def split_by_month(candles: CandleArrays) -> Iterator[tuple[int, CandleArrays]]:
    """(UTC month start ms, the candles of that month) for sorted candles."""
    if len(candles) == 0:
        return
    months = month_starts(candles.ts)
    edges = np.flatnonzero(months[1:] != months[:-1]) + 1
    starts = np.concatenate([[0], edges])
    ends = np.concatenate([edges, [len(months)]])
    for lo, hi in zip(starts.tolist(), ends.tolist(), strict=True):
        yield int(months[lo]), candles.take(slice(lo, hi))
