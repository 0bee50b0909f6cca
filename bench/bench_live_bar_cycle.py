"""The live trader's per-bar costs on real Bybit 1h data (figures, not asserts).

    PYTHONPATH=. .venv/bin/python bench/bench_live_bar_cycle.py [--bars 200]

Prints:
- the candle store write of one confirmed bar (live.record.BarRecorder: an upsert into the bar's
  month chunk) on the writer thread, and the longest event-loop stall seen meanwhile (a ticker
  task sleeping 1 ms and measuring how late it wakes);
- ml_classifier(features=2, peer=BTCUSDT) per bar: rebinding its inputs (LiveInputs.bind) and
  computing its signals over the live window (what StrategyRunner.intent does).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from tests.fakes.real_candles import BTC_1H, candles
from workstation.live.record import BarRecorder
from workstation.strategies.base import StrategyInputs, signals
from workstation.strategies.builtin import build

ETH_1H = BTC_1H.parent / "ETH_USDT_USDT-1h-futures.feather"
ETH_FUNDING = BTC_1H.parent / "ETH_USDT_USDT-1h-funding_rate.feather"
PARAMS = {"horizon": 6, "train": 400, "refit": 240, "embargo": 6, "threshold": 0.52, "short": 1, "features": 2}
PARAMS |= {"peer": 1}
WARM = 1300


async def store_writes(bars: int) -> tuple[list[float], float]:
    eth = candles(ETH_1H, first=1000, count=WARM + bars)
    with tempfile.TemporaryDirectory() as tmp:
        recorder = BarRecorder(Path(tmp) / "candles.db", "bybit-testnet")
        recorder.candles("ETHUSDT", "1h", eth.take(slice(0, WARM)))
        await recorder.flush()
        worst = 0.0
        running = True

        async def ticker() -> None:
            nonlocal worst
            while running:
                t0 = time.perf_counter()
                await asyncio.sleep(0.001)
                worst = max(worst, time.perf_counter() - t0 - 0.001)

        tick = asyncio.create_task(ticker())
        writes = []
        for i in range(WARM, WARM + bars):
            t0 = time.perf_counter()
            recorder.candles("ETHUSDT", "1h", eth.take(slice(i, i + 1)))
            await recorder.flush()
            writes.append(time.perf_counter() - t0)
        running = False
        await tick
        await recorder.close()
    return writes, worst


def strategy_cycle(bars: int) -> tuple[list[float], list[float]]:
    eth = candles(ETH_1H, first=1000, count=WARM + bars)
    first = int(np.searchsorted(candles(BTC_1H).ts, eth.ts[0]))
    btc = candles(BTC_1H, first=first, count=WARM + bars)
    frame = pd.read_feather(ETH_FUNDING)
    f_ts = frame["date"].astype("datetime64[ms, UTC]").astype("int64").to_numpy()
    rates = frame["open"].to_numpy()
    base = build("ml_classifier", PARAMS)
    binds, computes = [], []
    for i in range(WARM, WARM + bars):
        t0 = time.perf_counter()
        known = f_ts <= eth.ts[i] + 3_600_000 - 1
        strategy = base.bind(StrategyInputs((f_ts[known], rates[known]), {"BTCUSDT": btc.take(slice(0, i + 1))}))
        t1 = time.perf_counter()
        signals(strategy, eth.take(slice(0, i + 1)), locate=False)
        t2 = time.perf_counter()
        binds.append(t1 - t0)
        computes.append(t2 - t1)
    return binds, computes


def ms(values: list[float]) -> str:
    v = sorted(values)
    return (
        f"median {statistics.median(v) * 1e3:.2f} ms, p95 {v[int(0.95 * (len(v) - 1))] * 1e3:.2f} ms, "
        f"max {v[-1] * 1e3:.2f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bars", type=int, default=200)
    args = parser.parse_args()
    writes, worst = asyncio.run(store_writes(args.bars))
    print(f"store write of one bar ({WARM}+ stored, {args.bars} bars): {ms(writes)}")
    print(f"longest event-loop stall while writing: {worst * 1e3:.2f} ms")
    binds, computes = strategy_cycle(args.bars)
    print(f"ml_classifier(features=2, peer=BTCUSDT) rebind per bar: {ms(binds)}")
    print(f"ml_classifier signals over {WARM}+ bars per bar (refits included): {ms(computes)}")


if __name__ == "__main__":
    main()
