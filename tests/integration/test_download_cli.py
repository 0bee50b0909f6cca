"""`workstation data download | update | instruments | compare` as a real process against FakeBybit."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from tests.fakes.bybit_server import FakeBybit
from tests.fakes.real_candles import BTC_1H, BTC_1H_MARK, candles, funding, rows
from tests.integration.cli_runner import run_cli
from workstation.cli import app
from workstation.data.intervals import format_ms
from workstation.data.store import CandleStore

HOUR = 3_600_000
runner = CliRunner()


def test_cli_download_when_run_twice_then_stores_once_and_update_compare_instruments_work(
    fake_bybit: FakeBybit, tmp_path: Path
) -> None:
    real = candles(BTC_1H, 1_000, 1_500)
    first_ts, end_ts = int(real.ts[0]), int(real.ts[-1]) + HOUR
    mark = candles(BTC_1H_MARK).between(first_ts, end_ts)
    ts, rate = funding()
    inside = (ts >= first_ts) & (ts < end_ts)
    fake_bybit.set_candles("BTCUSDT", "60", rows(real.take(slice(0, 1_200))))
    fake_bybit.set_mark_candles("BTCUSDT", "60", rows(mark))
    fake_bybit.set_funding("BTCUSDT", list(zip(ts.tolist(), rate.tolist(), strict=True)))
    home = tmp_path / "home"
    at = ("--set", f"exchanges.bybit.base_url={fake_bybit.base_url}")
    start, end = format_ms(first_ts).replace(" ", "T"), str(end_ts)
    args = ("data", "download", "--source", "bybit", "--symbol", "BTCUSDT", "--interval", "1h", "--start", start)

    first = run_cli(*at, *args, "--end", end, "--mark", "--funding", home=home)
    assert first.returncode == 0, first.stderr
    assert (
        "1,200 bars fetched, 1,200 added" in first.stdout and f"funding: {inside.sum()} rates fetched" in first.stdout
    )
    again = run_cli(*at, *args, "--end", end, home=home)
    assert again.returncode == 0 and "0 added" in again.stdout

    fake_bybit.set_candles("BTCUSDT", "60", rows(real))
    updated = run_cli(*at, "data", "update", home=home)
    assert updated.returncode == 0, updated.stderr
    assert "bybit BTCUSDT 1h trade: 1 missing ranges, 300 bars fetched, 300 added" in updated.stdout

    compared = run_cli(
        *at, "data", "compare", "--symbol", "BTCUSDT", "--interval", "1h", "--sources", "store:bybit,ccxt:bybit",
        "--start", start, "--end", end, "--json", home=home,
    )  # fmt: skip
    assert compared.returncode == 0, compared.stderr
    report = json.loads(compared.stdout)
    assert (report["ok"], report["common"], report["missing_in_a"]) == (True, 1_500, 0)

    listed = run_cli(*at, "data", "instruments", "--source", "bybit", home=home)
    assert listed.returncode == 0 and "bybit linear: 5 instruments stored" in listed.stdout

    with CandleStore.open(home / "candles.db") as store:
        assert store.read("bybit", "BTCUSDT", "1h").equals(real)
        assert store.read("bybit", "BTCUSDT", "1h", kind="mark").equals(mark)
        assert np.array_equal(store.read_funding("bybit", "BTCUSDT").ts, ts[ts >= first_ts])  # update: to now
    assert all(not r.has_auth for r in fake_bybit.requests)  # public data: no key was ever used


def test_cli_download_when_bybit_answers_403_then_exit_1_with_the_ban_explained(
    fake_bybit: FakeBybit, tmp_path: Path
) -> None:
    fake_bybit.set_candles("BTCUSDT", "60", rows(candles(BTC_1H, 0, 100)))
    fake_bybit.http_status_next("/v5/market/kline", 403)
    result = runner.invoke(
        app,
        ["--home", str(tmp_path / "home"), "--set", f"exchanges.bybit.base_url={fake_bybit.base_url}", "data",
         "download", "--symbol", "BTCUSDT", "--interval", "1h", "--start", "2023-11-29", "--end", "2023-12-01"],
    )  # fmt: skip
    assert result.exit_code == 1
    assert "HTTP 403" in result.stderr and "at least 10 minutes" in result.stderr
    assert "run the same command again to resume" in result.stderr
    assert len(fake_bybit.requests_to("/v5/market/kline")) == 1


def test_cli_download_when_source_unknown_then_exit_2(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        ["--home", str(tmp_path / "home"), "data", "download", "--source", "nope", "--symbol", "X", "--interval",
         "1h", "--start", "2024-01-01"],
    )  # fmt: skip
    assert result.exit_code == 2 and "unknown source 'nope'" in result.stderr
