"""The `data` CLI end to end on real files, and the 2-year Binance benchmark file's one real gap."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from workstation.commands.data import app, default_db
from workstation.data.importer import import_file
from workstation.data.quality import check
from workstation.data.sample import load_bundled_sample
from workstation.data.store import CandleStore

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data" / "ohlcv"
BENCH_FILE = SHARED / "binance_spot" / "BTCUSDT-1m-2023-01-01_2024-12-31.ohlcv.csv.gz"
RAW = SHARED / "binance_spot" / "raw_daily"
runner = CliRunner()


def test_quality_when_binance_two_year_file_imported_then_only_the_2023_03_24_halt_is_reported(
    tmp_path: Path,
) -> None:
    with CandleStore.open(tmp_path / "c.db") as store:
        report = import_file(store, BENCH_FILE, venue="binance", symbol="BTCUSDT", interval="1m")
        candles = store.read("binance", "BTCUSDT", "1m")
    assert report.added == len(candles) == 1_052_560
    quality = check(candles, "1m")
    assert [(str(g), g.missing) for g in quality.gaps] == [
        ("2023-03-24 12:39 -> 2023-03-24 14:00 UTC: 80 bars missing", 80)
    ]
    assert not (quality.duplicates or quality.out_of_order or quality.misaligned or quality.ohlc_violations)
    assert quality.outliers == ()


def test_cli_when_import_list_quality_show_then_outputs_describe_the_store(tmp_path: Path) -> None:
    db = str(tmp_path / "cli.db")
    result = runner.invoke(
        app, ["import", str(RAW / "BTCUSDT-1m-2024-12-31.csv"), str(RAW / "BTCUSDT-1m-2025-01-01.csv"), "--db", db]
    )
    assert result.exit_code == 0, result.output
    assert "1440 added" in result.output and "(us)" in result.output
    listed = runner.invoke(app, ["list", "--json", "--db", db])
    (row,) = json.loads(listed.output)
    assert (row["symbol"], row["interval"], row["rows"], row["first"]) == ("BTCUSDT", "1m", 2880, "2024-12-31 00:00")
    quality = runner.invoke(app, ["quality", "--symbol", "BTCUSDT", "--interval", "1m", "--json", "--db", db])
    assert quality.exit_code == 0 and json.loads(quality.output)["ok"] is True  # `quality`: the alias of `check`
    shown = runner.invoke(
        app,
        [
            "show",
            "--symbol",
            "BTCUSDT",
            "--interval",
            "1m",
            "--resample",
            "1h",
            "--start",
            "2024-12-31T22:00",
            "--end",
            "2025-01-01T02:00",
            "--db",
            db,
        ],
    )
    assert shown.exit_code == 0, shown.output
    assert "4 candles in range" in shown.output and "2025-01-01 01:00" in shown.output


def test_cli_when_file_has_bad_row_then_exit_1_with_line_and_store_untouched(tmp_path: Path) -> None:
    lines = (RAW / "BTCUSDT-1m-2024-12-31.csv").read_text().splitlines(keepends=True)
    lines[99] = lines[99].replace(",", ",x", 1)
    broken = tmp_path / "BTCUSDT-1m-2024-12-31.csv"
    broken.write_text("".join(lines))
    db = str(tmp_path / "cli.db")
    result = runner.invoke(app, ["import", str(broken), "--db", db])
    assert result.exit_code == 1
    assert "BTCUSDT-1m-2024-12-31.csv:100: open=" in result.output
    assert "nothing stored yet" in runner.invoke(app, ["list", "--db", db]).output
    skipped = runner.invoke(app, ["import", str(broken), "--skip-bad-rows", "--db", db])
    assert skipped.exit_code == 0 and "1439 added" in skipped.output


def test_db_when_not_given_then_under_workstation_home(isolated_home: Path) -> None:
    assert default_db() == isolated_home / "candles.db"
    result = runner.invoke(app, ["list"])
    assert result.exit_code == 0 and (isolated_home / "candles.db").is_file()


def test_load_bundled_sample_when_called_twice_then_sixty_one_days_once(tmp_path: Path) -> None:
    with CandleStore.open(tmp_path / "c.db") as store:
        first = load_bundled_sample(store)
        second = load_bundled_sample(store)
        candles = store.read("binance", "BTCUSDT", "1m")
    assert (first.added, second.added) == (87_840, 0)
    assert check(candles, "1m").ok
