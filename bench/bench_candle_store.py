"""Candle store benchmark on the shared 1,052,560-row Binance BTCUSDT 1m file (figures, not asserts).

    PYTHONPATH=. .venv/bin/python bench/bench_candle_store.py [--file PATH] [--repeat 5]

Prints, in one run: parse speed, import speed into an empty store (after parsing), whole-series
load speed and bytes per candle for each chunk codec, beside a row-per-row SQLite table and a plain
pandas read of the CSV.
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from workstation.data.arrays import CandleArrays
from workstation.data.codec import Codec
from workstation.data.quality import check
from workstation.data.resample import resample
from workstation.data.sources.csv_import import parse_csv
from workstation.data.store import CandleStore

DEFAULT_FILE = (
    Path(__file__).resolve().parents[2]
    / "shared"
    / "data"
    / "ohlcv"
    / "binance_spot"
    / "BTCUSDT-1m-2023-01-01_2024-12-31.ohlcv.csv.gz"
)


def best(fn: Callable[[], object], repeat: int) -> tuple[float, object]:
    """Fastest of `repeat` runs (seconds) and the last result."""
    times: list[float] = []
    result: object = None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def row(label: str, rows: int, seconds: float, extra: str = "") -> None:
    print(f"  {label:<34} {seconds * 1000:9.1f} ms  {rows / seconds / 1e6:7.2f} M rows/s  {extra}")


def bench_chunked(candles: CandleArrays, codec: Codec, workdir: Path, repeat: int) -> None:
    path = workdir / f"chunks-{codec}.db"
    with CandleStore.open(path, codec=codec) as store:
        start = time.perf_counter()
        store.upsert_candles("binance", "BTCUSDT", "1m", candles)
        ingest = time.perf_counter() - start
        seconds, loaded = best(lambda: store.read("binance", "BTCUSDT", "1m"), repeat)
        assert isinstance(loaded, CandleArrays) and loaded.equals(candles)
        (info,) = store.series()
    on_disk = sum(p.stat().st_size for p in workdir.glob(f"chunks-{codec}.db*"))
    row(f"chunked {codec} import", len(candles), ingest)
    row(
        f"chunked {codec} load",
        len(candles),
        seconds,
        f"{info.stored_bytes / len(candles):5.1f} B/candle in blobs, {on_disk / len(candles):5.1f} on disk",
    )


def bench_rows(candles: CandleArrays, workdir: Path, repeat: int) -> None:
    path = workdir / "rows.db"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(
        "CREATE TABLE candles (venue TEXT, symbol TEXT, interval TEXT, ts INTEGER, open REAL, high REAL, "
        "low REAL, close REAL, volume REAL, PRIMARY KEY (venue, symbol, interval, ts))"
    )
    records = zip(*(c.tolist() for c in candles.columns()), strict=True)
    start = time.perf_counter()
    with conn:
        conn.executemany("INSERT INTO candles VALUES ('binance', 'BTCUSDT', '1m', ?, ?, ?, ?, ?, ?)", records)
    ingest = time.perf_counter() - start

    def load() -> np.ndarray:
        rows = conn.execute(
            "SELECT ts, open, high, low, close, volume FROM candles WHERE venue = 'binance' "
            "AND symbol = 'BTCUSDT' AND interval = '1m' ORDER BY ts"
        ).fetchall()
        return np.array(rows, dtype=np.float64)

    seconds, _ = best(load, max(1, repeat // 2))
    conn.close()
    on_disk = sum(p.stat().st_size for p in workdir.glob("rows.db*"))
    row("row-per-row SQLite import", len(candles), ingest)
    row("row-per-row SQLite load", len(candles), seconds, f"{on_disk / len(candles):5.1f} B/candle on disk")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", type=Path, default=DEFAULT_FILE)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    print(f"file: {args.file}")
    seconds, frame = best(lambda: pd.read_csv(args.file), 2)
    assert isinstance(frame, pd.DataFrame)
    n = len(frame)
    print(f"{n:,} rows")
    row("pandas.read_csv (gz CSV) load", n, seconds)
    seconds, parsed = best(lambda: parse_csv(args.file), 2)
    candles = parsed.candles  # type: ignore[attr-defined]
    row("our CSV parse + row checks", n, seconds)

    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        for codec in Codec:
            bench_chunked(candles, codec, workdir, args.repeat)
        bench_rows(candles, workdir, args.repeat)

    seconds, _ = best(lambda: resample(candles, "1m", "1h"), args.repeat)
    row("resample 1m -> 1h (numpy)", n, seconds)
    seconds, report = best(lambda: check(candles, "1m"), 2)
    row("quality check", n, seconds, f"{len(report.gaps)} gap(s)")  # type: ignore[attr-defined]


if __name__ == "__main__":
    main()
