"""Real Bybit linear candles and funding rates from /work/shared/data (freqtrade feather files)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from workstation.data.arrays import CandleArrays

BYBIT_LINEAR = Path(__file__).resolve().parents[3] / "shared" / "data" / "ohlcv" / "bybit_linear"
WIF_1M = BYBIT_LINEAR / "wif_1m_2025-04_2025-05" / "WIF_USDT_USDT-1m-futures.feather"
BTC_1H = BYBIT_LINEAR / "5pairs_1h_2023-11_2026-02" / "BTC_USDT_USDT-1h-futures.feather"
BTC_1H_MARK = BYBIT_LINEAR / "5pairs_1h_2023-11_2026-02" / "BTC_USDT_USDT-1h-mark.feather"
BTC_FUNDING = BYBIT_LINEAR / "5pairs_1h_2023-11_2026-02" / "BTC_USDT_USDT-1h-funding_rate.feather"


@lru_cache(maxsize=8)
def _frame(path: Path) -> pd.DataFrame:
    return pd.read_feather(path)


def candles(path: Path, first: int = 0, count: int | None = None) -> CandleArrays:
    """Rows [first, first + count) of a feather candle file."""
    frame = _frame(path).iloc[first : None if count is None else first + count]
    ts = frame["date"].astype("datetime64[ms, UTC]").astype("int64").to_numpy()
    return CandleArrays.from_columns(ts, frame.open, frame.high, frame.low, frame.close, frame.volume)


def funding(first: int = 0, count: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    frame = _frame(BTC_FUNDING).iloc[first : None if count is None else first + count]
    ts = frame["date"].astype("datetime64[ms, UTC]").astype("int64").to_numpy()
    return ts, frame["open"].to_numpy(dtype=np.float64)


def rows(c: CandleArrays) -> list[tuple[int, float, float, float, float, float]]:
    """For FakeBybit.set_candles / set_mark_candles."""
    return list(zip(*(col.tolist() for col in c.columns()), strict=True))
