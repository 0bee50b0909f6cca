"""The backtest lab's jobs: run in a worker process (no Qt here), return plain picklable data.

Modes: one backtest, a two-parameter sweep, a walk-forward and a Monte Carlo of the backtest's
trades. Progress goes through a shared (done, total) array the pool's initializer hands to the
worker, so the panel reads a real fraction without any pipe traffic."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from workstation.ui.decimate import drawdown, minmax_curve

MODES = ("backtest", "sweep", "walkforward", "montecarlo")
DAY_MS = 86_400_000
_PROGRESS: Any = None  # multiprocessing RawArray('d', 2): done, total (set in the worker process)


def init_worker(progress: Any) -> None:
    global _PROGRESS
    _PROGRESS = progress


def _total(n: float) -> None:
    if _PROGRESS is not None:
        _PROGRESS[0], _PROGRESS[1] = 0.0, float(n)


def _step(k: int = 1) -> None:
    if _PROGRESS is not None:
        _PROGRESS[0] += k


def parse_grid(spec: str) -> tuple[str, list[float]]:
    """As backtest.runner.parse_grid ('fast=5:50:5' inclusive, or 'fast=5,8,13') without importing
    the backtest engine into the GUI process."""
    name, _, values = spec.partition("=")
    if not name.strip() or not values.strip():
        raise ValueError(f"grid {spec!r} is not like name=start:stop:step or name=a,b,c")
    try:
        if ":" in values:
            lo, hi, step = (float(p) for p in values.split(":"))
            if step <= 0:
                raise ValueError
            return name.strip(), [float(v) for v in np.arange(lo, hi + step / 2, step)]
        return name.strip(), [float(v) for v in values.split(",")]
    except ValueError:
        raise ValueError(f"grid {spec!r}: need start:stop:step with a positive step, or a,b,c") from None


@dataclass(frozen=True, slots=True)
class LabRequest:
    db: Path
    venue: str
    symbol: str
    interval: str
    strategy: str
    params: dict[str, Any]
    cash: float = 10_000.0
    allow_gaps: bool = True
    mode: str = "backtest"
    grid: tuple[tuple[str, tuple[float, ...]], ...] = ()  # sweep / walk-forward: (name, values) x 2
    objective: str = "sharpe"
    train_days: int = 60
    test_days: int = 20
    iterations: int = 2_000


@dataclass(frozen=True, slots=True)
class LabResult:
    request: LabRequest
    label: str
    metrics: dict[str, Any]
    benchmark: dict[str, Any]
    curves: dict[str, tuple[np.ndarray, np.ndarray]]  # equity, benchmark, drawdown: (ms, value), for drawing
    trades: list[dict[str, Any]] = field(default_factory=list)  # trade_list rows (+ entry_ts, exit_ts)
    markers: list[dict[str, Any]] = field(default_factory=list)  # {ts, price, kind: entry|exit, side: 1|-1}
    seconds: float = 0.0
    params: dict[str, Any] = field(default_factory=dict)  # what ran (the best of a sweep)
    heatmap: dict[str, Any] | None = None  # x/y names and values, z (len(y), len(x)) objective
    windows: list[dict[str, Any]] = field(default_factory=list)  # walk-forward rows
    fan: dict[str, Any] | None = None  # Monte Carlo: percentile bands, original path, band stats
    evidence: dict[str, Any] = field(default_factory=dict)  # graduation Evidence.to_json()
    note: str = ""  # what the user should know about this run (e.g. walk-forward variants left out)


def _markers_and_trades(result: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    from workstation.backtest import metrics as M
    from workstation.backtest import simulator as S

    ts = result.ts
    markers: list[dict[str, Any]] = []
    trades = M.trade_list(result)
    for row, trade in zip(result.trades, trades, strict=True):
        side = 1 if row[S.T_SIDE] > 0 else -1
        entry_i, exit_i = int(row[S.T_ENTRY_I]), int(row[S.T_EXIT_I])
        trade["entry_ts"] = int(ts[entry_i])
        trade["exit_ts"] = int(ts[exit_i]) if exit_i >= 0 else None
        markers.append({"ts": int(ts[entry_i]), "price": float(row[S.T_ENTRY_PX]), "kind": "entry", "side": side})
        if exit_i >= 0:
            markers.append({"ts": int(ts[exit_i]), "price": float(row[S.T_EXIT_PX]), "kind": "exit", "side": side})
    return markers, trades


def _evidence(result: Any, metrics: dict[str, Any], source: str, wf: dict[str, Any] | None = None) -> dict[str, Any]:
    """Graduation evidence: the backtest, the walk-forward (if run) and the MC band of the mean
    trade return over the monitor's window, from a bootstrap of these trades."""
    from workstation.backtest.montecarlo import monte_carlo, trade_returns
    from workstation.discovery.evaluate import window_band
    from workstation.graduation.models import Evidence, Performance

    r = trade_returns(result)
    band = monte_carlo(result, iterations=1_000, seed=0).band if len(r) >= 2 else None
    mc_band, window = window_band(band, r)
    mean = float(np.mean(r)) if len(r) >= window and len(r) else None
    return Evidence(
        backtest=Performance.from_backtest_metrics(metrics, mean_trade_return=mean),
        walk_forward=None if wf is None else Performance.from_backtest_metrics(wf),
        mc_band=mc_band,
        mc_window=window,
        source=source,
    ).to_json()


def _combos(request: LabRequest) -> list[dict[str, Any]]:
    from workstation.backtest.runner import combinations

    grids = [(name, list(values)) for name, values in request.grid]
    fixed = {k: v for k, v in request.params.items() if k not in dict(request.grid)}
    combos = list(combinations(request.strategy, grids, fixed))
    if not combos:
        raise ValueError("no valid parameter combination in the grid")
    return combos


def _heatmap(request: LabRequest, rows: list[dict[str, Any]]) -> dict[str, Any]:
    (xn, xs), (yn, ys) = request.grid[0], request.grid[1] if len(request.grid) > 1 else ("", (0.0,))
    z = np.full((len(ys), len(xs)), np.nan)
    for row in rows:
        value = (row.get("metrics") or {}).get(request.objective)
        if value is None or not math.isfinite(float(value)):
            continue
        p = row["params"]
        i = ys.index(float(p[yn])) if yn else 0
        z[i, xs.index(float(p[xn]))] = float(value)
    return {"x": xn, "y": yn, "xs": list(xs), "ys": list(ys), "z": z, "objective": request.objective}


def _curves(ts: np.ndarray, equity: np.ndarray, bench_equity: np.ndarray) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The plots' lines, min/max-decimated here in the worker: a 1M-bar run sends (and the GUI
    draws) a few thousand points per line with every bucket's extremes intact; the metrics are
    computed from the full arrays before this."""
    ts = np.asarray(ts, dtype=np.int64)
    equity = np.asarray(equity, dtype=np.float64)
    return {
        "equity": minmax_curve(ts, equity),
        "benchmark": minmax_curve(ts, np.asarray(bench_equity, dtype=np.float64)),
        "drawdown": minmax_curve(ts, drawdown(equity)),
    }


def run_lab(request: LabRequest) -> LabResult:
    from workstation.backtest.runner import load_market, run_backtest, sweep
    from workstation.data.store import CandleStore
    from workstation.strategies.builtin import build

    started = time.perf_counter()
    note = ""
    _total(1)
    with CandleStore.open(request.db) as store:
        market = load_market(
            store, request.symbol, request.interval, venue=request.venue, allow_gaps=request.allow_gaps
        )
    params, heatmap, windows, fan, wf_metrics = dict(request.params), None, [], None, None
    if request.mode == "sweep":
        combos = _combos(request)
        _total(len(combos) + 1)
        rows = sweep(request.strategy, combos, market.candles, cash=request.cash, funding=market.funding,
                     progress=_step)  # fmt: skip
        heatmap = _heatmap(request, rows)
        scored = [r for r in rows if (r.get("metrics") or {}).get(request.objective) is not None]
        if scored:
            params = max(scored, key=lambda r: float(r["metrics"][request.objective]))["params"]
    strategy = build(request.strategy, params)
    bt = run_backtest(strategy, market.candles, cash=request.cash, funding=market.funding)
    result, metrics, bench_equity, benchmark = bt.result, bt.metrics, bt.benchmark.equity, bt.benchmark_metrics
    if request.mode == "walkforward":
        from workstation.backtest.costs import CostModel
        from workstation.backtest.walkforward import make_windows, oos_benchmark, split_by_warmup, walk_forward

        combos = _combos(request)
        train_ms, test_ms = request.train_days * DAY_MS, request.test_days * DAY_MS
        made = make_windows(market.candles.ts, train_ms, test_ms)
        kept = split_by_warmup(request.strategy, combos, made, market.candles.ts)[0] if made else combos
        _total(max(1, len(made) * (len(kept) + 1)))  # variants too long to warm up in a window never run
        wf = walk_forward(request.strategy, combos, market.candles, train_ms=train_ms, test_ms=test_ms,
                          objective=request.objective, cash=request.cash, funding=market.funding, progress=_step)  # fmt: skip
        if wf.skipped:
            note = (f"{len(wf.skipped)} of {len(combos)} variants skipped: their warm-up "
                    f"({min(k.warmup for k in wf.skipped):,}+ bars) does not fit a train window")  # fmt: skip
        windows = [w.to_dict() for w in wf.windows]
        result, metrics, wf_metrics = wf.result, wf.metrics, wf.metrics
        held = oos_benchmark(wf, request.strategy, params, market.candles, market.funding, CostModel(), request.cash)
        bench_equity = held.benchmark.equity if held is not None else np.full(len(result.ts), request.cash)
        benchmark = held.benchmark_metrics if held is not None else {}
    if request.mode == "montecarlo":
        from workstation.backtest.montecarlo import monte_carlo

        _total(2)
        _step()
        mc = monte_carlo(result, iterations=request.iterations, seed=0)
        fan = {"bands": mc.fan, "original": mc.original_path, "band": mc.band.to_dict()}
    markers, trades = _markers_and_trades(result)
    source = f"lab {request.mode}: {request.symbol} {request.interval} {market.venue}"
    evidence = _evidence(result, metrics, source, wf_metrics)
    _total(1)
    _step()
    return LabResult(
        request=request,
        label=strategy.label(),
        metrics=metrics,
        benchmark=benchmark,
        curves=_curves(result.ts, result.equity, bench_equity),
        trades=trades,
        markers=markers,
        seconds=time.perf_counter() - started,
        params=params,
        heatmap=heatmap,
        windows=windows,
        fan=fan,
        evidence=evidence,
        note=note,
    )
