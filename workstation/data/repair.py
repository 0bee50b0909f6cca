"""Repair a stored series: refetch its gaps (and filled ranges) from a source, fill what is left if asked.

Refetching only ever stores bars the source really has. Filling makes flat bars at the previous
close with zero volume and records each filled range in the store (`filled_ranges`), so a check
or a backtest can always tell them apart from real bars. A later refetch that finds real bars
for a filled range replaces the made-up ones and shrinks the marker.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from workstation.data.arrays import CandleArrays
from workstation.data.download import CandleSource, ProgressCallback, download, missing_ranges
from workstation.data.filled import read_filled, replace_filled
from workstation.data.intervals import interval_ms
from workstation.data.quality import FilledRange, Gap, find_gaps
from workstation.data.store import CandleStore

FILL_METHOD = "flat_prev_close"


@dataclass(frozen=True, slots=True)
class RepairReport:
    venue: str
    symbol: str
    interval: str
    kind: str
    gaps_before: tuple[Gap, ...]
    refetched: int = 0  # real bars stored into gaps
    replaced_filled: int = 0  # filled bars the source had real values for
    filled: tuple[FilledRange, ...] = ()  # ranges filled by this repair
    gaps_after: tuple[Gap, ...] = ()
    requests: int = 0

    @property
    def missing_before(self) -> int:
        return sum(g.missing for g in self.gaps_before)

    @property
    def missing_after(self) -> int:
        return sum(g.missing for g in self.gaps_after)


def series_gaps(
    store: CandleStore,
    venue: str,
    symbol: str,
    interval: str,
    *,
    kind: str = "trade",
    start: int | None = None,
    end: int | None = None,
) -> tuple[Gap, ...]:
    return find_gaps(store.read(venue, symbol, interval, start, end, kind=kind).ts, interval)


def refetch(
    store: CandleStore,
    source: CandleSource,
    symbol: str,
    interval: str,
    *,
    kind: str = "trade",
    start: int | None = None,
    end: int | None = None,
    progress: ProgressCallback | None = None,
) -> tuple[int, int, int]:
    """Ask the source for the gaps and filled ranges of the stored series inside [start, end).

    Returns (real bars stored into gaps, filled bars replaced by real ones, requests). The series
    keeps its extent: nothing before its first or after its last stored bar is fetched.
    """
    step = interval_ms(interval)
    venue = source.venue
    stored = store.read(venue, symbol, interval, kind=kind).ts
    if not len(stored):
        raise LookupError(f"no {kind} candles stored for {symbol} {interval} on {venue}")
    lo = int(stored[0]) if start is None else max(start, int(stored[0]))
    hi = int(stored[-1]) + step if end is None else min(end, int(stored[-1]) + step)
    requests_before = source.requests
    report = download(store, source, symbol, interval, lo, hi, kind=kind, progress=progress)
    replaced = 0
    for r in read_filled(store, venue, symbol, interval, kind=kind, start=lo, end=hi):
        pages = list(source.candle_pages(symbol, interval, r.start_ts, r.end_ts, kind=kind))
        real = CandleArrays.concat(pages)
        real = real.take((real.ts >= r.start_ts) & (real.ts < r.end_ts))
        if not len(real):
            continue
        store.upsert_candles(venue, symbol, interval, real, kind=kind)
        real_ts = np.unique(real.ts)
        replaced += len(real_ts)
        left = [
            FilledRange(a, b, (b - a) // step, r.method) for a, b in missing_ranges(real_ts, r.start_ts, r.end_ts, step)
        ]
        replace_filled(store, venue, symbol, interval, r.start_ts, r.start_ts + 1, left, kind=kind)
    return report.fetched, replaced, source.requests - requests_before


def fill_gaps(
    store: CandleStore,
    venue: str,
    symbol: str,
    interval: str,
    *,
    kind: str = "trade",
    start: int | None = None,
    end: int | None = None,
) -> tuple[FilledRange, ...]:
    """Fill every gap between stored bars in [start, end) with flat bars at the previous close and
    zero volume, and record each as a filled range. Only call this when the user asked for it."""
    step = interval_ms(interval)
    candles = store.read(venue, symbol, interval, kind=kind)
    gaps = [
        g
        for g in find_gaps(candles.ts, interval)
        if (start is None or g.next_ts > start) and (end is None or g.prev_ts < end)
    ]
    if not gaps:
        return ()
    parts: list[CandleArrays] = []
    ranges: list[FilledRange] = []
    for g in gaps:
        ts = np.arange(g.prev_ts + step, g.next_ts, step, dtype=np.int64)
        close = float(candles.close[np.searchsorted(candles.ts, g.prev_ts)])
        price = np.full(len(ts), close)
        parts.append(CandleArrays.from_columns(ts, price, price, price, price, np.zeros(len(ts))))
        ranges.append(FilledRange(int(ts[0]), int(ts[-1]) + step, len(ts), FILL_METHOD))
    # the marker goes in first: were the upsert to fail, a check shows a filled range over a gap,
    # never made-up bars without a marker
    for r in ranges:
        replace_filled(store, venue, symbol, interval, r.start_ts, r.start_ts + 1, [r], kind=kind)
    store.upsert_candles(venue, symbol, interval, CandleArrays.concat(parts), kind=kind)
    return tuple(ranges)


def repair(
    store: CandleStore,
    venue: str,
    symbol: str,
    interval: str,
    *,
    source: CandleSource | None = None,
    fill: bool = False,
    kind: str = "trade",
    start: int | None = None,
    end: int | None = None,
    progress: ProgressCallback | None = None,
) -> RepairReport:
    """Refetch from `source` (when given, it must serve `venue`), then fill the rest if `fill`."""
    if source is not None and source.venue != venue:
        raise ValueError(
            f"{source.name} stores candles as venue {source.venue!r}, the series is {venue!r}: "
            "repairing one venue's series with another's bars would mix sources"
        )
    before = series_gaps(store, venue, symbol, interval, kind=kind, start=start, end=end)
    refetched = replaced = requests = 0
    if source is not None:
        refetched, replaced, requests = refetch(
            store, source, symbol, interval, kind=kind, start=start, end=end, progress=progress
        )
    filled = fill_gaps(store, venue, symbol, interval, kind=kind, start=start, end=end) if fill else ()
    after = series_gaps(store, venue, symbol, interval, kind=kind, start=start, end=end)
    return RepairReport(venue, symbol, interval, kind, before, refetched, replaced, filled, after, requests)
