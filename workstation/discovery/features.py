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
from workstation.strategies import indicators as ind

RETURN_WINDOWS: tuple[int, ...] = (1, 4, 12, 24, 72)
VOL_WINDOWS: tuple[int, ...] = (24, 168)


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


def log_returns(close: np.ndarray, window: int = 1) -> np.ndarray:
    """log(close[t] / close[t - window]); NaN for the first `window` bars."""
    out = np.full(len(close), np.nan)
    if window < len(close):
        with np.errstate(divide="ignore", invalid="ignore"):
            out[window:] = np.log(close[window:] / close[:-window])
    return out


def atr(candles: CandleArrays, n: int = 14) -> np.ndarray:
    """Wilder's average true range."""
    prev_close = np.concatenate([[np.nan], candles.close[:-1]])
    tr = np.fmax(
        candles.high - candles.low, np.fmax(np.abs(candles.high - prev_close), np.abs(candles.low - prev_close))
    )
    return pd.Series(tr).ewm(alpha=1 / n, adjust=False, min_periods=n).mean().to_numpy()


def macd_histogram(close: np.ndarray, fast: int = 12, slow: int = 26, signal: int = 9) -> np.ndarray:
    line = ind.ema(close, fast) - ind.ema(close, slow)
    sig = pd.Series(line).ewm(span=signal, adjust=False, min_periods=signal).mean().to_numpy()
    return line - sig


def bollinger_position(close: np.ndarray, n: int = 20, width: float = 2.0) -> np.ndarray:
    """0 at the middle band, +1 at the upper band, -1 at the lower one."""
    sd = ind.rolling_std(close, n)
    with np.errstate(divide="ignore", invalid="ignore"):
        return (close - ind.sma(close, n)) / (width * sd)


def zscore(values: np.ndarray, n: int) -> np.ndarray:
    s = pd.Series(values)
    mean, sd = s.rolling(n).mean(), s.rolling(n).std(ddof=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return ((s - mean) / sd).replace([np.inf, -np.inf], np.nan).to_numpy()


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


def _single(candles: CandleArrays, prefix: str = "") -> dict[str, np.ndarray]:
    c = candles.close
    r1 = log_returns(c, 1)
    out: dict[str, np.ndarray] = {}
    for w in RETURN_WINDOWS:
        out[f"{prefix}ret_{w}"] = log_returns(c, w)
    for w in VOL_WINDOWS:
        out[f"{prefix}vol_{w}"] = pd.Series(r1).rolling(w).std(ddof=0).to_numpy()
    if prefix:
        return out
    with np.errstate(divide="ignore", invalid="ignore"):
        out["atr_14"] = atr(candles, 14) / c
        out["vol_ratio"] = out["vol_24"] / out["vol_168"]
        out["macd_hist"] = macd_histogram(c) / c
    out["rsi_14"] = ind.rsi(c, 14) / 100.0 - 0.5
    out["boll_pos"] = bollinger_position(c)
    with np.errstate(divide="ignore"):
        out["volume_z"] = zscore(np.log1p(np.nan_to_num(candles.volume, nan=0.0)), 72)
    out["range_pos"] = (c - ind.rolling_min(candles.low, 72)) / (
        ind.rolling_max(candles.high, 72) - ind.rolling_min(candles.low, 72)
    )
    return out


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
    cols = _single(candles)
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
