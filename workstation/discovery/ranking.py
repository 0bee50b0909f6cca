"""Statistics that correct a search for its own luck.

- Probabilistic and deflated Sharpe ratio (Bailey & López de Prado, 2012 and 2014): the chance
  that the true Sharpe exceeds a benchmark given the track length, skewness and kurtosis of the
  returns; deflated = the benchmark is the Sharpe the best of N zero-skill trials would show.
- Probability of backtest overfitting by combinatorially symmetric cross-validation (Bailey,
  Borwein, López de Prado & Zhu, 2015): how often the in-sample winner ranks below the median
  out of sample.
- Probability of success: a Beta posterior over "a future out-of-sample fold is profitable",
  from the count of profitable folds (uniform prior).

Sharpe ratios here are per bar (not annualised) unless a name says otherwise.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

EULER_GAMMA = 0.5772156649015329


def sharpe(r: np.ndarray) -> float:
    sd = float(np.std(r, ddof=1)) if len(r) > 1 else 0.0
    return float(np.mean(r)) / sd if sd > 0 else 0.0


def moments(r: np.ndarray) -> tuple[float, float]:
    """(skewness, kurtosis) with kurtosis = 3 for a normal distribution; (0, 3) if degenerate."""
    if len(r) < 3 or np.std(r) == 0:
        return 0.0, 3.0
    return float(stats.skew(r)), float(stats.kurtosis(r, fisher=False))


def probabilistic_sharpe(sr: float, benchmark: float, n: int, skew: float = 0.0, kurt: float = 3.0) -> float:
    """P(true SR > benchmark) given an observed per-bar SR over n returns (non-normal correction)."""
    if n < 2:
        return 0.5
    var = 1.0 - skew * sr + (kurt - 1.0) / 4.0 * sr * sr
    if var <= 0:
        return 0.5
    return float(stats.norm.cdf((sr - benchmark) * math.sqrt(n - 1) / math.sqrt(var)))


def expected_max_sharpe(n_trials: int, sr_variance: float) -> float:
    """E[max SR] of n_trials zero-skill strategies whose SR estimates have this variance."""
    if n_trials < 2 or sr_variance <= 0:
        return 0.0
    z1 = stats.norm.ppf(1.0 - 1.0 / n_trials)
    z2 = stats.norm.ppf(1.0 - 1.0 / (n_trials * math.e))
    return math.sqrt(sr_variance) * ((1.0 - EULER_GAMMA) * z1 + EULER_GAMMA * z2)


def deflated_sharpe(
    sr: float, n: int, n_trials: int, sr_variance: float, skew: float = 0.0, kurt: float = 3.0
) -> float:
    return probabilistic_sharpe(sr, expected_max_sharpe(n_trials, sr_variance), n, skew, kurt)


@dataclass(frozen=True, slots=True)
class PboResult:
    pbo: float  # share of splits whose in-sample winner ranks at or below the median out of sample
    logits: np.ndarray
    is_sharpe: np.ndarray  # the winner's in-sample Sharpe per split
    oos_sharpe: np.ndarray  # the same strategy's out-of-sample Sharpe per split
    prob_oos_loss: float  # share of splits where the winner loses out of sample
    degradation: float  # slope of OOS on IS Sharpe of the winners (negative = overfit)
    splits: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "pbo": self.pbo,
            "splits": self.splits,
            "prob_oos_loss": self.prob_oos_loss,
            "degradation_slope": self.degradation,
            "median_logit": float(np.median(self.logits)) if len(self.logits) else None,
        }


def _block_sharpe(sums: np.ndarray, sq: np.ndarray, cnt: np.ndarray) -> np.ndarray:
    mean = sums / cnt
    var = np.maximum(sq / cnt - mean * mean, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(var > 0, mean / np.sqrt(var), 0.0)
    return out


def pbo_cscv(returns: np.ndarray, blocks: int = 12) -> PboResult:
    """CSCV over a (bars x strategies) return matrix split into `blocks` contiguous blocks."""
    t, n = returns.shape
    if blocks % 2 or blocks < 2:
        raise ValueError("blocks must be even and at least 2")
    if n < 2 or t < blocks * 2:
        raise ValueError(f"need at least 2 strategies and {blocks * 2} bars, have {n} and {t}")
    size = t // blocks
    m = returns[t - size * blocks :].reshape(blocks, size, n)
    bsum, bsq = m.sum(axis=1), (m * m).sum(axis=1)
    combos = np.array(
        [[i in c for i in range(blocks)] for c in itertools.combinations(range(blocks), blocks // 2)], dtype=float
    )
    cnt = size * blocks / 2
    is_sr = _block_sharpe(combos @ bsum, combos @ bsq, cnt)
    oos_sr = _block_sharpe((1 - combos) @ bsum, (1 - combos) @ bsq, cnt)
    best = np.argmax(is_sr, axis=1)
    rows = np.arange(len(combos))
    chosen = oos_sr[rows, best]
    below = (oos_sr < chosen[:, None]).sum(axis=1)
    ties = (oos_sr == chosen[:, None]).sum(axis=1)
    rank = below + (ties + 1) / 2.0  # 1..n, ties averaged
    omega = rank / (n + 1.0)
    logits = np.log(omega / (1.0 - omega))
    x = is_sr[rows, best]
    slope = float(np.polyfit(x, chosen, 1)[0]) if np.ptp(x) > 0 else 0.0
    return PboResult(
        pbo=float(np.mean(logits <= 0)),
        logits=logits,
        is_sharpe=x,
        oos_sharpe=chosen,
        prob_oos_loss=float(np.mean(chosen < 0)),
        degradation=slope,
        splits=len(combos),
    )


@dataclass(frozen=True, slots=True)
class SuccessEstimate:
    """P(a future fold is profitable) ~ Beta(1 + wins, 1 + losses): mean and a 90 % interval."""

    wins: int
    folds: int
    mean: float
    low: float
    high: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "folds": self.folds,
            "profitable_folds": self.wins,
            "mean": self.mean,
            "p05": self.low,
            "p95": self.high,
        }


def probability_of_success(fold_returns: np.ndarray, level: float = 0.90) -> SuccessEstimate:
    k = int(np.sum(np.asarray(fold_returns) > 0))
    m = len(fold_returns)
    a, b = 1 + k, 1 + m - k
    tail = (1 - level) / 2
    return SuccessEstimate(k, m, a / (a + b), float(stats.beta.ppf(tail, a, b)), float(stats.beta.ppf(1 - tail, a, b)))


def walk_forward_selection(returns: np.ndarray, fold_starts: np.ndarray) -> np.ndarray:
    """Each fold, hold the strategy with the best Sharpe on all earlier bars; the held fold returns.

    `returns` is (bars x strategies); folds run from each start to the next (the last to the end).
    The first fold has no history to choose from and is skipped. An honest estimate of what
    "search this family, then trade the winner" earns out of sample.
    """
    out = []
    ends = [*fold_starts[1:].tolist(), len(returns)]
    for start, end in zip(fold_starts[1:].tolist(), ends[1:], strict=True):
        past = returns[:start]
        sd = past.std(axis=0, ddof=1)
        score = np.where(sd > 0, past.mean(axis=0) / np.where(sd > 0, sd, 1.0), -np.inf)
        out.append(returns[start:end, int(np.argmax(score))])
    return np.concatenate(out) if out else np.empty(0)
