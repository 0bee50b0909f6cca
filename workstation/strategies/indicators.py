"""Causal indicators over float64 arrays: value t depends on inputs[: t + 1] only.

pandas' rolling/ewm kernels are used (they are compensated and match what backtesting.py and
most references compute); results are NaN until the window is full.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def sma(values: np.ndarray, n: int) -> np.ndarray:
    return pd.Series(values).rolling(n).mean().to_numpy()


def ema(values: np.ndarray, n: int) -> np.ndarray:
    out = pd.Series(values).ewm(span=n, adjust=False, min_periods=n).mean().to_numpy()
    return out


def rolling_max(values: np.ndarray, n: int) -> np.ndarray:
    return pd.Series(values).rolling(n).max().to_numpy()


def rolling_min(values: np.ndarray, n: int) -> np.ndarray:
    return pd.Series(values).rolling(n).min().to_numpy()


def rolling_std(values: np.ndarray, n: int) -> np.ndarray:
    return pd.Series(values).rolling(n).std(ddof=0).to_numpy()


def rsi(close: np.ndarray, n: int) -> np.ndarray:
    """Wilder's RSI (smoothing alpha = 1/n)."""
    delta = np.diff(close, prepend=np.nan)
    up = pd.Series(np.where(delta > 0, delta, 0.0))
    down = pd.Series(np.where(delta < 0, -delta, 0.0))
    up.iloc[0] = down.iloc[0] = np.nan
    avg_up = up.ewm(alpha=1 / n, adjust=False, min_periods=n).mean().to_numpy()
    avg_down = down.ewm(alpha=1 / n, adjust=False, min_periods=n).mean().to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        rs = avg_up / avg_down
        out = 100.0 - 100.0 / (1.0 + rs)
    out[(avg_down == 0) & (avg_up > 0)] = 100.0
    return out


def crossed_above(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a[t-1] < b[t-1] and a[t] > b[t] (strict, as backtesting.py's `crossover`)."""
    out = np.zeros(len(a), dtype=bool)
    out[1:] = (a[:-1] < b[:-1]) & (a[1:] > b[1:])
    return out


def hold(events: np.ndarray, initial: float = 0.0) -> np.ndarray:
    """Forward-fill event values (NaN = no event) into a state, starting at `initial`."""
    idx = np.where(~np.isnan(events), np.arange(len(events)), 0)
    np.maximum.accumulate(idx, out=idx)
    out = events[idx]
    out[np.isnan(out)] = initial
    return out
