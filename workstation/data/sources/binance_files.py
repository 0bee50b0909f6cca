"""Binance public kline dumps (data.binance.vision): 12 columns, usually no header.

Spot dumps switched open/close times from milliseconds to microseconds on 2025-01-01, so the
unit is detected per file; a row in a different unit than the rest is reported as bad.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from workstation.data.arrays import CandleArrays
from workstation.data.intervals import interval_name
from workstation.data.sources.common import BadRow, DataImportError, ParsedFile
from workstation.data.sources.parsing import (
    check_candles,
    detect_unit,
    numeric,
    open_text,
    read_table,
    to_ms,
)

FIELDS = [
    "open_time",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "close_time",
    "quote_volume",
    "trades",
    "taker_buy_base_volume",
    "taker_buy_quote_volume",
    "ignore",
]
_NAME = re.compile(r"^(?P<symbol>[A-Z0-9]+)-(?P<interval>\d+[smhdw])-")


def looks_like_binance(path: Path) -> bool:
    """First data line has 12 fields and starts with a number."""
    with open_text(path) as stream:
        lines = [stream.readline(), stream.readline()]
    for line in lines:
        fields = line.strip().split(",")
        if len(fields) == len(FIELDS) and fields[0].isdigit():
            return True
    return False


def _has_header(path: Path) -> bool:
    with open_text(path) as stream:
        first = stream.readline().strip()
    return bool(first) and not first.split(",")[0].strip().lstrip("-").isdigit()


def parse_binance(path: Path, *, interval: str | None = None) -> ParsedFile:
    bad: list[BadRow] = []
    frame, lines, bad_lines = read_table(path, header=_has_header(path), n_fields=len(FIELDS), names=FIELDS)
    bad += bad_lines
    if len(frame.columns) != len(FIELDS):
        raise DataImportError(
            path, f"expected {len(FIELDS)} columns (a Binance kline dump), found {len(frame.columns)}"
        )
    name = path.name
    raw_open, invalid = numeric(frame["open_time"], "open_time", lines, name, bad)
    raw_close, close_invalid = numeric(frame["close_time"], "close_time", lines, name, bad)
    invalid |= close_invalid
    columns: dict[str, np.ndarray] = {}
    for field in ("open", "high", "low", "close", "volume"):
        columns[field], field_invalid = numeric(frame[field], field, lines, name, bad)
        invalid |= field_invalid
    unit = detect_unit(raw_open[~invalid])
    ts = to_ms(raw_open, unit, invalid)
    file_interval = None
    good = ~invalid
    if good.any():
        # close_time is the last tick of the candle: one unit before the next open
        span = to_ms(raw_close[good] - raw_open[good] + 1, unit, np.zeros(int(good.sum()), bool))
        try:
            file_interval = interval_name(int(np.median(span)))
        except ValueError as exc:
            raise DataImportError(path, f"close_time - open_time is not a candle interval: {exc}") from exc
    if interval is not None and file_interval is not None and interval != file_interval:
        raise DataImportError(path, f"the file holds {file_interval} candles (close_time - open_time), not {interval}")
    match = _NAME.match(path.name)
    invalid = check_candles(name, lines, ts, columns, invalid, bad, interval=interval or file_interval, unit=unit)
    keep = ~invalid
    candles = CandleArrays.from_columns(
        ts[keep], *(columns[f][keep] for f in ("open", "high", "low", "close", "volume"))
    )
    return ParsedFile(
        path=path,
        candles=candles,
        kind="trade",
        interval=interval or file_interval,
        symbol=match.group("symbol") if match else None,
        ts_unit=unit,
        rows_read=len(frame),
        bad_rows=tuple(sorted(bad, key=lambda b: b.line)),
    )
