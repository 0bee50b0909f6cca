"""Filling gaps (only when asked, always marked), the gap guard backtests use, exports that round-trip."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.fakes.real_candles import BTC_1H, WIF_1M, candles
from workstation.backtest.runner import load_market
from workstation.data.arrays import CandleArrays
from workstation.data.export import export_csv
from workstation.data.filled import read_filled
from workstation.data.importer import FileFormat, import_file
from workstation.data.markets import MarketKind, finest_step, split_symbol
from workstation.data.quality import GapsError, assert_no_gaps, check
from workstation.data.repair import fill_gaps, repair
from workstation.data.store import CandleStore

MINUTE = 60_000
FEATHER_1H = BTC_1H


@pytest.fixture
def store(tmp_path: Path) -> CandleStore:
    with CandleStore.open(tmp_path / "candles.db") as s:
        yield s


def _with_hole(first: int, count: int, hole: slice) -> tuple[CandleArrays, CandleArrays]:
    real = candles(WIF_1M, first, count)
    keep = np.ones(len(real), dtype=bool)
    keep[hole] = False
    return real, real.take(keep)


def test_fill_when_gap_then_flat_bars_at_previous_close_zero_volume_and_a_filled_marker(store: CandleStore) -> None:
    real, holed = _with_hole(0, 500, slice(200, 230))
    store.upsert_candles("bybit", "WIFUSDT", "1m", holed)

    filled = fill_gaps(store, "bybit", "WIFUSDT", "1m")

    stored = store.read("bybit", "WIFUSDT", "1m")
    assert np.array_equal(stored.ts, real.ts)
    made_up = stored.take(slice(200, 230))
    prev_close = float(real.close[199])
    for column in (made_up.open, made_up.high, made_up.low, made_up.close):
        assert np.all(column == prev_close)
    assert np.all(made_up.volume == 0)
    (marker,) = read_filled(store, "bybit", "WIFUSDT", "1m")
    assert filled == (marker,)
    assert (marker.start_ts, marker.end_ts, marker.bars) == (int(real.ts[200]), int(real.ts[230]), 30)
    # real bars around the hole are untouched
    assert stored.take(slice(0, 200)).equals(real.take(slice(0, 200)))
    assert stored.take(slice(230, None)).equals(real.take(slice(230, None)))


def test_check_when_series_has_filled_range_then_no_gap_but_filled_listed_and_not_a_zero_volume_run(
    store: CandleStore,
) -> None:
    _, holed = _with_hole(1_000, 400, slice(100, 160))
    store.upsert_candles("bybit", "WIFUSDT", "1m", holed)
    before = check(store.read("bybit", "WIFUSDT", "1m"), "1m")
    assert [g.missing for g in before.gaps] == [60] and not before.ok

    fill_gaps(store, "bybit", "WIFUSDT", "1m")
    after = check(store.read("bybit", "WIFUSDT", "1m"), "1m", filled=read_filled(store, "bybit", "WIFUSDT", "1m"))

    assert after.ok and after.gaps == () and after.filled_bars == 60
    assert after.zero_volume_runs == () and after.stale_runs == ()
    assert after.to_dict()["filled"][0]["bars"] == 60


def test_repair_when_not_asked_to_fill_then_store_unchanged_and_gaps_reported(store: CandleStore) -> None:
    _, holed = _with_hole(0, 300, slice(10, 12))
    store.upsert_candles("bybit", "WIFUSDT", "1m", holed)

    report = repair(store, "bybit", "WIFUSDT", "1m")

    assert report.missing_before == report.missing_after == 2 and report.filled == ()
    assert store.read("bybit", "WIFUSDT", "1m").equals(holed)
    assert read_filled(store, "bybit", "WIFUSDT", "1m") == ()


def test_assert_no_gaps_when_gap_then_gaps_error_names_it(store: CandleStore) -> None:
    real, holed = _with_hole(0, 300, slice(100, 180))
    with pytest.raises(GapsError, match=r"1 unrepaired gap.*80 bars missing") as caught:
        assert_no_gaps(holed, "1m", label="bybit WIFUSDT")
    (gap,) = caught.value.gaps
    assert (gap.prev_ts, gap.next_ts) == (int(real.ts[99]), int(real.ts[180]))
    assert_no_gaps(real, "1m")


def test_load_market_when_gaps_then_refused_unless_allowed_or_filled(store: CandleStore) -> None:
    real = candles(FEATHER_1H, 0, 600)
    keep = np.ones(len(real), dtype=bool)
    keep[300:303] = False
    store.upsert_candles("bybit", "BTCUSDT", "1h", real.take(keep))

    with pytest.raises(GapsError, match="bybit BTCUSDT 1h has 1 unrepaired gap"):
        load_market(store, "BTCUSDT", "1h")
    with pytest.raises(GapsError):  # resampled: the 4h bucket with missing hours is a gap too
        load_market(store, "BTCUSDT", "4h")
    assert len(load_market(store, "BTCUSDT", "1h", allow_gaps=True).candles) == 597

    fill_gaps(store, "bybit", "BTCUSDT", "1h")
    assert len(load_market(store, "BTCUSDT", "1h").candles) == 600


def test_export_when_imported_back_then_identical_series_for_iso_ms_and_gzip(
    store: CandleStore, tmp_path: Path
) -> None:
    real = candles(FEATHER_1H, 2_000, 3_000)
    store.upsert_candles("bybit", "BTCUSDT", "1h", real)
    for name, fmt in (("iso.csv", "iso"), ("ms.csv", "ms"), ("iso.csv.gz", "iso")):
        report = export_csv(store, "bybit", "BTCUSDT", "1h", tmp_path / name, ts_format=fmt)
        with CandleStore.open(tmp_path / f"{name}.db") as other:
            import_file(other, report.path, venue="bybit", symbol="BTCUSDT", interval="1h")
            assert other.read("bybit", "BTCUSDT", "1h").equals(real), name
    first_line = (tmp_path / "iso.csv").read_text().splitlines()[1]
    assert first_line.startswith("2024-") and first_line.split(",")[0].endswith(":00:00Z")


def test_export_when_filled_bars_then_left_out_unless_included_with_a_filled_column(
    store: CandleStore, tmp_path: Path
) -> None:
    _, holed = _with_hole(0, 100, slice(40, 45))
    store.upsert_candles("bybit", "WIFUSDT", "1m", holed)
    fill_gaps(store, "bybit", "WIFUSDT", "1m")

    plain = export_csv(store, "bybit", "WIFUSDT", "1m", tmp_path / "plain.csv")
    marked = export_csv(store, "bybit", "WIFUSDT", "1m", tmp_path / "marked.csv", include_filled=True)

    assert (plain.rows, plain.filled_left_out) == (95, 5)
    assert (marked.rows, marked.filled_written) == (100, 5)
    flags = [line.rsplit(",", 1)[1] for line in (tmp_path / "marked.csv").read_text().splitlines()[1:]]
    assert flags.count("1") == 5 and flags[40:45] == ["1"] * 5


def test_import_when_market_given_then_instrument_records_it_and_freqtrade_format_reads_feather(
    store: CandleStore,
) -> None:
    report = import_file(
        store, WIF_1M, venue="bybit", symbol="WIFUSDT", interval="1m", fmt=FileFormat.FREQTRADE,
        market=MarketKind.CRYPTO,
    )  # fmt: skip
    assert report.added == 44_466
    wif = store.instrument("bybit", "WIFUSDT")
    assert wif is not None and (wif.category.value, wif.base, wif.quote) == ("spot", "WIF", "USDT")
    assert report.instrument == wif and float(wif.tick_size) <= 1e-4

    import_file(store, WIF_1M, venue="bybit", symbol="WIFUSDT", interval="1m", market=MarketKind.COMMODITY)
    changed = store.instrument("bybit", "WIFUSDT")
    assert changed is not None and changed.category.value == "commodity" and changed.tick_size == wif.tick_size


def test_split_symbol_and_finest_step_when_usual_forms_then_base_quote_and_tick() -> None:
    assert split_symbol("BTCUSDT") == ("BTC", "USDT")
    assert split_symbol("ETH/USDC:USDC") == ("ETH", "USDC")
    assert split_symbol("EURUSD") == ("EUR", "USD")
    assert split_symbol("AAPL") == ("AAPL", "USD")
    assert str(finest_step(np.array([28000.01, 28000.1, 27999.0]))) == "0.01"
    assert str(finest_step(np.array([100.0, 250.0]))) == "1"
