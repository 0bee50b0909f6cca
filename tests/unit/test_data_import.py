"""File imports: Binance ms/µs detection, freqtrade feather, CSV; bad rows with file and line."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from workstation.data.importer import FileFormat, import_file
from workstation.data.sources.binance_files import parse_binance
from workstation.data.sources.common import DataImportError
from workstation.data.sources.csv_import import CsvFormat, parse_csv
from workstation.data.store import CandleStore

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data" / "ohlcv"
RAW = SHARED / "binance_spot" / "raw_daily"
BYBIT_5M = SHARED / "bybit_linear" / "8pairs_5m_2025-09_2026-07"


@pytest.fixture
def store(tmp_path: Path) -> CandleStore:
    with CandleStore.open(tmp_path / "candles.db") as s:
        yield s


def broken_copy(tmp_path: Path, edits: dict[int, str]) -> Path:
    """The 2024-12-31 dump with some 1-based lines replaced."""
    lines = (RAW / "BTCUSDT-1m-2024-12-31.csv").read_text().splitlines(keepends=True)
    for number, text in edits.items():
        lines[number - 1] = text
    path = tmp_path / "BTCUSDT-1m-2024-12-31.csv"
    path.write_text("".join(lines))
    return path


def test_parse_when_binance_2024_file_then_milliseconds_detected() -> None:
    parsed = parse_binance(RAW / "BTCUSDT-1m-2024-12-31.csv")
    assert (parsed.ts_unit, parsed.interval, parsed.symbol) == ("ms", "1m", "BTCUSDT")
    assert len(parsed.candles) == 1440 and parsed.candles.ts[0] == 1_735_603_200_000


def test_parse_when_binance_2025_file_then_microseconds_detected_and_converted() -> None:
    parsed = parse_binance(RAW / "BTCUSDT-1m-2025-01-01.csv")
    assert parsed.ts_unit == "us" and parsed.interval == "1m"
    assert parsed.candles.ts[0] == 1_735_689_600_000
    assert np.all(np.diff(parsed.candles.ts) == 60_000)


def test_import_when_listing_day_and_both_units_then_one_continuous_store(store: CandleStore) -> None:
    for name in ("BTCUSDT-1m-2017-08-17.csv", "BTCUSDT-1m-2024-12-31.csv", "BTCUSDT-1m-2025-01-01.csv"):
        import_file(store, RAW / name)
    (series,) = store.series()
    assert (series.venue, series.symbol, series.interval, series.rows) == ("binance", "BTCUSDT", "1m", 4080)
    boundary = store.read("binance", "BTCUSDT", "1m", 1_735_689_540_000, 1_735_689_660_000)
    assert boundary.ts.tolist() == [1_735_689_540_000, 1_735_689_600_000]


def test_import_when_file_has_bad_rows_then_nothing_imported_and_each_row_named(
    tmp_path: Path, store: CandleStore
) -> None:
    path = broken_copy(
        tmp_path,
        {
            5: "1735603440000,92800.1,92810.0,abc,92805.0,1.5,1735603499999,0,1,0,0,0\n",
            9: "1735603680000,92800.1,92810.0,92790.0\n",
            12: "1735603860000,92800.1,92810.0,92790.0,92805.0,-3,1735603919999,0,1,0,0,0\n",
        },
    )
    with pytest.raises(DataImportError) as caught:
        import_file(store, path)
    bad = caught.value.bad_rows
    assert [(b.file, b.line, b.field) for b in bad] == [
        ("BTCUSDT-1m-2024-12-31.csv", 5, "low"),
        ("BTCUSDT-1m-2024-12-31.csv", 9, "line"),
        ("BTCUSDT-1m-2024-12-31.csv", 12, "volume"),
    ]
    assert bad[0].value == "abc" and bad[0].expected == "a number"
    assert "12 fields, found 4" in bad[1].expected
    assert "BTCUSDT-1m-2024-12-31.csv:5: low='abc', expected a number" in str(caught.value)
    assert store.series() == []


def test_import_when_skip_bad_rows_then_good_rows_stored_and_bad_reported(tmp_path: Path, store: CandleStore) -> None:
    path = broken_copy(tmp_path, {3: "1735603320000,,92847.99,92765.35,92847.98,9.05,1735603379999,0,1,0,0,0\n"})
    report = import_file(store, path, skip_bad_rows=True)
    assert report.added == 1439 and report.skipped == 1
    assert (report.bad_rows[0].line, report.bad_rows[0].field) == (3, "open")
    assert "field empty" in report.bad_rows[0].expected


def test_import_when_row_in_other_timestamp_unit_then_reported_as_bad(tmp_path: Path, store: CandleStore) -> None:
    line = (RAW / "BTCUSDT-1m-2024-12-31.csv").read_text().splitlines()[6].split(",")
    line[0] = str(int(line[0]) * 1000)  # a µs timestamp in a ms file
    path = broken_copy(tmp_path, {7: ",".join(line) + "\n"})
    with pytest.raises(DataImportError) as caught:
        import_file(store, path)
    (bad,) = caught.value.bad_rows
    assert (bad.line, bad.field) == (7, "timestamp") and "in ms" in bad.expected


def test_import_when_interval_contradicts_file_then_refused(store: CandleStore) -> None:
    with pytest.raises(DataImportError, match="holds 1m candles"):
        import_file(store, RAW / "BTCUSDT-1m-2024-12-31.csv", interval="5m")


def test_import_when_freqtrade_files_then_kind_symbol_interval_from_name(tmp_path: Path, store: CandleStore) -> None:
    user_data = tmp_path / "user_data" / "data" / "bybit" / "futures"
    user_data.mkdir(parents=True)
    for name in ("BTC_USDT_USDT-1h-mark.feather", "BTC_USDT_USDT-1h-funding_rate.feather"):
        shutil.copy(BYBIT_5M / name, user_data / name)
    mark = import_file(store, user_data / "BTC_USDT_USDT-1h-mark.feather")
    funding = import_file(store, user_data / "BTC_USDT_USDT-1h-funding_rate.feather")
    assert (mark.venue, mark.symbol, mark.interval, mark.kind, mark.added) == ("bybit", "BTCUSDT", "1h", "mark", 7217)
    assert (funding.kind, funding.added) == ("funding", 902)
    rates = store.read_funding("bybit", "BTCUSDT")
    assert len(rates.ts) == 902 and np.all(np.diff(rates.ts) == 8 * 3_600_000)
    assert -0.001 < rates.rate.min() < rates.rate.max() < 0.002
    assert import_file(store, user_data / "BTC_USDT_USDT-1h-funding_rate.feather").added == 0


def test_parse_when_csv_with_iso_dates_and_timezone_then_converted_to_utc_ms(tmp_path: Path) -> None:
    path = tmp_path / "eurusd.csv"
    path.write_text("Date;O;H;L;C;V\n2024-03-01 09:00;1.1;1.2;1.0;1.15;10\n2024-03-01 10:00;1.15;1.2;1.1;1.1;0\n")
    fmt = CsvFormat(
        ts="Date",
        open="O",
        high="H",
        low="L",
        close="C",
        volume="V",
        ts_unit="iso",
        timezone="Europe/Berlin",
        delimiter=";",
    )
    parsed = parse_csv(path, fmt)
    assert parsed.candles.ts.tolist() == [1_709_280_000_000, 1_709_283_600_000]  # 08:00 and 09:00 UTC


def test_parse_when_csv_date_unreadable_then_line_and_column_reported(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("date,open,high,low,close,volume\n2024-03-01,1,2,0.5,1.5,3\nyesterday,1,2,0.5,1.5,3\n")
    parsed = parse_csv(path)
    (bad,) = parsed.bad_rows
    assert (bad.file, bad.line, bad.field, bad.value) == ("x.csv", 3, "date", "yesterday")


def test_import_when_csv_missing_column_then_error_lists_header(tmp_path: Path, store: CandleStore) -> None:
    path = tmp_path / "x.csv"
    path.write_text("time,open,high,low,close\n1709280000000,1,2,0.5,1.5\n")
    with pytest.raises(DataImportError, match="no column 'volume'; the header has time, open"):
        import_file(store, path, venue="x", symbol="X", interval="1m", fmt=FileFormat.CSV)
