"""Causal indicators over float64 arrays: value t depends on inputs[: t + 1] only.

pandas' rolling/ewm kernels are used (they are compensated and match what backtesting.py and
most references compute), except `sma`, a compiled bit-exact port of pandas' rolling mean (twice
as fast, and it releases the GIL in threaded sweeps); results are NaN until the window is full.

`cached()` memoises indicators while a sweep runs: every variant asking for the same window of
the same input array gets the one result (computed once, then shared read-only).
"""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Callable, Iterator
from typing import Any, ParamSpec, TypeVar

import numpy as np
import pandas as pd
from numba import njit

P = ParamSpec("P")
R = TypeVar("R")

# (function, id(first array), other args) -> (the first array, kept alive so its id stays unique; result)
_cache: dict[tuple[Any, ...], tuple[np.ndarray, np.ndarray]] | None = None
_cache_depth = 0
_cache_lock = threading.Lock()


@contextlib.contextmanager
def cached() -> Iterator[None]:
    """Memoise indicator results inside this block (process-wide, shared by threads; nests)."""
    global _cache, _cache_depth
    with _cache_lock:
        _cache_depth += 1
        if _cache is None:
            _cache = {}
    try:
        yield
    finally:
        with _cache_lock:
            _cache_depth -= 1
            if _cache_depth == 0:
                _cache = None


def _memo(fn: Callable[P, R]) -> Callable[P, R]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        store = _cache
        if store is None or not args or not isinstance(args[0], np.ndarray):
            return fn(*args, **kwargs)
        key = (fn, id(args[0]), args[1:], tuple(sorted(kwargs.items())))
        hit = store.get(key)
        if hit is not None and hit[0] is args[0]:
            return hit[1]  # type: ignore[return-value]
        out = fn(*args, **kwargs)
        if isinstance(out, np.ndarray):
            out.flags.writeable = False  # shared between variants: nobody may change it
            store[key] = (args[0], out)
        return out  # type: ignore[return-value]

    return wrapper  # type: ignore[return-value]


@_memo
def sma(values: np.ndarray, n: int) -> np.ndarray:
    """pandas' `Series.rolling(n).mean()`, bit for bit (a compiled port of its compensated kernel)."""
    if n < 1:
        raise ValueError(f"window must be at least 1, not {n}")
    return _rolling_mean(np.ascontiguousarray(values, dtype=np.float64), int(n))


@njit(cache=True, nogil=True)
def _rolling_mean(values: np.ndarray, window: int) -> np.ndarray:  # pragma: no cover - numba
    """pandas/_libs/window/aggregations.pyx roll_mean over fixed windows with min_periods = window:
    Kahan-compensated running sum (separate compensation for adds and removes), infinities as NaN,
    a run of equal values returns that value, and the sign of the mean follows the inputs."""
    n = len(values)
    out = np.empty(n)
    nobs = 0
    neg_ct = 0
    same = 0
    prev = np.nan
    sum_x = 0.0
    comp_add = 0.0
    comp_remove = 0.0
    for i in range(n):
        if i >= window:
            val = values[i - window]
            if val == val and not np.isinf(val):
                nobs -= 1
                y = -val - comp_remove
                t = sum_x + y
                comp_remove = t - sum_x - y
                sum_x = t
                if np.signbit(val):
                    neg_ct -= 1
        val = values[i]
        if val == val and not np.isinf(val):
            nobs += 1
            y = val - comp_add
            t = sum_x + y
            comp_add = t - sum_x - y
            sum_x = t
            if np.signbit(val):
                neg_ct += 1
            if val == prev:
                same += 1
            else:
                same = 1
            prev = val
        if nobs >= window and nobs > 0:
            result = sum_x / nobs
            if same >= nobs:
                result = prev
            elif neg_ct == 0 and result < 0:
                result = 0.0
            elif neg_ct == nobs and result > 0:
                result = 0.0
            out[i] = result
        else:
            out[i] = np.nan
    return out


@_memo
def ema(values: np.ndarray, n: int) -> np.ndarray:
    return pd.Series(values).ewm(span=n, adjust=False, min_periods=n).mean().to_numpy()


@_memo
def rolling_max(values: np.ndarray, n: int) -> np.ndarray:
    return pd.Series(values).rolling(n).max().to_numpy()


@_memo
def rolling_min(values: np.ndarray, n: int) -> np.ndarray:
    return pd.Series(values).rolling(n).min().to_numpy()


@_memo
def rolling_std(values: np.ndarray, n: int) -> np.ndarray:
    return pd.Series(values).rolling(n).std(ddof=0).to_numpy()


@_memo
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
    return _hold(np.ascontiguousarray(events, dtype=np.float64), float(initial))


@njit(cache=True, nogil=True)
def _hold(events: np.ndarray, initial: float) -> np.ndarray:  # pragma: no cover - numba
    out = np.empty(len(events))
    state = initial
    for i in range(len(events)):
        if events[i] == events[i]:
            state = events[i]
        out[i] = state
    return out


def cross_state(fast: np.ndarray, slow: np.ndarray, down_value: float = 0.0) -> np.ndarray:
    """1 from a cross of fast above slow, `down_value` from a cross below; held in between, 0 first.

    The same as hold() over crossed_above() events, in one compiled pass.
    """
    return _cross_state(
        np.ascontiguousarray(fast, dtype=np.float64), np.ascontiguousarray(slow, dtype=np.float64), down_value
    )


@njit(cache=True, nogil=True)
def _cross_state(a: np.ndarray, b: np.ndarray, down: float) -> np.ndarray:  # pragma: no cover - numba
    out = np.empty(len(a))
    cross_state_into(a, b, down, out)
    return out


@njit(cache=True, nogil=True)
def cross_state_into(a: np.ndarray, b: np.ndarray, down: float, out: np.ndarray) -> None:  # pragma: no cover
    """cross_state written into `out` (for compiled callers that reuse a buffer)."""
    n = len(a)
    state = 0.0
    if n:
        out[0] = state
    for t in range(1, n):
        if a[t - 1] < b[t - 1] and a[t] > b[t]:
            state = 1.0
        elif b[t - 1] < a[t - 1] and b[t] > a[t]:
            state = down
        out[t] = state
