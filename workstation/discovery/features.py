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
    atr,
    bollinger_position,
    candle_features,
    log_returns,
    macd_histogram,
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


def asof(target_ts: np.ndarray, source_ts: np.ndarray, values: np.ndarray) -> np.ndarray:
    """The last source value at or before each target time (NaN before the first)."""
    idx = np.searchsorted(source_ts, target_ts, side="right") - 1
    out = np.full(len(target_ts), np.nan)
    ok = idx >= 0
    out[ok] = values[idx[ok]]
    return out


def funding_features(
    bar_ts: np.ndarray, step_ms: int, funding_ts: np.ndarray, rates: np.ndarray
) -> dict[str, np.ndarray]:
    """The last settled rate and the mean of the last 21 settlements, known at each bar's close.

    A settlement at T (rounded to the second: Bybit's times jitter by a few ms) is known from T on,
    so bar t (closing at ts[t] + step) sees settlements with T <= ts[t] + step - 1.
    """
    if len(funding_ts) == 0:
        nan = np.full(len(bar_ts), np.nan)
        return {"funding_last": nan, "funding_mean21": nan.copy()}
    t = (np.asarray(funding_ts, dtype=np.int64) + 500) // 1000 * 1000
    r = np.asarray(rates, dtype=np.float64)
    mean21 = pd.Series(r).rolling(21, min_periods=1).mean().to_numpy()
    closes = bar_ts + step_ms - 1
    return {"funding_last": asof(closes, t, r), "funding_mean21": asof(closes, t, mean21)}


def _peer(candles: CandleArrays, peer: CandleArrays, name: str) -> dict[str, np.ndarray]:
    """Peer returns aligned on exact bar times (as-of for missing bars) and the rolling correlation."""
    own = log_returns(candles.close, 1)
    peer_close = asof(candles.ts, peer.ts, peer.close)
    out = {f"{name}_ret_1": log_returns(peer_close, 1), f"{name}_ret_24": log_returns(peer_close, 24)}
    out[f"{name}_corr_168"] = pd.Series(own).rolling(168).corr(pd.Series(out[f"{name}_ret_1"])).to_numpy()
    out[f"{name}_rel_24"] = log_returns(candles.close, 24) - out[f"{name}_ret_24"]
    return out


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
        cols |= _peer(candles, peer, name)
    values = np.column_stack([np.asarray(v, dtype=np.float64) for v in cols.values()])
    values[~np.isfinite(values)] = np.nan
    return FeatureSet(candles.ts, tuple(cols), values)


def forward_returns(close: np.ndarray, horizon: int) -> np.ndarray:
    """log(close[t + h] / close[t]): the label of bar t (NaN for the last h bars). Never a feature."""
    out = np.full(len(close), np.nan)
    if horizon < len(close):
        out[:-horizon] = np.log(close[horizon:] / close[:-horizon])
    return out
