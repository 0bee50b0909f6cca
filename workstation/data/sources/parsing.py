"""Fast, line-accurate table parsing shared by the importers.

pandas' C parser reads well-formed files at full speed. Values it could not read as numbers are
found afterwards with vectorised checks, so each bad value is reported with its line number.
Only when a line has the wrong number of fields do we scan the file with the csv module to find
those lines, then let pandas read the rest.
"""

from __future__ import annotations

import csv
import gzip
import io
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from workstation.data.intervals import bucket_offset_ms, interval_ms
from workstation.data.sources.common import BadRow

# Plausible candle times: 2000-01-01 .. 2100-01-01 UTC, in ms.
MIN_TS = 946_684_800_000
MAX_TS = 4_102_444_800_000
_UNIT_FACTOR = {"s": 1000.0, "ms": 1.0, "us": 1e-3, "ns": 1e-6}


def open_text(path: Path) -> io.TextIOBase:
    """A text stream of a plain, .gz or single-member .zip file."""
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", newline="")
    if path.suffix == ".zip":
        archive = zipfile.ZipFile(path)
        return io.TextIOWrapper(archive.open(archive.namelist()[0]), encoding="utf-8", newline="")
    return open(path, encoding="utf-8", newline="")


def _wrong_field_counts(path: Path, sep: str, expected: int | None, file: str) -> tuple[list[int], list[BadRow]]:
    """0-based indices and reports of lines whose field count differs from the first line's."""
    skip: list[int] = []
    bad: list[BadRow] = []
    with open_text(path) as stream:
        for number, fields in enumerate(csv.reader(stream, delimiter=sep), start=1):
            if expected is None:
                expected = len(fields)
                continue
            if len(fields) != expected:
                skip.append(number - 1)
                found = f"found {len(fields)}" if fields else "found an empty line"
                bad.append(BadRow(file, number, "line", sep.join(fields)[:80], f"{expected} fields, {found}"))
    return skip, bad


def read_table(
    path: Path, *, header: bool, n_fields: int | None, sep: str = ",", names: list[str] | None = None
) -> tuple[pd.DataFrame, np.ndarray, list[BadRow]]:
    """Read a delimited file. Returns the frame, the 1-based file line of each row, bad lines."""
    first_data_line = 2 if header else 1
    kwargs: dict[str, object] = {
        "sep": sep,
        "header": 0 if header else None,
        "skip_blank_lines": False,
        "names": names,
    }
    try:
        frame = pd.read_csv(path, **kwargs)
        suspicious = bool(frame.isna().to_numpy().any())  # short lines are padded with NaN
    except (pd.errors.ParserError, ValueError):
        suspicious = True
    if not suspicious:
        return frame, np.arange(first_data_line, first_data_line + len(frame), dtype=np.int64), []
    skip, bad = _wrong_field_counts(path, sep, None if header else n_fields, path.name)
    frame = pd.read_csv(path, skiprows=skip, **kwargs)
    lines = np.arange(first_data_line, first_data_line + len(frame) + len(skip), dtype=np.int64)
    if skip:
        lines = np.setdiff1d(lines, np.asarray(skip, dtype=np.int64) + 1)[: len(frame)]
    return frame, lines, bad


def numeric(
    column: pd.Series, name: str, lines: np.ndarray, file: str, bad: list[BadRow], *, allow_nan: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """float64 values and a mask of rows whose value is not a finite number."""
    values = pd.to_numeric(column, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    invalid = ~np.isfinite(values)
    if allow_nan:
        invalid &= ~column.isna().to_numpy()
    for i in np.flatnonzero(invalid).tolist():
        raw = column.iloc[i]
        text = "" if raw is None or (isinstance(raw, float) and np.isnan(raw)) else str(raw)
        bad.append(BadRow(file, int(lines[i]), name, text, "a number" if text else "a value (field empty)"))
    return values, invalid


def detect_unit(raw: np.ndarray) -> str:
    """s, ms, us or ns from the magnitude of the typical timestamp."""
    finite = raw[np.isfinite(raw)]
    if not len(finite):
        return "ms"
    magnitude = float(np.median(np.abs(finite)))
    return "s" if magnitude < 1e11 else "ms" if magnitude < 1e14 else "us" if magnitude < 1e17 else "ns"


def to_ms(raw: np.ndarray, unit: str, invalid: np.ndarray) -> np.ndarray:
    """Numeric timestamps in `unit` to int64 ms (invalid rows become 0)."""
    safe = np.where(invalid, 0, raw)
    if unit == "ms":
        return safe.astype(np.int64)
    return np.round(safe * _UNIT_FACTOR[unit]).astype(np.int64)


def check_candles(
    file: str,
    lines: np.ndarray,
    ts: np.ndarray,
    columns: dict[str, np.ndarray],
    invalid: np.ndarray,
    bad: list[BadRow],
    *,
    interval: str | None,
    unit: str,
    volume_may_be_nan: bool = False,
) -> np.ndarray:
    """Flag rows that cannot be candles. Returns the updated invalid mask."""
    invalid = invalid.copy()

    def flag(mask: np.ndarray, field: str, values: np.ndarray, expected: str) -> None:
        for i in np.flatnonzero(mask & ~invalid).tolist():
            bad.append(BadRow(file, int(lines[i]), field, str(values[i]), expected))
        invalid[:] |= mask

    flag(
        (ts < MIN_TS) | (ts > MAX_TS),
        "timestamp",
        ts,
        f"a time between 2000 and 2100 in {unit} (the unit detected for this file)",
    )
    if interval is not None:
        misaligned = (ts - bucket_offset_ms(interval)) % interval_ms(interval) != 0
        flag(misaligned, "timestamp", ts, f"a {interval} candle open time (ms, UTC)")
    for name in ("open", "high", "low", "close"):
        flag(columns[name] <= 0, name, columns[name], "a positive price")
    volume = columns["volume"]
    flag(volume < 0, "volume", volume, "a volume >= 0")
    if not volume_may_be_nan:
        flag(np.isnan(volume), "volume", volume, "a volume (not NaN)")
    return invalid
