"""Market regimes: bull / bear / sideways and high / low volatility from unsupervised mixtures.

Two one-dimensional Gaussian mixtures, one on a trend score (the `window`-bar log return over its
expected spread) and one on log realised volatility. Components are named by their means (lowest
trend = bear, highest = bull; lowest volatility = low). `fit` on a training slice and `label` any
bars; `causal_labels` refits on an expanding window every `refit` bars so a label at bar t comes
from a model that saw bars before t only (safe as a trading feature); `describe` fits once on the
whole history (a description of the past, not a tradable signal).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.mixture import GaussianMixture

from workstation.data.arrays import CandleArrays
from workstation.discovery.features import log_returns

TRENDS: tuple[str, ...] = ("bear", "sideways", "bull")
VOLS: tuple[str, ...] = ("low-vol", "high-vol")
UNKNOWN = -1


def regime_inputs(close: np.ndarray, window: int = 20) -> tuple[np.ndarray, np.ndarray]:
    """(trend score, log volatility) per bar, causal; NaN during the first `window` bars."""
    r1 = log_returns(close, 1)
    vol = pd.Series(r1).rolling(window).std(ddof=0).to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        trend = log_returns(close, window) / (vol * math.sqrt(window))
        logvol = np.log(vol)
    trend[~np.isfinite(trend)] = np.nan
    logvol[~np.isfinite(logvol)] = np.nan
    return trend, logvol


def _fit_1d(x: np.ndarray, k: int, seed: int) -> tuple[GaussianMixture, np.ndarray]:
    gm = GaussianMixture(k, covariance_type="full", n_init=2, random_state=seed).fit(x.reshape(-1, 1))
    order = np.argsort(gm.means_.ravel())  # component -> rank by mean
    rank = np.empty(k, dtype=np.int64)
    rank[order] = np.arange(k)
    return gm, rank


@dataclass(frozen=True, slots=True, eq=False)
class RegimeModel:
    trend_model: GaussianMixture
    trend_rank: np.ndarray
    vol_model: GaussianMixture
    vol_rank: np.ndarray
    window: int

    @classmethod
    def fit(cls, close: np.ndarray, *, window: int = 20, seed: int = 0) -> RegimeModel:
        trend, logvol = regime_inputs(close, window)
        ok = np.isfinite(trend) & np.isfinite(logvol)
        if ok.sum() < 30:
            raise ValueError(f"need at least 30 bars past the {window}-bar warm-up to fit regimes, have {ok.sum()}")
        tm, tr = _fit_1d(trend[ok], len(TRENDS), seed)
        vm, vr = _fit_1d(logvol[ok], len(VOLS), seed)
        return cls(tm, tr, vm, vr, window)

    def label(self, close: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(trend label 0..2, vol label 0..1) per bar; UNKNOWN during warm-up."""
        trend, logvol = regime_inputs(close, self.window)
        return self.label_inputs(trend, logvol)

    def label_inputs(self, trend: np.ndarray, logvol: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        ok = np.isfinite(trend) & np.isfinite(logvol)
        t = np.full(len(trend), UNKNOWN, dtype=np.int64)
        v = np.full(len(trend), UNKNOWN, dtype=np.int64)
        if ok.any():
            t[ok] = self.trend_rank[self.trend_model.predict(trend[ok].reshape(-1, 1))]
            v[ok] = self.vol_rank[self.vol_model.predict(logvol[ok].reshape(-1, 1))]
        return t, v


@dataclass(frozen=True, slots=True, eq=False)
class Regimes:
    """Labels over time. `combined` = trend * 2 + vol (0..5), UNKNOWN where either is unknown."""

    ts: np.ndarray
    trend: np.ndarray
    vol: np.ndarray
    causal: bool

    @property
    def combined(self) -> np.ndarray:
        return np.where((self.trend >= 0) & (self.vol >= 0), self.trend * len(VOLS) + self.vol, UNKNOWN)

    @staticmethod
    def name(code: int) -> str:
        if code < 0:
            return "unknown"
        return f"{TRENDS[code // len(VOLS)]}/{VOLS[code % len(VOLS)]}"

    def names(self) -> list[str]:
        return [self.name(int(c)) for c in self.combined]

    def one_hot(self) -> dict[str, np.ndarray]:
        """Indicator columns for use as features (NaN where unknown)."""
        out = {}
        known = self.trend >= 0
        for i, n in enumerate(TRENDS):
            out[f"regime_{n}"] = np.where(known, (self.trend == i).astype(float), np.nan)
        out["regime_high_vol"] = np.where(self.vol >= 0, (self.vol == 1).astype(float), np.nan)
        return out

    def periods(self) -> list[dict[str, Any]]:
        """Contiguous runs of the same combined label."""
        code = self.combined
        if not len(code):
            return []
        edges = np.flatnonzero(code[1:] != code[:-1]) + 1
        starts = np.concatenate([[0], edges])
        ends = np.concatenate([edges, [len(code)]])
        return [
            {
                "start_ts": int(self.ts[s]),
                "end_ts": int(self.ts[e - 1]),
                "bars": int(e - s),
                "regime": self.name(int(code[s])),
            }
            for s, e in zip(starts.tolist(), ends.tolist(), strict=True)
        ]


def describe(candles: CandleArrays, *, window: int = 20, seed: int = 0) -> Regimes:
    """Fit on the whole history and label it (descriptive; uses the future of each bar)."""
    model = RegimeModel.fit(candles.close, window=window, seed=seed)
    t, v = model.label(candles.close)
    return Regimes(candles.ts, t, v, causal=False)


def causal_labels(
    close: np.ndarray, ts: np.ndarray, *, window: int = 20, min_train: int = 500, refit: int = 500, seed: int = 0
) -> Regimes:
    """Expanding-window labels: bars [b, b + refit) use a model fitted on bars [0, b) only."""
    n = len(close)
    trend, logvol = regime_inputs(close, window)
    t = np.full(n, UNKNOWN, dtype=np.int64)
    v = np.full(n, UNKNOWN, dtype=np.int64)
    for b in range(min_train, n, refit):
        model = RegimeModel.fit(close[:b], window=window, seed=seed)
        hi = min(n, b + refit)
        t[b:hi], v[b:hi] = model.label_inputs(trend[b:hi], logvol[b:hi])
    return Regimes(ts, t, v, causal=True)


def breakdown(bar_returns: np.ndarray, codes: np.ndarray, periods_per_year: float) -> dict[str, dict[str, Any]]:
    """Per regime: bars, compounded return, annualised Sharpe of the bar returns falling in it.

    `codes[i]` is the regime of the bar in which `bar_returns[i]` was earned (the bar it ends on).
    """
    out: dict[str, dict[str, Any]] = {}
    codes = codes[: len(bar_returns)]
    for code in sorted(set(codes.tolist())):
        r = bar_returns[codes == code]
        sd = float(r.std(ddof=1)) if len(r) > 1 else 0.0
        out[Regimes.name(int(code))] = {
            "bars": len(r),
            "total_return": float(np.expm1(np.log1p(r).sum())),
            "sharpe": float(r.mean() / sd * math.sqrt(periods_per_year)) if sd > 0 else None,
        }
    return out


def summary(regimes: Regimes, close: np.ndarray, periods_per_year: float) -> dict[str, Any]:
    """Share of time, market return and volatility in each regime (from bar returns of `close`)."""
    r = np.diff(close) / close[:-1]
    stats = breakdown(r, regimes.combined[1:], periods_per_year)
    n = max(1, len(r))
    for s in stats.values():
        s["share"] = s["bars"] / n
        s["market_return"] = s.pop("total_return")
        s["market_sharpe"] = s.pop("sharpe")
    return stats


def regime_names() -> Sequence[str]:
    return [Regimes.name(c) for c in range(len(TRENDS) * len(VOLS))]
