"""Discovery throughput: candidates evaluated per second on the shared Bybit 1h data.

Usage: .venv/bin/python bench/bench_discovery.py [--symbols BTC,ETH] [--budget 300] [--jobs N]
Rule families and ML classifiers are timed separately (an ML variant costs a model refit per fold;
a rule variant one pass of the backtest kernel), then together as `workstation discover` runs them.
Every candidate is backtested with the full cost model (taker fee, slippage, funding).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd

from workstation.backtest.costs import CostModel, funding_per_bar
from workstation.data.arrays import CandleArrays
from workstation.discovery.run import discover
from workstation.discovery.search import RULE_FAMILIES, MarketInput, SearchConfig, search

DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "ohlcv" / "bybit_linear" / "5pairs_1h_2023-11_2026-02"


def load(base: str, btc: CandleArrays | None) -> MarketInput:
    frame = pd.read_feather(DIR / f"{base}_USDT_USDT-1h-futures.feather")
    ts = frame["date"].astype("datetime64[ms, UTC]").astype("int64").to_numpy()
    candles = CandleArrays.from_columns(ts, frame.open, frame.high, frame.low, frame.close, frame.volume)
    fund = pd.read_feather(DIR / f"{base}_USDT_USDT-1h-funding_rate.feather")
    fts = fund["date"].astype("datetime64[ms, UTC]").astype("int64").to_numpy()
    rate = fund["open"].to_numpy(np.float64)
    peers = {"btc": btc} if btc is not None and base != "BTC" else {}
    return MarketInput(f"{base}USDT", "1h", candles, funding_per_bar(ts, fts, rate), (fts, rate), peers)


def timed(markets: list[MarketInput], cfg: SearchConfig) -> tuple[int, float]:
    started = time.perf_counter()
    n = len(search(markets, cfg))
    return n, time.perf_counter() - started


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--symbols", default="BTC,ETH")
    ap.add_argument("--budget", type=int, default=300)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args()
    bases = [s.strip().upper().removesuffix("USDT") for s in args.symbols.split(",")]
    btc = load("BTC", None).candles
    markets = [load(b, btc) for b in bases]
    cost = CostModel(slippage_bps=1.0)
    base = SearchConfig(budget=args.budget, jobs=args.jobs, cost=cost)
    rows = {}
    cfg_rules = SearchConfig(families=RULE_FAMILIES, budget=args.budget, jobs=args.jobs, cost=cost)
    cfg_ml = SearchConfig(families=("ml",), budget=args.budget, jobs=args.jobs, cost=cost)
    search(
        [markets[0]], SearchConfig(families=("sma_cross",), budget=4, jobs=1, cost=cost, backend="serial")
    )  # warm numba
    for name, cfg in (("rules", cfg_rules), ("ml", cfg_ml)):
        n, s = timed(markets, cfg)
        rows[name] = {"candidates": n, "seconds": round(s, 2), "per_second": round(n / s, 1)}
    started = time.perf_counter()
    result = discover(markets, base)
    total = time.perf_counter() - started
    rows["discover (search + ranking)"] = {
        "candidates": result.trials,
        "seconds": round(total, 2),
        "per_second": round(result.trials / total, 1),
        "passed": len(result.passed),
    }
    bars = {m.symbol: len(m.candles) for m in markets}
    print(json.dumps({"bars": bars, "jobs": args.jobs, "cores": os.cpu_count(), "results": rows}, indent=2))


if __name__ == "__main__":
    main()
