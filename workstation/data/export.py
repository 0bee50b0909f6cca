"""Write stored candles to a CSV that `data import` reads back to the identical series.

Columns: open_time, open, high, low, close, volume (plus `filled` when filled bars are included).
Times are UTC: ISO 8601 with a Z (`2024-01-31T00:00:00Z`) or milliseconds since the epoch. Prices
are written in Python's shortest repr, which parses back to the same float64.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from workstation.data.arrays import PRICE_COLUMNS
from workstation.data.filled import read_filled
from workstation.data.quality import filled_mask
from workstation.data.store import CandleStore

TS_FORMATS = ("iso", "ms")


@dataclass(frozen=True, slots=True)
class ExportReport:
    path: Path
    rows: int
    filled_left_out: int  # made-up bars not written (they are not real candles)
    filled_written: int


def export_csv(
    store: CandleStore,
    venue: str,
    symbol: str,
    interval: str,
    path: Path | str,
    *,
    kind: str = "trade",
    start: int | None = None,
    end: int | None = None,
    ts_format: str = "iso",
    include_filled: bool = False,
) -> ExportReport:
    """Filled bars are left out unless include_filled, which adds a `filled` column (1 = made up)."""
    if ts_format not in TS_FORMATS:
        raise ValueError(f"timestamp format {ts_format!r} is not one of {', '.join(TS_FORMATS)}")
    candles = store.read(venue, symbol, interval, start, end, kind=kind)
    mask = filled_mask(candles.ts, read_filled(store, venue, symbol, interval, kind=kind, start=start, end=end))
    n_filled = int(mask.sum())
    if not include_filled and n_filled:
        candles = candles.take(~mask)
        mask = mask[~mask]
    if ts_format == "iso":
        stamps = pd.to_datetime(candles.ts, unit="ms", utc=True).strftime("%Y-%m-%dT%H:%M:%SZ")
    else:
        stamps = candles.ts
    frame = pd.DataFrame({"open_time": stamps, **{c: getattr(candles, c) for c in PRICE_COLUMNS}})
    if include_filled:
        frame["filled"] = mask.astype(np.int8)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False)
    written = n_filled if include_filled else 0
    return ExportReport(path, len(candles), n_filled - written, written)
