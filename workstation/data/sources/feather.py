"""freqtrade feather files: `date` (UTC) plus open/high/low/close/volume.

File names say what they hold: BTC_USDT_USDT-5m-futures (last price), -mark (mark price, volume
may be NaN), -funding_rate (the rate is in `open`; one row per settlement, whatever the name's
interval says).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from workstation.data.arrays import PRICE_COLUMNS, CandleArrays
from workstation.data.sources.common import BadRow, DataImportError, ParsedFile
from workstation.data.sources.parsing import check_candles, numeric

_NAME = re.compile(
    r"^(?P<base>[A-Za-z0-9]+)_(?P<quote>[A-Za-z0-9]+)(?:_[A-Za-z0-9]+)?"
    r"-(?P<interval>\d+[mhdw])(?:-(?P<kind>futures|mark|funding_rate|spot|index|premiumIndex))?\.feather$"
)
_KINDS = {None: "trade", "spot": "trade", "futures": "trade", "mark": "mark", "funding_rate": "funding"}


def parse_feather(path: Path, *, interval: str | None = None) -> ParsedFile:
    match = _NAME.match(path.name)
    kind = _KINDS.get(match.group("kind"), "") if match else "trade"
    if not kind:
        raise DataImportError(path, f"{match.group('kind') if match else '?'} files are not supported")
    try:
        frame = pd.read_feather(path)
    except Exception as exc:  # pyarrow raises several unrelated types for a broken file
        raise DataImportError(path, f"not a readable feather file: {exc}") from exc
    missing = [c for c in ("date", *PRICE_COLUMNS) if c not in frame.columns]
    if missing:
        raise DataImportError(path, f"missing columns {', '.join(missing)}; found {', '.join(frame.columns)}")
    bad: list[BadRow] = []
    rows = np.arange(1, len(frame) + 1, dtype=np.int64)  # feather has no lines: 1-based row numbers
    dates = pd.to_datetime(frame["date"], utc=True, errors="coerce")
    invalid = np.array(dates.isna(), dtype=bool)
    for i in np.flatnonzero(invalid).tolist():
        bad.append(BadRow(path.name, int(rows[i]), "date", str(frame["date"].iloc[i]), "a UTC date/time"))
    ts = np.where(invalid, 0, dates.dt.as_unit("ms").astype("int64", errors="ignore").fillna(0).to_numpy())
    ts = ts.astype(np.int64)
    columns: dict[str, np.ndarray] = {}
    for field in PRICE_COLUMNS:
        columns[field], field_invalid = numeric(
            frame[field], field, rows, path.name, bad, allow_nan=field == "volume" and kind == "mark"
        )
        invalid |= field_invalid
    file_interval = interval or (match.group("interval") if match else None)
    if kind != "funding":  # funding rows hold a rate (may be <= 0) at settlement times
        invalid = check_candles(
            path.name,
            rows,
            ts,
            columns,
            invalid,
            bad,
            interval=file_interval,
            unit="ms",
            volume_may_be_nan=kind == "mark",
        )
    keep = ~invalid
    candles = CandleArrays.from_columns(ts[keep], *(columns[f][keep] for f in PRICE_COLUMNS))
    return ParsedFile(
        path=path,
        candles=candles,
        kind=kind,
        interval=None if kind == "funding" else file_interval,
        symbol=(match.group("base") + match.group("quote")).upper() if match else None,
        ts_unit="ms",
        rows_read=len(frame),
        bad_rows=tuple(sorted(bad, key=lambda b: b.line)),
    )
