"""`workstation data check | export | repair | sync` and the backtest gap guard.

The "Done when" check and one call of each new command run as real processes; follow-up calls use
the same CLI in-process (each `workstation` process spends seconds importing the analytics stack).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
from click.testing import Result
from typer.testing import CliRunner

from tests.fakes.bybit_server import FakeBybit
from tests.fakes.real_candles import BTC_1H, WIF_1M, candles, rows
from tests.integration.cli_runner import run_cli
from workstation.cli import app
from workstation.data.arrays import CandleArrays
from workstation.data.download import open_bar_start
from workstation.data.filled import read_filled
from workstation.data.sample import sample_path
from workstation.data.store import CandleStore

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data" / "ohlcv" / "binance_spot"
BENCH_FILE = SHARED / "BTCUSDT-1m-2023-01-01_2024-12-31.ohlcv.csv.gz"
RAW_DAY = SHARED / "raw_daily" / "BTCUSDT-1m-2024-12-31.csv"
MINUTE, HOUR = 60_000, 3_600_000
runner = CliRunner()


def cli(*args: str, home: Path) -> Result:
    return runner.invoke(app, ["--home", str(home), *args])


def test_check_when_two_year_binance_file_imported_then_json_reports_exactly_the_2023_03_24_halt(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    imported = run_cli("data", "import", str(BENCH_FILE), "--venue", "binance", "--symbol", "BTCUSDT", home=home)
    assert imported.returncode == 0, imported.stderr
    assert "1052560 rows read" in imported.stdout

    checked = run_cli("data", "check", "--json", home=home)

    assert checked.returncode == 1  # a gap is an error
    doc = json.loads(checked.stdout)
    (series,) = doc["series"]
    assert doc["ok"] is False and (series["venue"], series["symbol"], series["interval"]) == (
        "binance",
        "BTCUSDT",
        "1m",
    )
    assert series["rows"] == 1_052_560 and series["missing_bars"] == 80
    assert [(g["prev"], g["next"], g["missing"]) for g in series["gaps"]] == [
        ("2023-03-24 12:39", "2023-03-24 14:00", 80)
    ]
    assert not (series["duplicates"] or series["out_of_order"] or series["misaligned"] or series["ohlc_violations"])
    assert series["outliers"] == [] and series["filled"] == []


def test_export_when_imported_into_a_fresh_home_then_the_store_is_identical(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    out = tmp_path / "out" / "BTCUSDT-1m.csv"
    args = ("--venue", "binance", "--symbol", "BTCUSDT", "--interval", "1m")
    assert cli("data", "import", str(sample_path()), *args, home=first).exit_code == 0

    exported = run_cli("data", "export", "--symbol", "BTCUSDT", "--interval", "1m", str(out), home=first)
    assert exported.returncode == 0, exported.stderr
    assert "87,840 candles written" in exported.stdout
    assert out.read_text().splitlines()[1].startswith("2024-11-01T00:00:00Z,")
    reimported = cli("data", "import", str(out), *args, home=second)
    assert reimported.exit_code == 0 and "87840 added" in reimported.stdout, reimported.output

    with CandleStore.open(first / "candles.db") as a, CandleStore.open(second / "candles.db") as b:
        assert a.read("binance", "BTCUSDT", "1m").equals(b.read("binance", "BTCUSDT", "1m"))


def test_backtest_when_gap_then_refused_until_allowed_or_repaired_with_fill(tmp_path: Path) -> None:
    lines = RAW_DAY.read_text().splitlines(keepends=True)
    holed = tmp_path / "BTCUSDT-1m-2024-12-31.csv"
    holed.write_text("".join(lines[:600] + lines[640:]))  # 10:00 to 10:39 missing
    home = tmp_path / "home"
    assert cli("data", "import", str(holed), home=home).exit_code == 0
    bt = ("backtest", "run", "--strategy", "sma_cross", "--symbol", "BTCUSDT", "--interval", "5m", "--json")

    refused = cli(*bt, home=home)
    assert refused.exit_code == 1
    assert "binance BTCUSDT 5m has 1 unrepaired gap(s), 8 bars missing" in refused.stderr
    assert cli(*bt, "--allow-gaps", home=home).exit_code == 0

    not_filled = cli("data", "repair", "--symbol", "BTCUSDT", "--interval", "1m", "--no-fetch", home=home)
    assert not_filled.exit_code == 1 and "1 gaps remain" in not_filled.stderr
    filled = cli("data", "repair", "--symbol", "BTCUSDT", "--interval", "1m", "--no-fetch", "--fill", home=home)
    assert filled.exit_code == 0, filled.stderr
    assert "40 bars filled" in filled.stdout

    listed = json.loads(cli("data", "list", "--json", home=home).stdout)
    assert [(s["rows"], s["gaps"], s["filled_bars"]) for s in listed] == [(1440, 0, 40)]
    checked = json.loads(cli("data", "check", "--json", home=home).stdout)
    assert checked["ok"] is True and checked["series"][0]["filled"][0]["start"] == "2024-12-31 10:00"
    ran = cli(*bt, home=home)
    assert ran.exit_code == 0, ran.stderr
    assert json.loads(ran.stdout)["metrics"]["bars"] == 288


def test_repair_when_the_source_has_the_bars_then_gaps_and_filled_bars_become_real(
    fake_bybit: FakeBybit, tmp_path: Path
) -> None:
    real = candles(WIF_1M, 5_000, 1_500)
    without = np.ones(len(real), dtype=bool)
    without[300:320] = without[900:905] = False
    fake_bybit.set_candles("WIFUSDT", "1", rows(real.take(without)))  # the venue itself lacks 25 bars
    home = tmp_path / "home"
    at = ("--set", f"exchanges.bybit.base_url={fake_bybit.base_url}")
    span = ("--start", str(int(real.ts[0])), "--end", str(int(real.ts[-1]) + MINUTE))
    downloaded = cli(*at, "data", "download", "--symbol", "WIFUSDT", "--interval", "1m", *span, home=home)
    assert downloaded.exit_code == 0, downloaded.output
    repair = (*at, "data", "repair", "--symbol", "WIFUSDT", "--interval", "1m")

    first = cli(*repair, "--end", str(int(real.ts[600])), "--fill", home=home)  # only the first gap
    assert first.exit_code == 0, first.output
    assert "1 gaps (20 bars) before, 0 bars refetched" in first.stdout and "20 bars filled" in first.stdout

    fake_bybit.set_candles("WIFUSDT", "1", rows(real))  # the venue now has them all
    fake_bybit.reset_log()
    second = run_cli(*repair, home=home)
    assert second.returncode == 0, second.stderr
    assert "5 bars refetched, 20 filled bars replaced by real ones" in second.stdout
    assert "0 gaps (0 bars) left" in second.stdout
    assert all(not r.has_auth for r in fake_bybit.requests)
    with CandleStore.open(home / "candles.db") as store:
        assert store.read("bybit", "WIFUSDT", "1m").equals(real)
        assert read_filled(store, "bybit", "WIFUSDT", "1m") == ()


def test_sync_when_universe_configured_then_downloads_then_only_tops_up(fake_bybit: FakeBybit, tmp_path: Path) -> None:
    real = candles(BTC_1H, 3_000, 100)
    now_bar = open_bar_start("1h", time.time_ns() // 1_000_000)
    shifted = CandleArrays.from_columns(
        now_bar - (len(real) - 1 - np.arange(len(real))) * HOUR, real.open, real.high, real.low, real.close, real.volume
    )  # real bars moved in time so that the newest is the open one
    fake_bybit.set_candles("BTCUSDT", "60", rows(shifted))
    config = tmp_path / "universe.yaml"
    config.write_text(
        "data:\n  universe:\n    - {symbol: BTCUSDT, interval: 1h, source: bybit, category: linear, history: 2d}\n"
    )
    home = tmp_path / "home"
    at = ("--config", str(config), "--set", f"exchanges.bybit.base_url={fake_bybit.base_url}")

    first = run_cli(*at, "data", "sync", home=home)
    assert first.returncode == 0, first.stderr
    # two days back from now, aligned up to the hour: 47 closed bars (the newest is still open)
    assert "bybit BTCUSDT 1h trade: 1 missing ranges, 47 bars fetched, 47 added" in first.stdout
    again = cli(*at, "data", "sync", home=home)
    assert again.exit_code == 0 and "0 bars fetched, 0 added" in again.stdout, again.output

    with CandleStore.open(home / "candles.db") as store:
        assert store.read("bybit", "BTCUSDT", "1h").equals(shifted.take(slice(-48, -1)))
