"""The backtest lab's job: runs in a worker process (no Qt here), returns plain picklable data."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np


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


@dataclass(frozen=True, slots=True)
class LabResult:
    request: LabRequest
    label: str
    metrics: dict[str, Any]
    benchmark: dict[str, Any]
    ts: np.ndarray  # ms, bar opens
    equity: np.ndarray
    benchmark_equity: np.ndarray
    trades: list[dict[str, Any]] = field(default_factory=list)  # trade_list rows
    markers: list[dict[str, Any]] = field(default_factory=list)  # {ts, price, kind: entry|exit, side: 1|-1}
    seconds: float = 0.0


def run_lab(request: LabRequest) -> LabResult:
    import time

    from workstation.backtest import metrics as M
    from workstation.backtest import simulator as S
    from workstation.backtest.runner import load_market, run_backtest
    from workstation.data.store import CandleStore
    from workstation.strategies.builtin import build

    started = time.perf_counter()
    strategy = build(request.strategy, request.params)
    with CandleStore.open(request.db) as store:
        market = load_market(
            store, request.symbol, request.interval, venue=request.venue, allow_gaps=request.allow_gaps
        )
    bt = run_backtest(strategy, market.candles, cash=request.cash, funding=market.funding)
    result, ts = bt.result, bt.result.ts
    markers = []
    for row in result.trades:
        side = 1 if row[S.T_SIDE] > 0 else -1
        entry_i, exit_i = int(row[S.T_ENTRY_I]), int(row[S.T_EXIT_I])
        markers.append({"ts": int(ts[entry_i]), "price": float(row[S.T_ENTRY_PX]), "kind": "entry", "side": side})
        if exit_i >= 0:
            markers.append({"ts": int(ts[exit_i]), "price": float(row[S.T_EXIT_PX]), "kind": "exit", "side": side})
    return LabResult(
        request=request,
        label=strategy.label(),
        metrics=bt.metrics,
        benchmark=bt.benchmark_metrics,
        ts=np.asarray(ts, dtype=np.int64),
        equity=np.asarray(result.equity, dtype=np.float64),
        benchmark_equity=np.asarray(bt.benchmark.equity, dtype=np.float64),
        trades=M.trade_list(result),
        markers=markers,
        seconds=time.perf_counter() - started,
    )
