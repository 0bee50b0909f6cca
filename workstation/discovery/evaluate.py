"""From evaluated trials to a ranked, explained candidate list.

All candidates are compared on the same out-of-sample window: the bars from `min_train` on, where
ML models only ever predict with models trained on earlier bars. Rule strategies have no fitted
state, so their selection is what can overfit: the deflated Sharpe ratio (over every variant
tried, across symbols) and CSCV's probability of backtest overfitting (per symbol and family)
measure exactly that. The window is cut into folds of `step` bars for the probability of success.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from workstation.backtest.metrics import drawdown, periods_per_year
from workstation.discovery import ranking as R
from workstation.discovery.regimes import Regimes, breakdown
from workstation.discovery.search import MarketInput, SearchConfig, Trial

MC_WINDOW = 20


@dataclass(frozen=True, slots=True)
class Gates:
    """What a candidate must show to be promoted (all of it, out of sample, after costs)."""

    min_dsr: float = 0.95
    max_pbo: float = 0.5
    min_success_p05: float = 0.5
    min_oos_trades: int = 10


@dataclass(slots=True, eq=False)
class Candidate:
    rank: int
    trial: Trial
    oos: dict[str, Any]
    dsr: float
    psr: float  # P(true Sharpe > 0), ignoring how many variants were tried
    skew: float
    kurtosis: float
    pbo: float | None  # of this symbol's family search
    success: R.SuccessEstimate
    fold_returns: list[float]
    regimes: dict[str, dict[str, Any]]
    mc_band: tuple[float, float]
    mc_window: int
    passed: bool = False
    reasons: list[str] = field(default_factory=list)
    equity: np.ndarray = field(default_factory=lambda: np.empty(0))  # out-of-sample, starts at 1

    def to_dict(self) -> dict[str, Any]:
        t = self.trial
        full = {
            k: t.metrics.get(k)
            for k in ("total_return", "sharpe", "max_drawdown", "trade_count", "fees_paid", "funding_paid", "exposure")
        }
        return {
            "rank": self.rank,
            "family": t.family,
            "strategy": t.strategy,
            "params": t.params,
            "symbol": t.symbol,
            "interval": t.interval,
            "label": t.label,
            "passed": self.passed,
            "reasons": self.reasons,
            "deflated_sharpe": self.dsr,
            "probabilistic_sharpe": self.psr,
            "pbo": self.pbo,
            "oos": self.oos,
            "probability_of_success": self.success.to_dict(),
            "fold_returns": self.fold_returns,
            "return_skew": self.skew,
            "return_kurtosis": self.kurtosis,
            "regimes": self.regimes,
            "monte_carlo": {"mean_trade_return_band": list(self.mc_band), "window": self.mc_window},
            "full_history": full,
        }


@dataclass(slots=True, eq=False)
class DiscoveryResult:
    candidates: list[Candidate]
    groups: list[dict[str, Any]]  # per symbol and family: PBO and walk-forward selection
    trials: int
    sr_variance: float
    expected_max_sharpe: float
    oos_bars: dict[str, int]
    gates: Gates
    regime_summary: dict[str, Any] = field(default_factory=dict)
    elapsed_s: float = 0.0

    @property
    def passed(self) -> list[Candidate]:
        return [c for c in self.candidates if c.passed]

    def to_dict(self, top: int | None = 20) -> dict[str, Any]:
        shown = self.candidates if top is None else self.candidates[:top]
        return {
            "trials": self.trials,
            "elapsed_s": self.elapsed_s,
            "candidates_per_s": self.trials / self.elapsed_s if self.elapsed_s > 0 else None,
            "deflation": {
                "sr_variance_per_bar": self.sr_variance,
                "expected_max_sharpe_per_bar": self.expected_max_sharpe,
            },
            "gates": {
                "min_deflated_sharpe": self.gates.min_dsr,
                "max_pbo": self.gates.max_pbo,
                "min_success_p05": self.gates.min_success_p05,
                "min_oos_trades": self.gates.min_oos_trades,
            },
            "oos_bars": self.oos_bars,
            "passed": len(self.passed),
            "groups": self.groups,
            "regimes": self.regime_summary,
            "candidates": [c.to_dict() for c in shown],
        }


def _compound(r: np.ndarray) -> float:
    return float(np.expm1(np.log1p(r).sum())) if len(r) else 0.0


def _mc_band(trade_returns: np.ndarray, rng: np.random.Generator) -> tuple[tuple[float, float], int]:
    """5th-95th percentile of the mean trade return over MC_WINDOW trades, by bootstrap."""
    if len(trade_returns) == 0:
        return (0.0, 0.0), 1
    window = min(MC_WINDOW, len(trade_returns))
    means = rng.choice(trade_returns, size=(2000, window), replace=True).mean(axis=1)
    return (float(np.percentile(means, 5)), float(np.percentile(means, 95))), window


def _fold_starts(n: int, step: int) -> np.ndarray:
    return np.arange(0, n, step)


def rank_trials(
    trials: Sequence[Trial],
    markets: Sequence[MarketInput],
    cfg: SearchConfig,
    *,
    gates: Gates | None = None,
    regimes: Mapping[str, Regimes] | None = None,
    pbo_blocks: int = 12,
) -> DiscoveryResult:
    gates = gates or Gates()
    by_symbol = {m.symbol: m for m in markets}
    start = cfg.min_train
    ppy = {s: periods_per_year(m.candles.ts) for s, m in by_symbol.items()}
    oos = [t.returns[start:] for t in trials]
    srs = np.array([R.sharpe(r) for r in oos])
    n_trials = len(trials)
    sr_var = float(np.var(srs, ddof=1)) if n_trials > 1 else 0.0
    sr0 = R.expected_max_sharpe(n_trials, sr_var)

    groups: list[dict[str, Any]] = []
    pbo_of: dict[tuple[str, str], float | None] = {}
    members: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, t in enumerate(trials):
        members[(t.symbol, t.family)].append(i)
    for (sym, fam), idx in members.items():
        mat = np.column_stack([oos[i] for i in idx]) if idx else np.empty((0, 0))
        entry: dict[str, Any] = {"symbol": sym, "family": fam, "candidates": len(idx)}
        try:
            res = R.pbo_cscv(mat, pbo_blocks)
            entry |= res.to_dict()
            pbo_of[(sym, fam)] = res.pbo
        except ValueError as exc:
            entry["pbo"] = None
            entry["pbo_note"] = str(exc)
            pbo_of[(sym, fam)] = None
        if len(idx):
            wf = R.walk_forward_selection(mat, _fold_starts(mat.shape[0], cfg.step))
            sd = wf.std(ddof=1) if len(wf) > 1 else 0.0
            entry["walk_forward_selection"] = {
                "bars": len(wf),
                "total_return": _compound(wf),
                "sharpe": float(wf.mean() / sd * math.sqrt(ppy[sym])) if sd > 0 else None,
            }
        groups.append(entry)

    rng = np.random.default_rng(cfg.seed)
    out: list[Candidate] = []
    for i, t in enumerate(trials):
        r = oos[i]
        skew, kurt = R.moments(r)
        folds = [_compound(r[s : s + cfg.step]) for s in _fold_starts(len(r), cfg.step)]
        eq = np.concatenate([[1.0], np.cumprod(1.0 + r)])
        in_oos = t.trade_entries >= start
        trade_r = t.trade_returns[in_oos]
        band, window = _mc_band(trade_r, rng)
        reg = regimes.get(t.symbol) if regimes else None
        sd = float(r.std(ddof=1)) if len(r) > 1 else 0.0
        cand = Candidate(
            rank=0,
            trial=t,
            oos={
                "bars": len(r),
                "sharpe": float(r.mean() / sd * math.sqrt(ppy[t.symbol])) if sd > 0 else 0.0,
                "sharpe_per_bar": float(srs[i]),
                "total_return": _compound(r),
                "max_drawdown": float(drawdown(eq).min()),
                "trades": len(trade_r),
                "win_rate": float(np.mean(trade_r > 0)) if len(trade_r) else None,
            },
            dsr=R.deflated_sharpe(float(srs[i]), len(r), n_trials, sr_var, skew, kurt),
            psr=R.probabilistic_sharpe(float(srs[i]), 0.0, len(r), skew, kurt),
            skew=skew,
            kurtosis=kurt,
            pbo=pbo_of.get((t.symbol, t.family)),
            success=R.probability_of_success(np.array(folds)),
            fold_returns=folds,
            regimes=breakdown(r, reg.combined[start + 1 : start + 1 + len(r)], ppy[t.symbol])
            if reg is not None
            else {},
            mc_band=band,
            mc_window=window,
            equity=eq,
        )
        _judge(cand, gates)
        out.append(cand)
    out.sort(key=lambda c: (c.passed, c.dsr, c.oos["sharpe"]), reverse=True)
    for k, c in enumerate(out, 1):
        c.rank = k
    return DiscoveryResult(
        out, groups, n_trials, sr_var, sr0, {s: max(0, len(m.candles) - 1 - start) for s, m in by_symbol.items()}, gates
    )


def _judge(c: Candidate, g: Gates) -> None:
    why = []
    if c.dsr < g.min_dsr:
        why.append(f"deflated Sharpe {c.dsr:.3f} < {g.min_dsr}")
    if c.pbo is None:
        why.append("PBO unknown (too few variants or bars)")
    elif c.pbo > g.max_pbo:
        why.append(f"PBO {c.pbo:.2f} > {g.max_pbo}")
    if c.success.low < g.min_success_p05:
        why.append(f"P(profitable fold) 5th pct {c.success.low:.2f} < {g.min_success_p05}")
    if c.oos["trades"] < g.min_oos_trades:
        why.append(f"{c.oos['trades']} out-of-sample trades < {g.min_oos_trades}")
    if c.oos["total_return"] <= 0:
        why.append("out-of-sample return not positive after costs")
    c.passed = not why
    c.reasons = why or ["passed every gate"]
