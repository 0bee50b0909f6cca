"""ccxt's bybit (real ccxt, real HTTP) against FakeBybit, and the cross-check of two sources."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from tests.fakes.bybit_server import FakeBybit
from tests.fakes.real_candles import BTC_1H, WIF_1M, candles, funding, rows
from workstation.core.errors import ExchangeError
from workstation.data.arrays import CandleArrays
from workstation.data.compare import compare_candles
from workstation.data.download import IpBanned, Pacing, download, download_funding, fetch_candles, open_bar_start
from workstation.data.sources.bybit import BybitSource
from workstation.data.sources.ccxt_source import CcxtSource
from workstation.data.store import CandleStore

KLINE = "/v5/market/kline"
MINUTE = 60_000
FAST = Pacing(min_interval_s=0, max_retries=2, retry_delay_s=0.01, max_wait_s=1)


def ccxt_bybit(fake: FakeBybit) -> CcxtSource:
    return CcxtSource("bybit", base_url=fake.base_url, pacing=FAST)


def test_ccxt_download_when_pointed_at_the_fake_then_store_equals_the_pybit_download(
    fake_bybit: FakeBybit, tmp_path: Path
) -> None:
    real = candles(WIF_1M, 20_000, 2_345)
    fake_bybit.set_candles("WIFUSDT", "1", rows(real))
    start, end = int(real.ts[0]), int(real.ts[-1]) + MINUTE

    with CandleStore.open(tmp_path / "ccxt.db") as a, CandleStore.open(tmp_path / "pybit.db") as b:
        report = download(a, ccxt_bybit(fake_bybit), "WIFUSDT", "1m", start, end)
        ccxt_requests = fake_bybit.requests
        download(b, BybitSource(base_url=fake_bybit.base_url, pacing=FAST), "WIFUSDT", "1m", start, end)
        via_ccxt, via_pybit = a.read("bybit", "WIFUSDT", "1m"), b.read("bybit", "WIFUSDT", "1m")

    assert via_ccxt.equals(via_pybit) and via_ccxt.equals(real)
    assert report.venue == "bybit" and report.fetched == 2_345
    # load_markets asks only for linear instruments (plus PreLaunch); then pages go forward from `start`.
    assert [r.params["category"] for r in ccxt_requests if "instruments" in r.path] == ["linear"] * 2
    assert [int(r.params["start"]) for r in ccxt_requests if r.path == KLINE] == [
        start,
        start + 1_000 * MINUTE,
        start + 2_000 * MINUTE,
    ]


def test_ccxt_download_when_newest_bar_still_open_then_left_out_and_resume_is_incremental(
    fake_bybit: FakeBybit, tmp_path: Path
) -> None:
    real = candles(BTC_1H, 0, 30)
    now_bar = open_bar_start("1m", time.time_ns() // 1_000_000)
    shifted = CandleArrays.from_columns(
        now_bar - (len(real) - 1 - np.arange(len(real))) * MINUTE,
        real.open,
        real.high,
        real.low,
        real.close,
        real.volume,
    )
    fake_bybit.set_candles("BTCUSDT", "1", rows(shifted))
    src = ccxt_bybit(fake_bybit)

    with CandleStore.open(tmp_path / "c.db") as store:
        first = download(store, src, "BTCUSDT", "1m", int(shifted.ts[0]), now_bar + MINUTE, at_ms=now_bar + 1)
        stored = store.read("bybit", "BTCUSDT", "1m")

    assert first.fetched == 29 and stored.equals(shifted.take(slice(0, -1)))


def test_ccxt_when_403_or_unknown_symbol_then_project_errors(fake_bybit: FakeBybit) -> None:
    src = ccxt_bybit(fake_bybit)
    with pytest.raises(ExchangeError, match="no linear market 'NOPEUSDT'"):
        list(src.candle_pages("NOPEUSDT", "1m", 0, MINUTE))
    fake_bybit.http_status_next(KLINE, 403)
    with pytest.raises(IpBanned, match="HTTP 403"):
        list(src.candle_pages("BTCUSDT", "1m", 0, 1_000 * MINUTE))
    sent = len(fake_bybit.requests)
    with pytest.raises(IpBanned):
        list(src.candle_pages("BTCUSDT", "1m", 0, 1_000 * MINUTE))
    assert len(fake_bybit.requests) == sent


def test_ccxt_when_rate_limited_then_retried_and_funding_paged_forward(fake_bybit: FakeBybit, tmp_path: Path) -> None:
    ts, rate = funding(100, 250)
    fake_bybit.set_funding("BTCUSDT", list(zip(ts.tolist(), rate.tolist(), strict=True)))
    fake_bybit.fail_next("/v5/market/funding/history", 10006, "Too many visits!")

    with CandleStore.open(tmp_path / "c.db") as store:
        report = download_funding(store, ccxt_bybit(fake_bybit), "BTCUSDT", int(ts[0]), int(ts[-1]) + 1)
        saved = store.read_funding("bybit", "BTCUSDT")

    assert report.fetched == 250 and np.array_equal(saved.ts, ts) and np.allclose(saved.rate, rate)


def test_compare_when_sources_agree_then_ok_and_when_one_differs_then_bars_and_prices_reported(
    fake_bybit: FakeBybit,
) -> None:
    real = candles(WIF_1M, 30_000, 1_440)
    fake_bybit.set_candles("WIFUSDT", "1", rows(real))
    start, end = int(real.ts[0]), int(real.ts[-1]) + MINUTE
    a = fetch_candles(BybitSource(base_url=fake_bybit.base_url, pacing=FAST), "WIFUSDT", "1m", start, end)
    b = fetch_candles(ccxt_bybit(fake_bybit), "WIFUSDT", "1m", start, end)

    same = compare_candles(a, b, MINUTE, name_a="bybit", name_b="ccxt:bybit")
    assert same.ok and same.common == 1_440 and same.max_bps["close"] == 0.0

    keep = np.ones(len(b), dtype=bool)
    keep[100:110] = False  # ten bars missing in B
    close = b.close.copy()
    close[500] *= 1.001  # 10 bps off
    other = CandleArrays.from_columns(b.ts, b.open, b.high, b.low, close, b.volume).take(keep)
    diff = compare_candles(a, other.take(slice(0, -5)), MINUTE, tolerance_bps=5)

    assert not diff.ok
    assert [(r.start_ts, r.bars) for r in diff.only_a] == [(int(a.ts[100]), 10), (int(a.ts[-5]), 5)]
    assert diff.only_b == () and diff.differing_bars == 1
    (worst,) = diff.worst
    assert (worst.ts, worst.column) == (int(a.ts[500]), "close") and worst.bps == pytest.approx(10, rel=1e-3)
