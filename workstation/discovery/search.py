"""Candidate generation: parameter search over the built-in rule families and ML classifiers.

Every candidate is a registered strategy plus its params (ML ones are `ml_classifier`), run through
the backtest kernel with the full cost model (fees, slippage, funding) over the whole history; the
bar returns and a Monte Carlo band of the out-of-sample trades come back for ranking. Work is cut
into tasks (a chunk of one family's parameter sets, or one model x horizon of one symbol) that run
on a process pool (all cores by default), serially, or on a Dask cluster (optional: `distributed`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from workstation.backtest import simulator as S
from workstation.backtest.costs import CostModel
from workstation.backtest.metrics import bar_returns, compute_metrics
from workstation.backtest.montecarlo import MonteCarloBand, monte_carlo, trade_returns
from workstation.backtest.runner import combinations
from workstation.backtest.simulator import SimResult, simulate
from workstation.data.arrays import CandleArrays
from workstation.discovery import ml
from workstation.strategies.base import Signals, StrategyInputs, signals
from workstation.strategies.builtin import REGISTRY, build
from workstation.strategies.builtin.ml import FEATURE_WARMUP, PEERS, MlClassifier

ML = "ml"
ML_STRATEGY = "ml_classifier"
PEER_SYMBOLS = {"btc": "BTCUSDT"}  # older peer names -> symbols
# `--ml-features` names of ml_classifier's `features` levels
ML_FEATURES: dict[str, int] = {"returns": 0, "technical": 1, "funding": 2}
RULE_FAMILIES: tuple[str, ...] = ("sma_cross", "ema_cross", "donchian", "rsi_reversion", "bollinger_reversion")
BACKENDS: tuple[str, ...] = ("process", "serial", "dask")

Progress = Callable[[int, int, str], None]  # (candidates done, candidates planned, what finished)


@dataclass(frozen=True, slots=True, eq=False)
class MarketInput:
    symbol: str
    interval: str
    candles: CandleArrays
    funding: np.ndarray  # per-bar rate charged at each bar's open (backtest.costs.funding_per_bar)
    # funding settlements and peer markets feed the analysis features (features.build_features) and,
    # bound as its declared inputs, an ml_classifier with features=2 (funding) or a peer
    funding_events: tuple[np.ndarray, np.ndarray] | None = None  # (settlement ts, rate)
    peers: dict[str, CandleArrays] = field(default_factory=dict)  # by symbol, e.g. {"BTCUSDT": ...}


@dataclass(frozen=True, slots=True)
class SearchConfig:
    families: tuple[str, ...] = (*RULE_FAMILIES, ML)
    budget: int = 500  # candidates in all (rule parameter sets + ML variants), across symbols
    models: tuple[str, ...] = ml.MODELS
    horizons: tuple[int, ...] = (6, 24)
    thresholds: tuple[float, ...] = (0.52, 0.55, 0.58)
    min_train: int = 3000  # bars before the first out-of-sample fold
    step: int = 1000  # bars per out-of-sample fold (ML models refit as often)
    embargo: int = 24
    features: int = 1  # ml_classifier feature set (0 = returns and volatility, 1 = plus indicators, 2 = funding)
    peer: int = 0  # ml_classifier peer code (strategies.builtin.ml.PEERS; 1 = BTCUSDT), 0 = none
    regime_window: int = 72
    mc_iterations: int = 2000  # Monte Carlo paths per candidate (backtest.montecarlo bootstrap)
    cost: CostModel = field(default_factory=CostModel)
    cash: float = 10_000.0
    seed: int = 0
    jobs: int | None = None  # None = all cores
    backend: str = "process"
    scheduler: str | None = None  # dask scheduler address (None: a local cluster)
    chunk: int = 16  # rule parameter sets per task


@dataclass(frozen=True, slots=True, eq=False)
class Trial:
    """One evaluated candidate: where it came from and its full-history backtest."""

    family: str
    strategy: str
    params: dict[str, Any]
    symbol: str
    interval: str
    returns: np.ndarray  # bar returns of the equity curve (len = bars - 1)
    metrics: dict[str, Any]
    trade_returns: np.ndarray  # per trade: P&L over the equity before entry (backtest.montecarlo)
    trade_entries: np.ndarray  # bar index of each trade's entry
    mc: MonteCarloBand | None = None  # bootstrap of the out-of-sample trades (None: under 2 trades)

    @property
    def label(self) -> str:
        try:
            return build(self.strategy, self.params).label()
        except (KeyError, ValueError):
            args = ",".join(f"{k}={v}" for k, v in self.params.items())
            return f"{self.strategy}({args})"


def out_of_sample(res: SimResult, start: int) -> SimResult:
    """The run from bar `start` on, with the trades entered there (fees and funding not split)."""
    tr = res.trades[res.trades[:, S.T_ENTRY_I] >= start].copy()
    tr[:, S.T_ENTRY_I] -= start
    tr[:, S.T_EXIT_I] = np.where(tr[:, S.T_EXIT_I] >= 0, tr[:, S.T_EXIT_I] - start, -1)
    cash = float(res.equity[start - 1]) if start > 0 else res.initial_cash
    return SimResult(res.ts[start:], res.equity[start:], res.position[start:], tr, 0.0, 0.0, cash)


def oos_band(res: SimResult, start: int, cfg: SearchConfig) -> MonteCarloBand | None:
    oos = out_of_sample(res, start)
    if len(oos.trades) < 2 or len(oos.ts) < 2:
        return None
    return monte_carlo(oos, method="bootstrap", iterations=cfg.mc_iterations, seed=cfg.seed).band


def _trial(family: str, name: str, params: dict[str, Any], m: MarketInput, sig: Signals, cfg: SearchConfig) -> Trial:
    res = simulate(m.candles, sig, cfg.cost, cash=cfg.cash, funding=m.funding)
    tr = res.trades
    return Trial(
        family,
        name,
        params,
        m.symbol,
        m.interval,
        bar_returns(res.equity),
        compute_metrics(res),
        trade_returns(res),
        tr[:, S.T_ENTRY_I].astype(np.int64) if len(tr) else np.empty(0, np.int64),
        oos_band(res, cfg.min_train, cfg),
    )


def sample_params(family: str, count: int, rng: np.random.Generator) -> list[dict[str, Any]]:
    """Up to `count` distinct valid parameter sets drawn from the family's declared grid."""
    specs = REGISTRY[family].params()
    grids = [(s.name, s.grid()) for s in specs]
    space = 1
    for _, g in grids:
        space *= len(g)
    if space <= max(count * 4, 2000):
        combos = list(combinations(family, [(n, [float(v) for v in g]) for n, g in grids]))
        rng.shuffle(combos)  # type: ignore[arg-type]
        return combos[:count]
    seen: set[tuple[Any, ...]] = set()
    out: list[dict[str, Any]] = []
    for _ in range(count * 50):
        combo = {n: g[int(rng.integers(len(g)))] for n, g in grids}
        key = tuple(combo.values())
        if key in seen:
            continue
        seen.add(key)
        try:
            build(family, combo)
        except ValueError:
            continue
        out.append(combo)
        if len(out) >= count:
            break
    return out


def rule_task(m: MarketInput, family: str, combos: list[dict[str, Any]], cfg: SearchConfig) -> list[Trial]:
    out = []
    for params in combos:
        strat = build(family, params)
        try:
            out.append(_trial(family, family, strat.values(), m, signals(strat, m.candles, locate=False), cfg))
        except Exception:  # a failing parameter set is dropped, not fatal
            continue
    return out


def ml_peer(cfg: SearchConfig, symbol: str | None) -> int:
    """The peer code the ML candidates of `symbol` use: cfg.peer, except that a market is never its
    own peer (BTCUSDT's candidates get none when the peer is BTCUSDT)."""
    return 0 if symbol is not None and PEERS[cfg.peer] == symbol else cfg.peer


def ml_strategy(model: str, horizon: int, cfg: SearchConfig, symbol: str | None = None) -> MlClassifier:
    """The ml_classifier of `symbol` whose rolling training window first fills at bar `min_train`."""
    if model not in ml.MODEL_CODES:
        raise ValueError(f"unknown model {model!r}; known: {', '.join(ml.MODELS)}")
    train = cfg.min_train - FEATURE_WARMUP - cfg.embargo - horizon
    if train < 200:
        raise ValueError(
            f"min_train {cfg.min_train} leaves {train} training rows for horizon {horizon} "
            f"(features need {FEATURE_WARMUP} bars first, then the embargo); need 200 or more"
        )
    return MlClassifier.create(
        {
            "model": ml.MODEL_CODES[model],
            "horizon": horizon,
            "threshold": cfg.thresholds[0],
            "features": cfg.features,
            "train": train,
            "refit": cfg.step,
            "embargo": cfg.embargo,
            "seed": cfg.seed,
            "peer": ml_peer(cfg, symbol),
        }
    )


def ml_inputs(m: MarketInput) -> StrategyInputs:
    """The market's funding settlements and peers as ml_classifier inputs (peer "btc" = BTCUSDT)."""
    return StrategyInputs(m.funding_events, {PEER_SYMBOLS.get(k, k): v for k, v in m.peers.items()})


def ml_task(m: MarketInput, model: str, horizon: int, cfg: SearchConfig) -> list[Trial]:
    """Probabilities once per model and horizon, then one candidate per threshold and long/short
    choice; each is exactly `ml_classifier` with its params (`compute` = `targets(probabilities)`)."""
    from threadpoolctl import threadpool_limits

    base = ml_strategy(model, horizon, cfg, m.symbol)
    if base.inputs():
        base = base.bind(ml_inputs(m))
    with threadpool_limits(1):  # the pool already uses every core
        proba = base.probabilities(m.candles)
    out = []
    for thr in cfg.thresholds:
        for short in (0, 1):
            strat = MlClassifier.create({**base.values(), "threshold": thr, "short": short})
            sig = Signals.from_target(strat.targets(proba))
            out.append(_trial(ML, ML_STRATEGY, strat.values(), m, sig, cfg))
    return out


def ml_variants(cfg: SearchConfig) -> int:
    return len(cfg.models) * len(cfg.horizons) * len(cfg.thresholds) * 2


def plan(markets: Sequence[MarketInput], cfg: SearchConfig) -> list[tuple[Callable[..., list[Trial]], tuple, int]]:
    """(function, args, candidates it yields) for every task, within the budget."""
    unknown = [f for f in cfg.families if f != ML and (f not in REGISTRY or f == ML_STRATEGY)]
    if unknown:
        raise ValueError(f"unknown families: {', '.join(unknown)}; known: {', '.join((*REGISTRY, ML))}")
    rng = np.random.default_rng(cfg.seed)
    rules = [f for f in cfg.families if f != ML and f != "buy_and_hold"]
    use_ml = ML in cfg.families
    ml_total = ml_variants(cfg) * len(markets) if use_ml else 0
    if ml_total > cfg.budget:
        raise ValueError(f"the budget ({cfg.budget}) is below the {ml_total} ML variants; raise --budget")
    per_family = (cfg.budget - ml_total) // max(1, len(rules) * len(markets))
    tasks: list[tuple[Callable[..., list[Trial]], tuple, int]] = []
    for m in markets:
        if use_ml:
            for model in cfg.models:
                for h in cfg.horizons:
                    ml_strategy(model, h, cfg, m.symbol)  # refuse bad settings before any work starts
                    tasks.append((ml_task, (m, model, h, cfg), len(cfg.thresholds) * 2))
        for fam in rules:
            combos = sample_params(fam, per_family, rng)
            for i in range(0, len(combos), cfg.chunk):
                part = combos[i : i + cfg.chunk]
                tasks.append((rule_task, (m, fam, part, cfg), len(part)))
    return tasks


def _call(fn: Callable[..., list[Trial]], args: tuple) -> list[Trial]:
    return fn(*args)


def run_tasks(
    tasks: list[tuple[Callable[..., list[Trial]], tuple, int]], cfg: SearchConfig, progress: Progress | None = None
) -> list[Trial]:
    """Run tasks on the configured backend; results come back in task order."""
    total = sum(t[2] for t in tasks)
    done = 0
    results: list[list[Trial] | None] = [None] * len(tasks)

    def finished(i: int, res: list[Trial]) -> None:
        nonlocal done
        results[i] = res
        done += tasks[i][2]
        if progress:
            progress(done, total, tasks[i][1][0].symbol)

    jobs = cfg.jobs or os.cpu_count() or 1
    if cfg.backend not in BACKENDS:
        raise ValueError(f"backend {cfg.backend!r} is not one of {', '.join(BACKENDS)}")
    if cfg.backend == "dask":
        from workstation.discovery.distributed import run_on_dask

        for i, res in run_on_dask(_call, [(fn, args) for fn, args, _ in tasks], cfg.scheduler, jobs):
            finished(i, res)
    elif cfg.backend == "serial" or jobs == 1 or len(tasks) < 2:
        for i, (fn, args, _) in enumerate(tasks):
            finished(i, fn(*args))
    else:
        # the biggest tasks (ML) first so they do not trail at the end
        order = sorted(range(len(tasks)), key=lambda i: tasks[i][0] is not ml_task)
        with ProcessPoolExecutor(jobs) as pool:
            futures = {pool.submit(_call, tasks[i][0], tasks[i][1]): i for i in order}
            for fut in as_completed(futures):
                finished(futures[fut], fut.result())
    return [t for res in results for t in (res or [])]


def search(markets: Iterable[MarketInput], cfg: SearchConfig, progress: Progress | None = None) -> list[Trial]:
    markets = list(markets)
    return run_tasks(plan(markets, cfg), cfg, progress)
