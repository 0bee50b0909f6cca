"""Chart overlays (moving averages, Bollinger bands) over float64 close prices. Qt-free numpy."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


def sma(values: np.ndarray, period: int) -> np.ndarray:
    out = np.full(len(values), np.nan)
    if period <= 0 or len(values) < period:
        return out
    csum = np.cumsum(np.insert(values, 0, 0.0))
    out[period - 1 :] = (csum[period:] - csum[:-period]) / period
    return out


def ema(values: np.ndarray, period: int) -> np.ndarray:
    """Exponential average seeded from the first value (alpha = 2 / (period + 1))."""
    if len(values) == 0:
        return np.empty(0)
    return pd.Series(values).ewm(span=period, adjust=False).mean().to_numpy()


def bollinger(values: np.ndarray, period: int, width: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(lower, middle, upper): the SMA plus/minus `width` population standard deviations."""
    middle = sma(values, period)
    std = pd.Series(values).rolling(period).std(ddof=0).to_numpy()
    return middle - width * std, middle, middle + width * std


@dataclass(frozen=True, slots=True)
class OverlaySpec:
    key: str
    label: str
    color: str


SMA_PERIOD = 20
EMA_PERIOD = 50
BB_PERIOD, BB_WIDTH = 20, 2.0

OVERLAYS: tuple[OverlaySpec, ...] = (
    OverlaySpec("sma", f"SMA {SMA_PERIOD}", "#f5c542"),
    OverlaySpec("ema", f"EMA {EMA_PERIOD}", "#4fa3ff"),
    OverlaySpec("bb", f"Bollinger {BB_PERIOD}, {BB_WIDTH:g}", "#b084f5"),
)


def compute_overlays(close: np.ndarray) -> dict[str, tuple[np.ndarray, ...]]:
    """Every overlay's lines, keyed like OVERLAYS."""
    return {
        "sma": (sma(close, SMA_PERIOD),),
        "ema": (ema(close, EMA_PERIOD),),
        "bb": bollinger(close, BB_PERIOD, BB_WIDTH),
    }
