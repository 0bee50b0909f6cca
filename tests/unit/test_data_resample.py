"""Resampling reproduces the exchange's own bars; incomplete buckets are never passed off as full."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from workstation.data.arrays import CandleArrays
from workstation.data.resample import align_up, resample
from workstation.data.sources.feather import parse_feather
from workstation.data.store import CandleStore

BYBIT = Path(__file__).resolve().parents[3] / "shared" / "data" / "ohlcv" / "bybit_linear"
MIN = 60_000


def minutes(start: int, n: int) -> CandleArrays:
    ts = start + np.arange(n, dtype=np.int64) * MIN
    price = 100 + np.sin(np.arange(n)) * 5
    return CandleArrays.from_columns(ts, price, price + 1, price - 1, price + 0.5, np.ones(n))


def test_resample_when_bybit_5m_to_1h_then_equals_downloaded_1h_bars(tmp_path: Path) -> None:
    five = parse_feather(BYBIT / "8pairs_5m_2025-09_2026-07" / "BTC_USDT_USDT-5m-futures.feather")
    hourly = parse_feather(BYBIT / "5pairs_1h_2023-11_2026-02" / "BTC_USDT_USDT-1h-futures.feather")
    with CandleStore.open(tmp_path / "c.db") as store:
        store.upsert_candles("bybit", "BTCUSDT", "5m", five.candles)
        result = store.read_resampled("bybit", "BTCUSDT", "5m", "1h")
    ours = result.candles
    _, mine, theirs = np.intersect1d(ours.ts, hourly.candles.ts, return_indices=True)
    assert len(mine) == 3301
    for name in ("open", "high", "low", "close"):
        assert np.array_equal(getattr(ours, name)[mine], getattr(hourly.candles, name)[theirs]), name
    np.testing.assert_allclose(ours.volume[mine], hourly.candles.volume[theirs], rtol=1e-9)


def test_resample_when_edges_incomplete_then_dropped_or_flagged() -> None:
    day = 1_704_067_200_000  # 2024-01-01 00:00 UTC
    candles = minutes(day + 30 * MIN, 120)  # 00:30 .. 02:29: only 01:00 is a full hour
    dropped = resample(candles, "1m", "1h")
    assert dropped.candles.ts.tolist() == [day + 60 * MIN]
    assert dropped.dropped == 2
    kept = resample(candles, "1m", "1h", keep_partial=True)
    assert kept.bars.tolist() == [30, 60, 30]
    assert kept.complete.tolist() == [False, True, False]
    full = kept.candles.take(slice(1, 2))
    assert full.open[0] == candles.open[30] and full.close[0] == candles.close[89]
    assert full.high[0] == candles.high[30:90].max() and full.low[0] == candles.low[30:90].min()
    assert full.volume[0] == 60.0


def test_resample_when_a_minute_is_missing_then_bucket_not_presented_as_complete() -> None:
    day = 1_704_067_200_000
    candles = minutes(day, 120)
    holed = candles.take(np.flatnonzero(np.arange(120) != 70))
    assert resample(holed, "1m", "1h").candles.ts.tolist() == [day]


def test_resample_when_weekly_then_buckets_start_on_monday() -> None:
    monday = 1_704_067_200_000  # 2024-01-01 was a Monday
    days = CandleArrays.from_columns(monday + np.arange(14) * 86_400_000, *(np.ones((5, 14))))
    weeks = resample(days, "1d", "1w")
    assert weeks.candles.ts.tolist() == [monday, monday + 7 * 86_400_000]
    assert align_up(monday + 1, "1w") == monday + 7 * 86_400_000


def test_resample_when_target_not_multiple_then_raises() -> None:
    with pytest.raises(ValueError, match="not a multiple"):
        resample(minutes(0, 10), "5m", "7m")
