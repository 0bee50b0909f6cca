"""Candle intervals ('1m', '5m', '1h', '4h', '1d', '1w') and UTC month arithmetic."""

from __future__ import annotations

import datetime as dt
import re

import numpy as np

MINUTE_MS = 60_000
_UNIT_MS = {"m": MINUTE_MS, "h": 60 * MINUTE_MS, "d": 1440 * MINUTE_MS, "w": 7 * 1440 * MINUTE_MS}
# 1970-01-01 was a Thursday; exchanges open weekly candles on Monday 00:00 UTC.
_WEEK_OFFSET_MS = 4 * 1440 * MINUTE_MS
_PATTERN = re.compile(r"^(\d+)([mhdw])$")


def interval_ms(interval: str) -> int:
    """'5m' -> 300000. Raises ValueError naming the accepted forms."""
    match = _PATTERN.match(interval.strip())
    if not match or int(match.group(1)) <= 0:
        raise ValueError(f"interval {interval!r} is not like 1m, 5m, 15m, 1h, 4h, 1d or 1w")
    return int(match.group(1)) * _UNIT_MS[match.group(2)]


def bucket_offset_ms(interval: str) -> int:
    """Where buckets of this interval start, relative to the epoch (weeks start on Monday)."""
    return _WEEK_OFFSET_MS if interval.strip().endswith("w") else 0


def bucket_start(ts: np.ndarray, interval: str) -> np.ndarray:
    """The open time of the bucket each ts falls in (UTC, exchange-style alignment)."""
    step = interval_ms(interval)
    offset = bucket_offset_ms(interval)
    return (ts - offset) // step * step + offset


def month_start_ms(ts: int) -> int:
    """UTC month start (ms) of a single timestamp."""
    d = dt.datetime.fromtimestamp(ts / 1000, tz=dt.UTC)
    return int(dt.datetime(d.year, d.month, 1, tzinfo=dt.UTC).timestamp() * 1000)


def month_starts(ts: np.ndarray) -> np.ndarray:
    """UTC month start (ms) of each timestamp, vectorised."""
    months = ts.astype("datetime64[ms]").astype("datetime64[M]")
    return months.astype("datetime64[ms]").astype(np.int64)


def format_ms(ts: int | None) -> str:
    if ts is None:
        return "-"
    return dt.datetime.fromtimestamp(ts / 1000, tz=dt.UTC).strftime("%Y-%m-%d %H:%M")


def parse_time(text: str) -> int:
    """A UTC time from the command line: ms since the epoch, or an ISO date/datetime (UTC if naive)."""
    text = text.strip()
    if text.lstrip("-").isdigit():
        return int(text)
    try:
        parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValueError(f"time {text!r} is neither ms since the epoch nor an ISO date like 2024-03-01") from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return int(parsed.timestamp() * 1000)


def interval_name(ms: int) -> str:
    """60000 -> '1m', 3600000 -> '1h', 604800000 -> '1w'."""
    if ms <= 0 or ms % MINUTE_MS:
        raise ValueError(f"{ms} ms is not a whole number of minutes")
    for unit in ("w", "d", "h"):
        if ms % _UNIT_MS[unit] == 0 and (unit != "w" or ms == _UNIT_MS["w"]):
            return f"{ms // _UNIT_MS[unit]}{unit}"
    return f"{ms // MINUTE_MS}m"


def infer_interval(ts: np.ndarray) -> str | None:
    """The most common step between sorted timestamps, or None with fewer than two rows."""
    steps = np.diff(np.unique(ts))
    if not len(steps):
        return None
    values, counts = np.unique(steps, return_counts=True)
    return interval_name(int(values[np.argmax(counts)]))


# our interval names -> Bybit V5 kline interval codes (REST `interval`, WebSocket `kline.<code>.<symbol>`)
BYBIT_KLINE_CODES: dict[str, str] = {
    "1m": "1",
    "3m": "3",
    "5m": "5",
    "15m": "15",
    "30m": "30",
    "1h": "60",
    "2h": "120",
    "4h": "240",
    "6h": "360",
    "12h": "720",
    "1d": "D",
    "1w": "W",
}
