"""CandleArrays: a series of candles as parallel numpy columns (the analytics form of a candle)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd

from workstation.core.types import Candle

PRICE_COLUMNS: tuple[str, ...] = ("open", "high", "low", "close", "volume")
COLUMNS: tuple[str, ...] = ("ts", *PRICE_COLUMNS)


@dataclass(frozen=True, slots=True, eq=False)
class CandleArrays:
    """Candles sorted by `ts` (int64 UTC ms of the candle open); prices and volume are float64."""

    ts: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray

    def __post_init__(self) -> None:
        n = len(self.ts)
        for name in PRICE_COLUMNS:
            if len(getattr(self, name)) != n:
                raise ValueError(f"column {name} has {len(getattr(self, name))} rows, ts has {n}")

    @classmethod
    def empty(cls) -> CandleArrays:
        return cls(np.empty(0, np.int64), *(np.empty(0, np.float64) for _ in PRICE_COLUMNS))

    @classmethod
    def from_columns(
        cls, ts: object, open_: object, high: object, low: object, close: object, volume: object
    ) -> CandleArrays:
        """Build from any array-likes, converting to int64 / float64."""
        return cls(
            np.ascontiguousarray(ts, dtype=np.int64),
            *(np.ascontiguousarray(c, dtype=np.float64) for c in (open_, high, low, close, volume)),
        )

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> CandleArrays:
        """From a frame with ts (int ms) or a DatetimeIndex, and open/high/low/close/volume."""
        if "ts" in frame.columns:
            ts = frame["ts"].to_numpy(dtype=np.int64)
        else:
            index = pd.DatetimeIndex(frame.index)
            ts = index.as_unit("ms").asi8
        return cls.from_columns(ts, *(frame[c].to_numpy() for c in PRICE_COLUMNS))

    @classmethod
    def concat(cls, parts: list[CandleArrays]) -> CandleArrays:
        if not parts:
            return cls.empty()
        if len(parts) == 1:
            return parts[0]
        return cls(*(np.concatenate([getattr(p, c) for p in parts]) for c in COLUMNS))

    def __len__(self) -> int:
        return len(self.ts)

    def columns(self) -> tuple[np.ndarray, ...]:
        return (self.ts, self.open, self.high, self.low, self.close, self.volume)

    def take(self, index: np.ndarray | slice) -> CandleArrays:
        return CandleArrays(*(c[index] for c in self.columns()))

    def between(self, start: int | None = None, end: int | None = None) -> CandleArrays:
        """Candles with start <= ts < end (either bound may be None). Assumes sorted ts."""
        lo = 0 if start is None else int(np.searchsorted(self.ts, start, side="left"))
        hi = len(self.ts) if end is None else int(np.searchsorted(self.ts, end, side="left"))
        if lo == 0 and hi == len(self.ts):
            return self
        return self.take(slice(lo, hi))

    def equals(self, other: CandleArrays) -> bool:
        """Exact equality; NaN equals NaN (mark-price candles have NaN volume)."""
        if len(self) != len(other):
            return False
        if not np.array_equal(self.ts, other.ts):
            return False
        return all(np.array_equal(getattr(self, c), getattr(other, c), equal_nan=True) for c in PRICE_COLUMNS)

    def to_frame(self) -> pd.DataFrame:
        """A DataFrame indexed by a UTC DatetimeIndex named `ts`."""
        index = pd.DatetimeIndex(pd.to_datetime(self.ts, unit="ms", utc=True), name="ts")
        return pd.DataFrame({c: getattr(self, c) for c in PRICE_COLUMNS}, index=index)

    def candles(self) -> Iterator[Candle]:
        """One `Candle` object per row; for small slices (charts, the live engine), not bulk work."""
        for row in zip(*(c.tolist() for c in self.columns()), strict=True):
            yield Candle(*row)
