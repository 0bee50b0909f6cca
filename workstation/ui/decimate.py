"""Min/max decimation of a long line for drawing (no Qt: the lab's worker process runs it).

The series is cut into `buckets` equal runs of points (a pixel column each on any plot up to that
many pixels wide); each run keeps its lowest and its highest point, in time order, and the series
keeps its first and last point. The drawn line therefore reaches exactly the same extremes as the
full one (a drawdown's deepest point, an equity peak) with at most 2 * buckets + 2 points."""

from __future__ import annotations

import numpy as np

CURVE_BUCKETS = 2048  # wider than any lab plot is likely to be, in pixels


def minmax_indices(y: np.ndarray, buckets: int = CURVE_BUCKETS) -> np.ndarray:
    """Sorted indices of the points to draw: each bucket's argmin and argmax, plus both ends.
    NaNs are ignored (a bucket of NaN keeps its first point)."""
    n = len(y)
    if n <= 2 * buckets + 2:
        return np.arange(n)
    size = -(-n // buckets)  # ceil: `buckets` runs of `size` points, the last one shorter
    rows = -(-n // size)
    padded = np.empty(rows * size, dtype=np.float64)
    padded[:n] = y
    padded[n:] = y[-1]  # the last run repeats its last point: it cannot be a new extreme
    grid = padded.reshape(rows, size)
    low = np.where(np.isnan(grid), np.inf, grid).argmin(axis=1)
    high = np.where(np.isnan(grid), -np.inf, grid).argmax(axis=1)
    offsets = np.arange(rows) * size
    keep = np.concatenate(([0, n - 1], offsets + low, offsets + high))
    return np.unique(np.minimum(keep, n - 1))


def minmax_curve(x: np.ndarray, y: np.ndarray, buckets: int = CURVE_BUCKETS) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) decimated for drawing; copies, so the full arrays can be freed."""
    idx = minmax_indices(np.asarray(y, dtype=np.float64), buckets)
    return np.ascontiguousarray(x[idx]), np.ascontiguousarray(np.asarray(y, dtype=np.float64)[idx])


def drawdown(equity: np.ndarray) -> np.ndarray:
    """Fraction below the running peak (0 at a new high, -0.25 a quarter below it)."""
    equity = np.asarray(equity, dtype=np.float64)
    peak = np.fmax.accumulate(equity)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(peak > 0, equity / peak - 1.0, 0.0)
