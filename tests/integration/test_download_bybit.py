"""The Bybit downloader (pybit over real HTTP) against FakeBybit seeded with real Bybit candles."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from tests.fakes.bybit_server import FakeBybit
from tests.fakes.real_candles import BTC_1H, BTC_1H_MARK, WIF_1M, candles, funding, rows
from workstation.core.errors import ExchangeUnavailable
from workstation.data.download import (
    DownloadProgress,
    Pacing,
    download,
    download_funding,
    download_instruments,
    update_all,
)
from workstation.data.sources.bybit import BybitIpBanned, BybitSource
from workstation.data.store import CandleStore

KLINE = "/v5/market/kline"
MINUTE = 60_000
FAST = Pacing(min_interval_s=0, max_retries=2, retry_delay_s=0.01, max_wait_s=2)


@pytest.fixture
def store(tmp_path: Path) -> CandleStore:
    with CandleStore.open(tmp_path / "candles.db") as s:
        yield s


def source(fake: FakeBybit, sleeps: list[float] | None = None) -> BybitSource:
    def sleep(seconds: float) -> None:
        if sleeps is not None:
            sleeps.append(seconds)
        time.sleep(min(seconds, 0.05))

    return BybitSource(base_url=fake.base_url, pacing=FAST, sleep=sleep)


def test_download_when_more_than_1000_bars_and_pages_overlap_then_merged_and_open_bar_left_out(
    fake_bybit: FakeBybit, store: CandleStore
) -> None:
    real = candles(WIF_1M, 0, 2_500)
    fake_bybit.set_candles("WIFUSDT", "1", rows(real))
    fake_bybit.exchange.kline_overlap = 5  # every page also repeats bars newer than its `end`
    last = int(real.ts[-1])
    fake_bybit.set_clock_offset_ms(last + 30_000 - time.time_ns() // 1_000_000)  # the last bar is still open

    report = download(store, source(fake_bybit), "WIFUSDT", "1m", int(real.ts[0]), last + MINUTE)

    stored = store.read("bybit", "WIFUSDT", "1m")
    assert stored.equals(real.take(slice(0, -1)))
    assert report.fetched == report.stats.added == 2_499
    assert len(fake_bybit.requests_to(KLINE)) == 3  # 1000 + 1000 + 500 bars, newest page first
    first, second = (int(r.params["end"]) for r in fake_bybit.requests_to(KLINE)[:2])
    assert first == last + MINUTE - 1 and second < first


def test_download_when_interrupted_mid_way_then_resume_fetches_only_the_missing_pages(
    fake_bybit: FakeBybit, store: CandleStore
) -> None:
    real = candles(WIF_1M, 10_000, 3_500)
    fake_bybit.set_candles("WIFUSDT", "1", rows(real))
    start, end = int(real.ts[0]), int(real.ts[-1]) + MINUTE
    seen: list[DownloadProgress] = []

    def break_after_first_page(p: DownloadProgress) -> None:
        seen.append(p)
        if p.fetched == 1_000:  # the exchange goes away after one page
            fake_bybit.http_status_next(KLINE, 503, times=10)

    with pytest.raises(ExchangeUnavailable, match="HTTP 503"):
        download(store, source(fake_bybit), "WIFUSDT", "1m", start, end, progress=break_after_first_page)
    assert len(store.read("bybit", "WIFUSDT", "1m")) == 1_000
    assert seen[0].expected == 3_500 and seen[-1].fetched == 1_000

    fake_bybit.clear_faults()
    fake_bybit.reset_log()
    report = download(store, source(fake_bybit), "WIFUSDT", "1m", start, end)

    assert report.ranges == ((start, end - 1_000 * MINUTE),)
    assert report.fetched == 2_500 and len(fake_bybit.requests_to(KLINE)) == 3
    assert store.read("bybit", "WIFUSDT", "1m").equals(real)
    fake_bybit.reset_log()
    again = download(store, source(fake_bybit), "WIFUSDT", "1m", start, end)
    assert again.ranges == () and fake_bybit.requests == []


def test_update_when_exchange_has_newer_bars_then_only_those_are_fetched(
    fake_bybit: FakeBybit, store: CandleStore
) -> None:
    real = candles(BTC_1H, 5_000, 3_000)
    fake_bybit.set_candles("BTCUSDT", "60", rows(real.take(slice(0, 1_800))))
    download(store, source(fake_bybit), "BTCUSDT", "1h", int(real.ts[0]))
    fake_bybit.set_candles("BTCUSDT", "60", rows(real))
    fake_bybit.reset_log()

    (result,) = update_all(store, lambda venue: source(fake_bybit))

    assert result.report is not None and result.report.fetched == 1_200
    assert int(fake_bybit.requests_to(KLINE)[-1].params["start"]) == int(real.ts[1_800])
    assert len(fake_bybit.requests_to(KLINE)) == 2
    assert store.read("bybit", "BTCUSDT", "1h").equals(real)


def test_download_when_rate_limited_10006_then_waits_for_the_reset_and_succeeds(
    fake_bybit: FakeBybit, store: CandleStore
) -> None:
    real = candles(WIF_1M, 0, 300)
    fake_bybit.set_candles("WIFUSDT", "1", rows(real))
    fake_bybit.fail_next(KLINE, 10006, "Too many visits!", times=2)
    sleeps: list[float] = []

    report = download(store, source(fake_bybit, sleeps), "WIFUSDT", "1m", int(real.ts[0]), int(real.ts[-1]) + MINUTE)

    assert report.fetched == 300 and len(fake_bybit.requests_to(KLINE)) == 3
    # The fake's X-Bapi-Limit-Reset-Timestamp is the next whole second: each wait is under one.
    assert len(sleeps) == 2 and all(0 <= s <= 1.0 for s in sleeps)


def test_download_when_http_403_then_stops_with_a_clear_message_and_sends_nothing_more(
    fake_bybit: FakeBybit, store: CandleStore
) -> None:
    real = candles(WIF_1M, 0, 3_000)
    fake_bybit.set_candles("WIFUSDT", "1", rows(real))
    fake_bybit.http_status_next(KLINE, 403)
    src = source(fake_bybit)

    with pytest.raises(BybitIpBanned, match=r"HTTP 403.*at least 10 minutes.*try again after") as caught:
        download(store, src, "WIFUSDT", "1m", int(real.ts[0]), int(real.ts[-1]) + MINUTE)
    with pytest.raises(BybitIpBanned):
        download(store, src, "WIFUSDT", "1m", int(real.ts[0]), int(real.ts[-1]) + MINUTE)

    assert len(fake_bybit.requests_to(KLINE)) == 1  # no retry, and the second call never left
    assert caught.value.until_ms >= time.time_ns() // 1_000_000 + 9 * 60_000


def test_download_when_mark_and_funding_asked_then_both_stored_beside_the_candles(
    fake_bybit: FakeBybit, store: CandleStore
) -> None:
    mark = candles(BTC_1H_MARK, 0, 1_500)
    ts, rate = funding(0, 450)
    fake_bybit.set_mark_candles("BTCUSDT", "60", rows(mark))
    fake_bybit.set_funding("BTCUSDT", list(zip(ts.tolist(), rate.tolist(), strict=True)))
    src = source(fake_bybit)

    download(store, src, "BTCUSDT", "1h", int(mark.ts[0]), int(mark.ts[-1]) + 3_600_000, kind="mark")
    report = download_funding(store, src, "BTCUSDT", int(ts[0]), int(ts[-1]) + 1)

    stored = store.read("bybit", "BTCUSDT", "1h", kind="mark")
    assert stored.equals(mark) and np.isnan(stored.volume).all()  # mark-price bars have no volume
    assert len(fake_bybit.requests_to("/v5/market/mark-price-kline")) == 2
    saved = store.read_funding("bybit", "BTCUSDT")
    assert np.array_equal(saved.ts, ts) and np.allclose(saved.rate, rate)
    assert report.fetched == 450 and len(fake_bybit.requests_to("/v5/market/funding/history")) == 3
    assert download_funding(store, src, "BTCUSDT", int(ts[0]), int(ts[-1]) + 1).changed == 0


def test_instruments_when_more_than_one_page_then_cursor_walks_them_all_into_the_store(
    fake_bybit: FakeBybit, store: CandleStore
) -> None:
    fake_bybit.add_instruments(1_200)
    fake_bybit.add_instruments(3, status="PreLaunch")

    found = download_instruments(store, source(fake_bybit))

    calls = fake_bybit.requests_to("/v5/market/instruments-info")
    assert len(found) == len(store.instruments("bybit")) == 1_205
    assert [c.params.get("cursor") for c in calls] == [None, "offset=1000"]
    btc = store.instrument("bybit", "BTCUSDT")
    assert btc is not None and (str(btc.tick_size), str(btc.qty_step), str(btc.min_notional)) == ("0.10", "0.001", "5")


def test_requests_when_limit_status_reaches_zero_then_waits_for_the_reset_before_the_next(
    fake_bybit: FakeBybit,
) -> None:
    fake_bybit.add_instruments(70)
    sleeps: list[float] = []
    src = source(fake_bybit, sleeps)

    found = [i for page in src.instrument_pages(page_size=1) for i in page]

    assert len(found) == 75
    # The fake allows 50 requests per endpoint per second (X-Bapi-Limit-Status counts down).
    assert sleeps and all(0 < s <= 1.0 for s in sleeps)
