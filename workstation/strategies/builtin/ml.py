"""`ml_classifier`: a scikit-learn classifier of the next-N-bar return sign, refitted on past bars only.

Everything that defines the strategy is a parameter (model family, label horizon, threshold, feature
set, training window, refit period, embargo, weighting, seed), so a strategy name plus its params
rebuilds exactly the strategy that discovery evaluated, in the backtest, the paper venue and live.

Refits happen at anchor bars fixed in absolute time: bar t is an anchor when `ts // (refit x bar)`
changes, so a live engine holding only the latest `warmup` bars sees the same anchors, the same
training rows and hence the same models as a backtest over the whole history. The model used from
anchor b until the next anchor is fitted on the `train` rows i ending `embargo` bars before b whose
labels sign(close[i + h] / close[i] - 1) are complete by then (i + h < b - embargo): no label that
reaches past a bar is used to predict it. Rows are weighted by their labels' average uniqueness
(overlapping labels share their information; Lopez de Prado, Advances in Financial ML, ch. 4).
Fitted models are cached by a hash of their exact training data, so recomputing a sliding window at
every candle refits only when a new anchor appears, and a cache hit cannot hide a leak.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from workstation.data.arrays import CandleArrays
from workstation.strategies import indicators as ind
from workstation.strategies.base import FUNDING, PEER, InputSpec, Signals, Strategy, StrategyInputs, param

LOGISTIC, HGB = 0, 1
MODEL_CODES: dict[str, int] = {"logistic": LOGISTIC, "logreg": LOGISTIC, "hgb": HGB}
MODEL_NAMES: tuple[str, ...] = ("logistic", "hgb")
RETURNS, TECHNICAL, WITH_FUNDING = 0, 1, 2
PEERS: tuple[str, ...] = ("", "BTCUSDT", "ETHUSDT", "SOLUSDT", "BNBUSDT")  # the `peer` param's codes
RETURN_WINDOWS: tuple[int, ...] = (1, 4, 12, 24, 72)
VOL_WINDOWS: tuple[int, ...] = (24, 168)
# rows before this are never trained on: the longest feature window (168) is full and exponentially
# weighted features have forgotten their start (0.93^500 < 1e-15), so a window starting later agrees
FEATURE_WARMUP = 500
MIN_ROWS = 50


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


def candle_features(candles: CandleArrays, prefix: str = "", *, technical: bool = True) -> dict[str, np.ndarray]:
    """Causal features of one market's candles: returns and volatility, plus indicators if `technical`."""
    c = candles.close
    r1 = log_returns(c, 1)
    out: dict[str, np.ndarray] = {}
    for w in RETURN_WINDOWS:
        out[f"{prefix}ret_{w}"] = log_returns(c, w)
    for w in VOL_WINDOWS:
        out[f"{prefix}vol_{w}"] = pd.Series(r1).rolling(w).std(ddof=0).to_numpy()
    if not technical:
        return out
    with np.errstate(divide="ignore", invalid="ignore"):
        out["atr_14"] = atr(candles, 14) / c
        out["vol_ratio"] = out[f"{prefix}vol_24"] / out[f"{prefix}vol_168"]
        out["macd_hist"] = macd_histogram(c) / c
    out["rsi_14"] = ind.rsi(c, 14) / 100.0 - 0.5
    out["boll_pos"] = bollinger_position(c)
    with np.errstate(divide="ignore"):
        out["volume_z"] = zscore(np.log1p(np.nan_to_num(candles.volume, nan=0.0)), 72)
    lo, hi = ind.rolling_min(candles.low, 72), ind.rolling_max(candles.high, 72)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["range_pos"] = (c - lo) / (hi - lo)
    return out


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


def peer_features(candles: CandleArrays, peer: CandleArrays, name: str) -> dict[str, np.ndarray]:
    """Peer returns aligned on bar open times (the peer bar opened with ours closes with it; as-of
    for missing bars, so no later peer bar is ever used) and their rolling correlation with ours."""
    own = log_returns(candles.close, 1)
    peer_close = asof(candles.ts, peer.ts, peer.close)
    out = {f"{name}_ret_1": log_returns(peer_close, 1), f"{name}_ret_24": log_returns(peer_close, 24)}
    out[f"{name}_corr_168"] = pd.Series(own).rolling(168).corr(pd.Series(out[f"{name}_ret_1"])).to_numpy()
    out[f"{name}_rel_24"] = log_returns(candles.close, 24) - out[f"{name}_ret_24"]
    return out


def bar_step(ts: np.ndarray) -> int:
    """The bar length in ms: the smallest positive step between bars (1 for fewer than two bars)."""
    steps = np.diff(ts)
    return int(steps[steps > 0].min()) if (steps > 0).any() else 1


def average_uniqueness(rows: np.ndarray, horizon: int) -> np.ndarray:
    """Per training row, the mean over its label's bars (i + 1 .. i + horizon) of 1 / (labels on that bar).

    Concurrency counts only the given rows (the training set). A label nobody overlaps scores 1.
    """
    rows = np.asarray(rows, dtype=np.int64)
    if not len(rows):
        return np.empty(0)
    start = rows - rows[0]
    size = int(start[-1]) + horizon
    diff = np.zeros(size + 1)
    np.add.at(diff, start, 1.0)
    np.add.at(diff, start + horizon, -1.0)
    concurrency = np.cumsum(diff)[:size]  # labels covering bar rows[0] + 1 + k
    inv = np.where(concurrency > 0, 1.0 / np.maximum(concurrency, 1.0), 0.0)
    csum = np.concatenate([[0.0], np.cumsum(inv)])
    return (csum[start + horizon] - csum[start]) / horizon


def make_model(kind: int, seed: int = 0) -> Any:
    """A small, seeded classifier (sklearn is imported only when a model is built)."""
    if kind == HGB:
        from sklearn.ensemble import HistGradientBoostingClassifier

        return HistGradientBoostingClassifier(
            max_iter=80,
            max_bins=63,
            learning_rate=0.05,
            max_leaf_nodes=15,
            min_samples_leaf=200,
            l2_regularization=1.0,
            early_stopping=False,
            random_state=seed,
        )
    if kind == LOGISTIC:
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import Pipeline
        from sklearn.preprocessing import StandardScaler

        return Pipeline(
            [("scale", StandardScaler()), ("model", LogisticRegression(C=0.05, solver="newton-cholesky", max_iter=200))]
        )
    raise ValueError(f"unknown model code {kind}; known: {', '.join(f'{i} = {n}' for i, n in enumerate(MODEL_NAMES))}")


def fit_model(kind: int, seed: int, x: np.ndarray, y: np.ndarray, w: np.ndarray | None) -> Any:
    model = make_model(kind, seed)
    if w is None:
        model.fit(x, y)
    elif kind == LOGISTIC:
        model.fit(x, y, model__sample_weight=w)
    else:
        model.fit(x, y, sample_weight=w)
    return model


_CACHE: OrderedDict[bytes, Any] = OrderedDict()
_CACHE_SIZE = 256
_CACHE_LOCK = threading.Lock()


def cached_fit(kind: int, seed: int, x: np.ndarray, y: np.ndarray, w: np.ndarray | None) -> Any:
    """fit_model, memoised on the exact bytes of the training data (a deterministic fit: same model)."""
    h = hashlib.blake2b(digest_size=20)
    h.update(np.array([kind, seed, x.shape[0], x.shape[1]], dtype=np.int64).tobytes())
    for a in (x, y, np.empty(0) if w is None else w):
        h.update(np.ascontiguousarray(a).tobytes())
    key = h.digest()
    with _CACHE_LOCK:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key]
    model = fit_model(kind, seed, x, y, w)
    with _CACHE_LOCK:
        _CACHE[key] = model
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return model


def anchors(ts: np.ndarray, refit: int) -> np.ndarray:
    """Bars where a new `refit`-bar period of absolute time starts (bar 0 never is one)."""
    if len(ts) < 2:
        return np.empty(0, np.int64)
    slot = ts // (bar_step(ts) * refit)
    return np.flatnonzero(np.diff(slot) != 0) + 1


@dataclass(frozen=True)
class MlClassifier(Strategy):
    name = "ml_classifier"
    description = "Classifier of the next-N-bar return sign, refitted on a rolling window of past bars."
    model: int = param(0, 0, 1, 1, "0 = logistic regression, 1 = histogram gradient boosting")
    horizon: int = param(6, 1, 168, 1, "label: the sign of the return over the next N bars")
    threshold: float = param(0.55, 0.5, 0.8, 0.01, "long when P(up) > threshold")
    short: int = param(0, 0, 1, 1, "1 = short when P(up) < 1 - threshold")
    features: int = param(
        1, 0, 2, 1, "0 = returns and volatility, 1 = plus technical indicators, 2 = plus funding rate"
    )
    train: int = param(2000, 200, 50_000, 100, "training rows per fit (a rolling window of past bars)")
    refit: int = param(500, 24, 10_000, 24, "refit every K bars (anchored in absolute time)")
    embargo: int = param(24, 0, 500, 1, "bars between the newest training label's end and the refit bar")
    weighting: int = param(1, 0, 1, 1, "1 = weight rows by their labels' average uniqueness")
    seed: int = param(0, 0, 1000, 1, "model seed")
    peer: int = param(
        0,
        0,
        len(PEERS) - 1,
        1,
        "peer returns as features: " + ", ".join(f"{i} = {s or 'none'}" for i, s in enumerate(PEERS)),
    )

    def check(self) -> None:
        if self.model not in (LOGISTIC, HGB):
            raise ValueError(f"model must be 0 (logistic) or 1 (hgb), not {self.model}")

    @property
    def peer_symbol(self) -> str:
        return PEERS[self.peer]

    def inputs(self) -> tuple[InputSpec, ...]:
        out = [InputSpec(FUNDING)] if self.features >= WITH_FUNDING else []
        if self.peer:
            out.append(InputSpec(PEER, self.peer_symbol))
        return tuple(out)

    @property
    def warmup(self) -> int:
        return FEATURE_WARMUP + self.train + self.embargo + self.horizon + self.refit

    def label(self) -> str:
        side = "long/short" if self.short else "long"
        return (
            f"ml_classifier({MODEL_NAMES[self.model]},h={self.horizon},p>{self.threshold:g},{side},"
            f"train={self.train},refit={self.refit}"
            + (",funding" if self.features >= WITH_FUNDING else "")
            + (f",peer={self.peer_symbol}" if self.peer else "")
            + ")"
        )

    def _extra(self) -> StrategyInputs:
        """The bound inputs, or a ValueError naming every series this strategy lacks."""
        got = self.bound_inputs()
        missing = [
            spec.describe()
            for spec in self.inputs()
            if got is None
            or (spec.kind == FUNDING and got.funding is None)
            or (spec.kind == PEER and spec.symbol not in got.peers)
        ]
        if missing:
            raise ValueError(
                f"{self.label()} needs {' and '.join(missing)}, which were not loaded with its candles "
                "(bind them: backtest.inputs.bind_inputs)"
            )
        return got or StrategyInputs()

    def feature_matrix(self, candles: CandleArrays) -> np.ndarray:
        cols = candle_features(candles, technical=self.features >= TECHNICAL)
        if self.inputs():
            extra = self._extra()
            if self.features >= WITH_FUNDING and extra.funding is not None:
                cols |= funding_features(candles.ts, bar_step(candles.ts), *extra.funding)
            if self.peer:
                cols |= peer_features(candles, extra.peers[self.peer_symbol], "peer")
        x = np.column_stack([np.asarray(v, dtype=np.float64) for v in cols.values()])
        x[~np.isfinite(x)] = np.nan
        return x

    def probabilities(self, candles: CandleArrays) -> np.ndarray:
        """P(return over the next `horizon` bars > 0) per bar; NaN where no model may predict yet."""
        n = len(candles)
        out = np.full(n, np.nan)
        starts = anchors(candles.ts, self.refit)
        if not len(starts):
            return out
        x = self.feature_matrix(candles)
        usable = np.isfinite(x).all(axis=1)
        y = np.zeros(n, np.int64)
        with np.errstate(divide="ignore", invalid="ignore"):
            y[: n - self.horizon] = candles.close[self.horizon :] > candles.close[: n - self.horizon]
        ends = [*starts[1:].tolist(), n]
        for b, e in zip(starts.tolist(), ends, strict=True):
            hi = b - self.embargo - self.horizon  # rows < hi have labels complete before b - embargo
            lo = hi - self.train
            if lo < FEATURE_WARMUP:
                continue
            rows = np.arange(lo, hi)[usable[lo:hi]]
            if len(rows) < MIN_ROWS or len(np.unique(y[rows])) < 2:
                continue
            w = None
            if self.weighting:
                u = average_uniqueness(rows, self.horizon)
                w = u / u.mean()
            model = cached_fit(self.model, self.seed, x[rows], y[rows], w)
            pred = np.arange(b, e)[usable[b:e]]
            if len(pred):
                out[pred] = model.predict_proba(x[pred])[:, 1]
        return out

    def targets(self, proba: np.ndarray) -> np.ndarray:
        """Long above the threshold, short below 1 - threshold (if allowed), else flat; NaN = flat."""
        target = np.zeros(len(proba))
        with np.errstate(invalid="ignore"):
            target[proba > self.threshold] = 1.0
            if self.short:
                target[proba < 1.0 - self.threshold] = -1.0
        return target

    def compute(self, candles: CandleArrays) -> Signals:
        return Signals.from_target(self.targets(self.probabilities(candles)))
