"""From evaluated trials to a ranked, explained candidate list.

All candidates are compared on the same out-of-sample window: the bars from `min_train` on, where
ML models only ever predict with models trained on earlier bars. Rule strategies have no fitted
state, so their selection is what can overfit: the deflated Sharpe ratio (over every variant
tried, across symbols) and CSCV's probability of backtest overfitting (per symbol and family)
measure exactly that. The window is cut into folds of `step` bars for the probability of success.

"Search the family, then trade the winner" is measured per rule family with backtest.walkforward
(anchored train windows up to each fold, the winner re-simulated on the fold from flat, with costs).
ML families keep ranking.walk_forward_selection over the candidates' bar returns: their variants
share one set of fitted models, and re-running the refits per window would multiply the cost.

The Monte Carlo evidence is backtest.montecarlo's bootstrap of each candidate's out-of-sample
trades (a MonteCarloBand); graduation and the risk monitor compare the mean return of a window of
live trades with the band derived from it (`window_band`).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from workstation.backtest.metrics import drawdown, periods_per_year
from workstation.backtest.montecarlo import MonteCarloBand
from workstation.backtest.walkforward import walk_forward
from workstation.discovery import ranking as R
from workstation.discovery.regimes import Regimes, breakdown
from workstation.discovery.search import ML, MarketInput, SearchConfig, Trial

MC_WINDOW = 20  # trades; the risk monitor's default window (settings: monitor.window_trades)


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
            "monte_carlo": {
                "mean_trade_return_band": list(self.mc_band),
                "window": self.mc_window,
                "oos_paths": None if self.trial.mc is None else self.trial.mc.to_dict(),
            },
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


def window_band(
    band: MonteCarloBand | None, trade_returns: np.ndarray, window: int = MC_WINDOW, *, low: int = 5, high: int = 95
) -> tuple[tuple[float, float], int]:
    """The band of the mean trade return over `window` trades, from a bootstrap over N trades.

    The band's final return F over N resampled trades gives the per-trade log growth log(1 + F) / N;
    its spread around the original's scales as sqrt(N / window) for a mean of `window` trades. The
    band is centred on the arithmetic mean trade return, which is what the monitor averages.
    """
    if band is None or len(trade_returns) < 2:
        return (0.0, 0.0), 1
    n = band.steps
    w = min(window, n)
    centre = math.log1p(band.final_return.original) / n
    scale = math.sqrt(n / w)
    mean = float(np.mean(trade_returns))
    lo = mean + (math.log1p(band.final_return.at(low)) / n - centre) * scale
    hi = mean + (math.log1p(band.final_return.at(high)) / n - centre) * scale
    return (min(lo, hi), max(lo, hi)), w


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
        if len(idx) and fam != ML:
            entry["walk_forward_selection"] = _family_walk_forward([trials[i] for i in idx], by_symbol[sym], cfg)
        elif len(idx):
            wf = R.walk_forward_selection(mat, _fold_starts(mat.shape[0], cfg.step))
            sd = wf.std(ddof=1) if len(wf) > 1 else 0.0
            entry["walk_forward_selection"] = {
                "method": "ranking.walk_forward_selection (the variants' bar returns)",
                "bars": len(wf),
                "total_return": _compound(wf),
                "sharpe": float(wf.mean() / sd * math.sqrt(ppy[sym])) if sd > 0 else None,
            }
        groups.append(entry)

    out: list[Candidate] = []
    for i, t in enumerate(trials):
        r = oos[i]
        skew, kurt = R.moments(r)
        folds = [_compound(r[s : s + cfg.step]) for s in _fold_starts(len(r), cfg.step)]
        eq = np.concatenate([[1.0], np.cumprod(1.0 + r)])
        in_oos = t.trade_entries >= start
        trade_r = t.trade_returns[in_oos]
        band, window = window_band(t.mc, trade_r)
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


def _family_walk_forward(members: Sequence[Trial], m: MarketInput, cfg: SearchConfig) -> dict[str, Any]:
    """backtest.walkforward over the family's variants: anchored at the first bar, a `step`-bar test
    window after each `min_train + k * step` bars, the in-sample best Sharpe traded next."""
    step_ms = int(np.median(np.diff(m.candles.ts)))
    combos = [dict(t.params) for t in members]
    try:
        wf = walk_forward(
            members[0].strategy,
            combos,
            m.candles,
            train_ms=cfg.min_train * step_ms,
            test_ms=cfg.step * step_ms,
            anchored=True,
            cost=cfg.cost,
            cash=cfg.cash,
            funding=m.funding,
            jobs=cfg.jobs,
        )
    except ValueError as exc:
        return {"note": str(exc)}
    met = wf.metrics
    chosen = [w.params for w in wf.windows]
    return {
        "method": "backtest.walkforward (anchored, re-simulated per test window)",
        "windows": len(wf.windows),
        "bars": len(wf.result.ts),
        "total_return": met.get("total_return"),
        "sharpe": met.get("sharpe"),
        "max_drawdown": met.get("max_drawdown"),
        "trades": met.get("trade_count"),
        "distinct_winners": len({repr(sorted(p.items())) for p in chosen if p is not None}),
    }


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
