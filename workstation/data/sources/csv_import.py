"""Generic CSV with a header: configurable column names, timestamp unit and timezone."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from workstation.data.arrays import PRICE_COLUMNS, CandleArrays
from workstation.data.sources.common import BadRow, DataImportError, ParsedFile
from workstation.data.sources.parsing import check_candles, detect_unit, numeric, read_table, to_ms

TS_CANDIDATES = ("open_time", "timestamp", "ts", "time", "date", "datetime", "unnamed: 0")
TS_UNITS = ("auto", "s", "ms", "us", "ns", "iso")


@dataclass(frozen=True, slots=True)
class CsvFormat:
    """How to read a CSV. Column names match case-insensitively; ts=None picks a usual name."""

    ts: str | None = None
    open: str = "open"
    high: str = "high"
    low: str = "low"
    close: str = "close"
    volume: str = "volume"
    ts_unit: str = "auto"  # s | ms | us | ns for numbers, iso for date strings, auto to detect
    timezone: str = "UTC"  # applied to date strings without an offset
    delimiter: str = ","

    def __post_init__(self) -> None:
        if self.ts_unit not in TS_UNITS:
            raise ValueError(f"ts_unit {self.ts_unit!r} is not one of {', '.join(TS_UNITS)}")


def _resolve(frame: pd.DataFrame, wanted: str, path: Path) -> str:
    by_lower = {str(c).strip().lower(): str(c) for c in frame.columns}
    if wanted.lower() in by_lower:
        return by_lower[wanted.lower()]
    raise DataImportError(path, f"no column {wanted!r}; the header has {', '.join(map(str, frame.columns))}")


def _ts_column(frame: pd.DataFrame, fmt: CsvFormat, path: Path) -> str:
    if fmt.ts is not None:
        return _resolve(frame, fmt.ts, path)
    by_lower = {str(c).strip().lower(): str(c) for c in frame.columns}
    for candidate in TS_CANDIDATES:
        if candidate in by_lower:
            return by_lower[candidate]
    raise DataImportError(
        path,
        "no timestamp column found; name it with CsvFormat(ts=...) / --ts-column "
        f"(the header has {', '.join(map(str, frame.columns))})",
    )


def _datetimes(
    column: pd.Series, timezone: str, lines: np.ndarray, file: str, bad: list[BadRow]
) -> tuple[np.ndarray, np.ndarray]:
    text = column.astype("string")
    try:
        parsed = pd.to_datetime(text, errors="coerce", format="ISO8601")
        if parsed.dt.tz is None:
            parsed = parsed.dt.tz_localize(timezone, ambiguous="NaT", nonexistent="NaT")
    except (ValueError, TypeError):  # mixed offsets: compare them in UTC
        parsed = pd.to_datetime(text, errors="coerce", format="ISO8601", utc=True)
    invalid = np.array(parsed.isna(), dtype=bool)
    for i in np.flatnonzero(invalid).tolist():
        bad.append(
            BadRow(
                file,
                int(lines[i]),
                str(column.name),
                str(column.iloc[i]),
                f"a date/time like 2024-01-31 00:00 (timezone {timezone} if none given)",
            )
        )
    ms = parsed.dt.tz_convert("UTC").dt.as_unit("ms").astype("int64", errors="ignore")
    values = np.where(invalid, 0, pd.to_numeric(ms, errors="coerce").fillna(0).to_numpy()).astype(np.int64)
    return values, invalid


def parse_csv(
    path: Path, fmt: CsvFormat | None = None, *, interval: str | None = None, volume_may_be_nan: bool = False
) -> ParsedFile:
    fmt = fmt or CsvFormat()
    bad: list[BadRow] = []
    frame, lines, bad_lines = read_table(path, header=True, n_fields=None, sep=fmt.delimiter)
    bad += bad_lines
    name = path.name
    ts_col = _ts_column(frame, fmt, path)
    columns: dict[str, np.ndarray] = {}
    invalid = np.zeros(len(frame), dtype=bool)
    for field in PRICE_COLUMNS:
        col = _resolve(frame, getattr(fmt, field), path)
        columns[field], field_invalid = numeric(
            frame[col], col, lines, name, bad, allow_nan=field == "volume" and volume_may_be_nan
        )
        invalid |= field_invalid
    raw_ts = pd.to_numeric(frame[ts_col], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    numeric_ts = fmt.ts_unit not in ("iso",) and (fmt.ts_unit != "auto" or np.isfinite(raw_ts).mean() > 0.5)
    if numeric_ts:
        raw_ts, ts_invalid = numeric(frame[ts_col], ts_col, lines, name, bad)
        unit = detect_unit(raw_ts[~ts_invalid]) if fmt.ts_unit == "auto" else fmt.ts_unit
        ts = to_ms(raw_ts, unit, ts_invalid)
    else:
        unit = "iso"
        ts, ts_invalid = _datetimes(frame[ts_col], fmt.timezone, lines, name, bad)
    invalid |= ts_invalid
    invalid = check_candles(
        name, lines, ts, columns, invalid, bad, interval=interval, unit=unit, volume_may_be_nan=volume_may_be_nan
    )
    keep = ~invalid
    candles = CandleArrays.from_columns(ts[keep], *(columns[f][keep] for f in PRICE_COLUMNS))
    return ParsedFile(
        path=path,
        candles=candles,
        kind="trade",
        interval=interval,
        ts_unit=unit,
        rows_read=len(frame),
        bad_rows=tuple(sorted(bad, key=lambda b: b.line)),
    )
