"""From the candle store to a finished backtest: load, compute signals, simulate, measure; sweeps."""

from __future__ import annotations

import contextlib
import itertools
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from workstation.backtest import fused
from workstation.backtest import metrics as M
from workstation.backtest.costs import CostModel, funding_per_bar
from workstation.backtest.simulator import SimResult, simulate
from workstation.data.arrays import CandleArrays
from workstation.data.intervals import interval_ms
from workstation.data.quality import assert_no_gaps
from workstation.data.store import CandleStore
from workstation.strategies import indicators as ind
from workstation.strategies.base import Signals, Strategy, signals
from workstation.strategies.builtin import BuyAndHold, build


@dataclass(frozen=True, slots=True, eq=False)
class Market:
    venue: str
    symbol: str
    interval: str
    candles: CandleArrays
    funding: np.ndarray  # per-bar funding rate (zeros when none is stored)
    funding_settlements: int
    resampled_from: str | None = None


def load_market(
    store: CandleStore,
    symbol: str,
    interval: str,
    *,
    venue: str | None = None,
    start: int | None = None,
    end: int | None = None,
    allow_gaps: bool = False,
) -> Market:
    """Stored candles at `interval`, else resampled from the finest stored interval that divides it.

    Raises GapsError (a ValueError) when bars are missing, unless allow_gaps.
    """
    series = [s for s in store.series() if s.symbol == symbol and s.kind == "trade" and venue in (None, s.venue)]
    if not series:
        raise LookupError(f"no candles stored for {symbol}" + (f" on {venue}" if venue else ""))
    venues = sorted({s.venue for s in series})
    if len(venues) > 1:
        raise LookupError(f"{symbol} is stored for several venues ({', '.join(venues)}); pass --venue")
    venue = venues[0]
    exact = [s for s in series if s.interval == interval]
    source = None
    if exact:
        candles = store.read(venue, symbol, interval, start, end)
    else:
        step = interval_ms(interval)
        finer = sorted(
            (s for s in series if step % interval_ms(s.interval) == 0), key=lambda s: -interval_ms(s.interval)
        )
        if not finer:
            stored = ", ".join(sorted({s.interval for s in series}))
            raise LookupError(f"{symbol} {interval} is not stored and cannot be built from {stored}")
        source = finer[0].interval
        candles = store.read_resampled(venue, symbol, source, interval, start, end).candles
    if len(candles) < 2:
        raise LookupError(f"fewer than two {interval} candles for {symbol} in the range asked")
    if not allow_gaps:
        assert_no_gaps(candles, interval, label=f"{venue} {symbol}")
    rates = store.read_funding(venue, symbol, int(candles.ts[0]) - 1000, int(candles.ts[-1]) + 1000)
    return Market(
        venue, symbol, interval, candles, funding_per_bar(candles.ts, rates.ts, rates.rate), len(rates.ts), source
    )


@dataclass(frozen=True, slots=True, eq=False)
class Backtest:
    strategy: Strategy
    signals: Signals
    result: SimResult
    benchmark: SimResult
    metrics: dict[str, Any]
    benchmark_metrics: dict[str, Any]

    def to_dict(self, market: Market | None = None, *, trades: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {"strategy": self.strategy.name, "params": self.strategy.values()}
        if market is not None:
            out |= {"venue": market.venue, "symbol": market.symbol, "interval": market.interval}
        out |= {"metrics": self.metrics, "benchmark": self.benchmark_metrics}
        if trades:
            out["trades"] = M.trade_list(self.result)
        return out


def run_backtest(
    strategy: Strategy,
    candles: CandleArrays,
    cost: CostModel | None = None,
    *,
    cash: float = 10_000.0,
    funding: np.ndarray | None = None,
) -> Backtest:
    cost = cost or CostModel()
    sig = signals(strategy, candles)
    result = simulate(candles, sig, cost, cash=cash, funding=funding)
    bench = simulate(candles, signals(BuyAndHold(), candles), cost, cash=cash, funding=funding)
    return Backtest(strategy, sig, result, bench, M.compute_metrics(result), M.benchmark_metrics(result, bench))


# ---- sweeps ----------------------------------------------------------------------------------


def parse_grid(spec: str) -> tuple[str, list[float]]:
    """'fast=5:50:5' -> ('fast', [5, 10, ..., 50]) (inclusive); 'fast=5,8,13' lists values."""
    name, _, values = spec.partition("=")
    if not name or not values:
        raise ValueError(f"grid {spec!r} is not like name=start:stop:step or name=a,b,c")
    if ":" in values:
        parts = [float(p) for p in values.split(":")]
        if len(parts) != 3 or parts[2] <= 0:
            raise ValueError(f"grid {spec!r}: need start:stop:step with a positive step")
        lo, hi, step = parts
        return name.strip(), [float(v) for v in np.arange(lo, hi + step / 2, step)]
    return name.strip(), [float(v) for v in values.split(",")]


def combinations(
    strategy: str, grids: Sequence[tuple[str, list[float]]], fixed: Mapping[str, Any] | None = None
) -> Iterator[dict[str, Any]]:
    """Every grid combination that makes a valid strategy (e.g. fast < slow)."""
    names = [g[0] for g in grids]
    for values in itertools.product(*(g[1] for g in grids)):
        combo = {
            **(fixed or {}),
            **{k: (int(v) if float(v).is_integer() else v) for k, v in zip(names, values, strict=True)},
        }
        try:
            build(strategy, combo)
        except ValueError:
            continue
        yield combo


_WORKER: dict[str, Any] = {}


def _init_worker(candles: CandleArrays, funding: np.ndarray, cost: CostModel, cash: float) -> None:
    _WORKER.update(candles=candles, funding=funding, cost=cost, cash=cash, buffers=fused.ThreadBuffers())


def run_variant(
    strategy: str,
    params: dict[str, Any],
    candles: CandleArrays,
    cost: CostModel,
    cash: float,
    funding: np.ndarray | None,
    buffers: fused.ThreadBuffers | None = None,
) -> dict[str, Any]:
    """One sweep row: {"params", "metrics"} or {"params", "error"}; metrics as in run_backtest.

    Built-in rule families take the fused kernel (identical numbers); `buffers` lets a sweep reuse
    scratch arrays between the variants of each thread.
    """
    try:
        strat = build(strategy, params)
        if fused.supports(strat):
            fund = np.zeros(len(candles)) if funding is None else funding
            buf = buffers.get(len(candles)) if buffers is not None else None
            with contextlib.suppress(Exception):  # on any surprise the generic path reports it properly
                return {"params": params, "metrics": fused.variant_metrics(strat, candles, cost, cash, fund, buf)}
        result = simulate(candles, signals(strat, candles), cost, cash=cash, funding=funding)
        return {"params": params, "metrics": M.compute_metrics(result)}
    except Exception as exc:  # one bad combination must not end the sweep
        return {"params": params, "error": str(exc)}


def _run_one(job: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    w = _WORKER
    with ind.cached():
        return run_variant(job[0], job[1], w["candles"], w["cost"], w["cash"], w["funding"], w["buffers"])


def sweep(
    strategy: str,
    combos: list[dict[str, Any]],
    candles: CandleArrays,
    *,
    cost: CostModel | None = None,
    cash: float = 10_000.0,
    funding: np.ndarray | None = None,
    jobs: int | None = None,
    progress: Callable[[int], None] | None = None,
    backend: str = "thread",
) -> list[dict[str, Any]]:
    """Run every combination; results keep the input order and equal single runs exactly.

    backend "thread" (default): threads share the candles and an indicator cache (each distinct
    indicator window is computed once per sweep) and the compiled kernels run without the GIL.
    "process": a process pool, for user strategies whose signal code is pure Python.
    """
    cost = cost or CostModel()
    fund = np.zeros(len(candles)) if funding is None else np.ascontiguousarray(funding, dtype=np.float64)
    jobs = jobs or os.cpu_count() or 1
    out: list[dict[str, Any]] = []
    buffers = fused.ThreadBuffers()

    def one(params: dict[str, Any]) -> dict[str, Any]:
        return run_variant(strategy, params, candles, cost, cash, fund, buffers)

    if backend == "process" and jobs > 1 and len(combos) > 1:
        work = [(strategy, c) for c in combos]
        with ProcessPoolExecutor(jobs, initializer=_init_worker, initargs=(candles, fund, cost, cash)) as pool:
            for res in pool.map(_run_one, work, chunksize=max(1, len(work) // (jobs * 8))):
                out.append(res)
                if progress:
                    progress(1)
        return out
    if backend not in ("thread", "process"):
        raise ValueError(f"unknown sweep backend {backend!r} (thread or process)")
    with ind.cached():
        if jobs == 1 or len(combos) < 2:
            results: Iterator[dict[str, Any]] = map(one, combos)
            for res in results:
                out.append(res)
                if progress:
                    progress(1)
            return out
        with ThreadPoolExecutor(jobs) as pool:
            for res in pool.map(one, combos):
                out.append(res)
                if progress:
                    progress(1)
    return out
