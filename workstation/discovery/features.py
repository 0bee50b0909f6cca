"""Causal features from candles, funding and peer markets: row t uses data up to bar t's close only.

Every feature is a rolling or exponentially weighted statistic of past values (pandas kernels) or
an as-of join on timestamps, so cutting the history after bar t leaves rows 0..t unchanged (the
truncation test in tests/unit/test_discovery_features.py checks exactly that).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from workstation.data.arrays import CandleArrays
from workstation.strategies.builtin.ml import (  # the tradeable strategy computes the same features
    RETURN_WINDOWS,
    VOL_WINDOWS,
    asof,
    atr,
    bollinger_position,
    candle_features,
    funding_features,
    log_returns,
    macd_histogram,
    peer_features,
    zscore,
)

__all__ = [
    "RETURN_WINDOWS",
    "VOL_WINDOWS",
    "FeatureSet",
    "asof",
    "atr",
    "bollinger_position",
    "build_features",
    "forward_returns",
    "funding_features",
    "log_returns",
    "macd_histogram",
    "zscore",
]


@dataclass(frozen=True, slots=True, eq=False)
class FeatureSet:
    """A (bars x features) float64 matrix; NaN where a window is not yet full."""

    ts: np.ndarray
    names: tuple[str, ...]
    values: np.ndarray

    def __post_init__(self) -> None:
        if self.values.shape != (len(self.ts), len(self.names)):
            raise ValueError(f"values {self.values.shape} do not match {len(self.ts)} bars x {len(self.names)}")

    def column(self, name: str) -> np.ndarray:
        return self.values[:, self.names.index(name)]

    def with_columns(self, columns: Mapping[str, np.ndarray]) -> FeatureSet:
        extra = np.column_stack([np.asarray(v, dtype=np.float64) for v in columns.values()])
        return FeatureSet(self.ts, (*self.names, *columns), np.hstack([self.values, extra]))

    def take(self, index: slice | np.ndarray) -> FeatureSet:
        return FeatureSet(self.ts[index], self.names, self.values[index])

    def complete_rows(self) -> np.ndarray:
        """Rows where every feature is defined."""
        return np.isfinite(self.values).all(axis=1)

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.values, columns=list(self.names), index=pd.to_datetime(self.ts, unit="ms", utc=True))


def build_features(
    candles: CandleArrays,
    *,
    step_ms: int | None = None,
    funding: tuple[np.ndarray, np.ndarray] | None = None,
    peers: Mapping[str, CandleArrays] | None = None,
) -> FeatureSet:
    """Features of one market; `funding` is (settlement ts, rate), `peers` e.g. {"btc": BTC candles}."""
    if step_ms is None:
        step_ms = int(np.median(np.diff(candles.ts))) if len(candles) > 1 else 60_000
    cols = candle_features(candles)
    if funding is not None:
        cols |= funding_features(candles.ts, step_ms, *funding)
    for name, peer in (peers or {}).items():
        cols |= peer_features(candles, peer, name)
    values = np.column_stack([np.asarray(v, dtype=np.float64) for v in cols.values()])
    values[~np.isfinite(values)] = np.nan
    return FeatureSet(candles.ts, tuple(cols), values)


def forward_returns(close: np.ndarray, horizon: int) -> np.ndarray:
    """log(close[t + h] / close[t]): the label of bar t (NaN for the last h bars). Never a feature."""
    out = np.full(len(close), np.nan)
    if horizon < len(close):
        out[:-horizon] = np.log(close[horizon:] / close[:-horizon])
    return out
