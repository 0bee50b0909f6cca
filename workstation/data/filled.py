"""The store's record of filled ranges: which stored bars were made up rather than received."""

from __future__ import annotations

import time
from collections.abc import Sequence

from sqlalchemy import and_, delete, insert, select

from workstation.data.quality import FilledRange
from workstation.data.schema import filled_ranges
from workstation.data.store import CandleStore


def _key(venue: str, symbol: str, interval: str, kind: str) -> object:
    f = filled_ranges.c
    return and_(f.venue == venue, f.symbol == symbol, f.interval == interval, f.kind == kind)


def read_filled(
    store: CandleStore,
    venue: str,
    symbol: str,
    interval: str,
    *,
    kind: str = "trade",
    start: int | None = None,
    end: int | None = None,
) -> tuple[FilledRange, ...]:
    """Filled ranges of a series overlapping [start, end), oldest first."""
    f = filled_ranges.c
    query = select(f.start_ts, f.end_ts, f.bars, f.method).where(_key(venue, symbol, interval, kind))
    if start is not None:
        query = query.where(f.end_ts > start)
    if end is not None:
        query = query.where(f.start_ts < end)
    with store.engine.connect() as conn:
        rows = conn.execute(query.order_by(f.start_ts)).all()
    return tuple(FilledRange(int(r[0]), int(r[1]), int(r[2]), r[3]) for r in rows)


def replace_filled(
    store: CandleStore,
    venue: str,
    symbol: str,
    interval: str,
    lo: int,
    hi: int,
    ranges: Sequence[FilledRange],
    *,
    kind: str = "trade",
) -> None:
    """Forget the ranges that start in [lo, hi) and record `ranges` instead (all inside [lo, hi))."""
    f = filled_ranges.c
    key = and_(_key(venue, symbol, interval, kind), f.start_ts >= lo, f.start_ts < hi)
    now = int(time.time() * 1000)
    with store.engine.begin() as conn:
        conn.execute(delete(filled_ranges).where(key))
        if ranges:
            conn.execute(
                insert(filled_ranges),
                [
                    {
                        "venue": venue,
                        "symbol": symbol,
                        "interval": interval,
                        "kind": kind,
                        "start_ts": r.start_ts,
                        "end_ts": r.end_ts,
                        "bars": r.bars,
                        "method": r.method,
                        "created_ms": now,
                    }
                    for r in ranges
                ],
            )


def delete_filled(store: CandleStore, venue: str, symbol: str, interval: str, *, kind: str = "trade") -> int:
    with store.engine.begin() as conn:
        return conn.execute(delete(filled_ranges).where(_key(venue, symbol, interval, kind))).rowcount
