"""Quality report: gaps as ranges, duplicates, ordering, OHLC consistency, outliers, dead runs."""

from __future__ import annotations

import numpy as np

from workstation.data.arrays import CandleArrays
from workstation.data.quality import check

MIN = 60_000
START = 1_704_067_200_000


def minutes(n: int) -> CandleArrays:
    ts = START + np.arange(n, dtype=np.int64) * MIN
    rng = np.random.default_rng(7)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 1e-3, n)))
    open_ = np.concatenate([[100.0], close[:-1]])
    return CandleArrays.from_columns(
        ts, open_, np.maximum(open_, close) * 1.0005, np.minimum(open_, close) * 0.9995, close, np.ones(n)
    )


def test_check_when_series_is_clean_then_ok() -> None:
    report = check(minutes(3000), "1m")
    assert report.ok and report.rows == 3000 and not report.outliers


def test_check_when_bars_missing_then_gap_listed_as_range() -> None:
    candles = minutes(100)
    holed = candles.take(np.flatnonzero((np.arange(100) < 40) | (np.arange(100) >= 45)))
    (gap,) = check(holed, "1m").gaps
    assert (gap.prev_ts, gap.next_ts, gap.missing) == (START + 39 * MIN, START + 45 * MIN, 5)


def test_check_when_duplicates_and_disorder_then_both_reported() -> None:
    candles = minutes(10)
    messy = candles.take(np.array([0, 1, 2, 2, 4, 3, 5, 6, 7, 8, 9]))
    report = check(messy, "1m")
    assert report.duplicates == (START + 2 * MIN,)
    assert report.out_of_order == 1 and not report.ok


def test_check_when_high_below_close_then_ohlc_violation_named() -> None:
    c = minutes(10)
    high = c.high.copy()
    high[4] = c.close[4] - 1
    report = check(CandleArrays(c.ts, c.open, high, c.low, c.close, c.volume), "1m")
    (violation,) = report.ohlc_violations
    assert violation.ts == c.ts[4] and "high below open or close" in violation.problem


def test_check_when_mistyped_price_then_outlier_reported() -> None:
    c = minutes(3000)
    close = c.close.copy()
    close[2000] *= 10
    report = check(CandleArrays(c.ts, c.open, np.maximum(c.high, close), c.low, close, c.volume), "1m")
    assert [o.ts for o in report.outliers] == [c.ts[2000], c.ts[2001]]


def test_check_when_volume_zero_for_a_while_then_run_reported() -> None:
    c = minutes(100)
    volume = c.volume.copy()
    volume[20:35] = 0
    (run,) = check(CandleArrays(c.ts, c.open, c.high, c.low, c.close, volume), "1m").zero_volume_runs
    assert (run.start_ts, run.end_ts, run.bars) == (c.ts[20], c.ts[34], 15)
