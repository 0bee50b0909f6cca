"""Cross-market analysis: return correlations, rolling correlations and lead-lag between symbols."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from workstation.data.arrays import CandleArrays


@dataclass(frozen=True, slots=True, eq=False)
class Aligned:
    """Bar log returns of several symbols on their common timestamps."""

    ts: np.ndarray
    symbols: tuple[str, ...]
    returns: np.ndarray  # (bars - 1, symbols); row i is the return from ts[i] to ts[i + 1]


def align(markets: Mapping[str, CandleArrays]) -> Aligned:
    """Inner-join closes on timestamps, then log returns between consecutive common bars."""
    if len(markets) < 2:
        raise ValueError("need at least two symbols")
    common = None
    for c in markets.values():
        common = c.ts if common is None else np.intersect1d(common, c.ts, assume_unique=True)
    assert common is not None
    if len(common) < 3:
        raise ValueError("the symbols share fewer than three bars")
    closes = np.column_stack([c.close[np.searchsorted(c.ts, common)] for c in markets.values()])
    return Aligned(common, tuple(markets), np.diff(np.log(closes), axis=0))


def correlation_matrix(aligned: Aligned) -> np.ndarray:
    return np.corrcoef(aligned.returns, rowvar=False)


def rolling_correlation(a: np.ndarray, b: np.ndarray, window: int) -> np.ndarray:
    return pd.Series(a).rolling(window).corr(pd.Series(b)).to_numpy()


def lead_lag(a: np.ndarray, b: np.ndarray, max_lag: int = 6) -> dict[int, float]:
    """corr(a[t], b[t + lag]) for lag in -max_lag..max_lag; a positive best lag means a leads b."""
    out = {}
    n = len(a)
    for lag in range(-max_lag, max_lag + 1):
        x, y = (a[: n - lag], b[lag:]) if lag >= 0 else (a[-lag:], b[: n + lag])
        out[lag] = float(np.corrcoef(x, y)[0, 1]) if len(x) > 2 else float("nan")
    return out


def analyse(markets: Mapping[str, CandleArrays], *, window: int = 168, max_lag: int = 6) -> dict[str, Any]:
    """Correlation matrix, the latest and range of rolling correlations, and lead-lag per pair.

    Lead-lag ignores lag 0 when naming the leader; `edge` is how much larger the best non-zero lag
    correlation is (in absolute value) than the opposite lag, a rough asymmetry measure.
    """
    al = align(markets)
    corr = correlation_matrix(al)
    syms = al.symbols
    pairs = []
    for i in range(len(syms)):
        for j in range(i + 1, len(syms)):
            a, b = al.returns[:, i], al.returns[:, j]
            roll = rolling_correlation(a, b, window)
            finite = roll[np.isfinite(roll)]
            ll = lead_lag(a, b, max_lag)
            nonzero = {k: v for k, v in ll.items() if k != 0}
            best = max(nonzero, key=lambda k: abs(nonzero[k]))
            pairs.append(
                {
                    "a": syms[i],
                    "b": syms[j],
                    "correlation": float(corr[i, j]),
                    "rolling_window": window,
                    "rolling_last": float(finite[-1]) if len(finite) else None,
                    "rolling_min": float(finite.min()) if len(finite) else None,
                    "rolling_max": float(finite.max()) if len(finite) else None,
                    "lead_lag": {str(k): v for k, v in ll.items()},
                    "best_lag": best,
                    "leader": syms[i] if best > 0 else syms[j],
                    "best_lag_corr": nonzero[best],
                    "edge": abs(nonzero[best]) - abs(nonzero[-best]),
                }
            )
    return {
        "symbols": list(syms),
        "bars": len(al.ts),
        "start_ts": int(al.ts[0]),
        "end_ts": int(al.ts[-1]),
        "matrix": [[float(x) for x in row] for row in corr],
        "pairs": pairs,
    }
