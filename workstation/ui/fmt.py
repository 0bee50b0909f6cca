"""Text formats shared by panels: UTC times and prices."""

from __future__ import annotations

import datetime as dt

import numpy as np


def format_ts(ts_ms: int) -> str:
    return dt.datetime.fromtimestamp(ts_ms / 1000, tz=dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def format_price(value: float) -> str:
    if not np.isfinite(value):
        return "-"
    magnitude = abs(value)
    decimals = 2 if magnitude >= 100 else 4 if magnitude >= 1 else 8
    return f"{value:,.{decimals}f}"
