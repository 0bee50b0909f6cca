"""Backtest speed on the 1,052,560-bar Binance BTCUSDT 1m file (and its 1h resample), against vectorbt.

Usage: .venv/bin/python bench/bench_backtest.py [--sweep 100] [--peer-sweep 10] [--jobs 2]
Ours runs with the full cost model on (taker fee 6 bps, 1 bp slippage + volatility impact, a
funding array). vectorbt's Portfolio.from_signals gets the same entries/exits shifted one bar and
filled at the open (our timing), fees and slippage; it is skipped with a note when not installed.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd

from workstation.backtest import metrics as M
from workstation.backtest.costs import CostModel
from workstation.backtest.runner import combinations, parse_grid, sweep
from workstation.backtest.simulator import simulate
from workstation.data.arrays import CandleArrays
from workstation.data.resample import resample
from workstation.strategies.base import signals
from workstation.strategies.builtin import SmaCross

FILE = Path(__file__).resolve().parents[2] / "shared" / "data" / "ohlcv" / "binance_spot"
FILE = FILE / "BTCUSDT-1m-2023-01-01_2024-12-31.ohlcv.csv.gz"
COST = CostModel(taker_fee=0.0006, slippage_bps=1.0, volatility_impact=0.01)


def best(fn, repeat: int = 5) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def ours(candles: CandleArrays, label: str, n_sweep: int, jobs: int) -> dict[str, float]:
    n = len(candles)
    funding = np.zeros(n)
    funding[::480] = 1e-4  # an 8h-like settlement grid so the funding branch runs
    strat = SmaCross(fast=10, slow=50)
    sig = signals(strat, candles)
    simulate(candles, sig, COST, funding=funding)  # compile / load the cache
    t_sig = best(lambda: signals(strat, candles))
    t_sim = best(lambda: simulate(candles, sig, COST, funding=funding))
    t_all = best(lambda: M.compute_metrics(simulate(candles, signals(strat, candles), COST, funding=funding)), 3)
    r = simulate(candles, sig, COST, funding=funding)
    print(f"[ours {label}] {n:,} bars, {len(r.trades)} trades, final equity {r.equity[-1]:,.2f}")
    print(f"  kernel only:            {t_sim * 1e3:8.2f} ms  {n / t_sim / 1e6:8.1f} M bars/s")
    print(f"  signals (sma 10/50):    {t_sig * 1e3:8.2f} ms")
    print(f"  signals+kernel+metrics: {t_all * 1e3:8.2f} ms  {n / t_all / 1e6:8.1f} M bars/s")
    grids = [parse_grid("fast=5:50:5"), parse_grid("slow=60:240:20")]
    combos = list(combinations("sma_cross", grids))[:n_sweep]
    t = time.perf_counter()
    sweep("sma_cross", combos, candles, cost=COST, funding=funding, jobs=jobs)
    t_sw = time.perf_counter() - t
    print(
        f"  sweep {len(combos)} variants, {jobs} procs: {t_sw:6.2f} s  {len(combos) / t_sw:6.1f} runs/s  "
        f"{len(combos) * n / t_sw / 1e6:6.1f} M bars/s"
    )
    return {"single": t_all, "kernel": t_sim, "sweep": t_sw, "sweep_n": len(combos)}


def vectorbt_peer(candles: CandleArrays, label: str, n_sweep: int) -> dict[str, float] | None:
    try:
        import vectorbt as vbt
    except Exception as exc:
        print(f"[vectorbt {label}] not available ({type(exc).__name__}: {exc}); install with setup.sh --with-bench")
        return None
    index = pd.to_datetime(candles.ts, unit="ms", utc=True)
    open_ = pd.Series(candles.open, index=index)

    def run(fast: int, slow: int) -> object:
        t = SmaCross(fast=fast, slow=slow).compute(candles).target
        held = np.concatenate([[0.0], t[:-1]]) > 0  # act one bar later, at the open
        prev = np.concatenate([[False], held[:-1]])
        return vbt.Portfolio.from_signals(
            open_, held & ~prev, ~held & prev, price=open_, fees=0.0006, slippage=0.0001, init_cash=10_000, freq="1min"
        )

    run(10, 50)
    t_one = best(lambda: run(10, 50).total_return(), 3)
    n = len(candles)
    print(f"[vectorbt {vbt.__version__} {label}] from_signals incl. signals: {t_one * 1e3:8.2f} ms  "
          f"{n / t_one / 1e6:8.1f} M bars/s")  # fmt: skip
    combos = list(combinations("sma_cross", [parse_grid("fast=5:50:5"), parse_grid("slow=60:240:20")]))[:n_sweep]
    t = time.perf_counter()
    for c in combos:
        run(c["fast"], c["slow"]).total_return()
    t_sw = time.perf_counter() - t
    print(f"  sweep {len(combos)} variants (serial): {t_sw:6.2f} s  {len(combos) / t_sw:6.1f} runs/s")
    return {"single": t_one, "sweep_per_run": t_sw / len(combos)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sweep", type=int, default=100)
    ap.add_argument("--peer-sweep", type=int, default=10, help="vectorbt variants to time (it is slower)")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args()
    t = time.perf_counter()
    frame = pd.read_csv(FILE)
    m1 = CandleArrays.from_columns(frame.open_time, frame.open, frame.high, frame.low, frame.close, frame.volume)
    print(f"loaded {len(m1):,} 1m bars in {time.perf_counter() - t:.2f} s (CSV; the store is much faster)")
    h1 = resample(m1, "1m", "1h").candles
    for label, candles, n_sweep in (("1m", m1, args.sweep), ("1h", h1, args.sweep)):
        ours_t = ours(candles, label, n_sweep, args.jobs)
        peer = vectorbt_peer(candles, label, args.peer_sweep)
        if peer:
            per_run_ours = ours_t["sweep"] / ours_t["sweep_n"]
            print(
                f"  => {label}: single run {peer['single'] / ours_t['single']:.1f}x faster than vectorbt "
                f"(kernel alone {peer['single'] / ours_t['kernel']:.0f}x); "
                f"sweep {peer['sweep_per_run'] / per_run_ours:.1f}x faster per variant"
            )


if __name__ == "__main__":
    main()
