"""`workstation backtest` binds a strategy's declared inputs (funding, a peer's candles) from the
store it backtests on, and names the missing series when one is not stored."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from tests.conftest import SHARED_DATA
from tests.integration.cli_runner import run_cli
from workstation.data.arrays import CandleArrays
from workstation.data.store import CandleStore

H1 = SHARED_DATA / "ohlcv" / "bybit_linear" / "5pairs_1h_2023-11_2026-02"
BARS = 1500
ARGS = ("--strategy", "ml_classifier", "--symbol", "ETHUSDT", "--interval", "1h", "--venue", "bybit")
PARAMS = tuple(
    arg
    for kv in ("features=2", "peer=1", "train=400", "refit=240", "horizon=6", "embargo=6", "threshold=0.52", "short=1")
    for arg in ("--param", kv)
)


def _store(home: Path, *, with_peer: bool) -> None:
    with CandleStore.open(home / "candles.db") as s:
        for sym, prefix in (("ETHUSDT", "ETH"), ("BTCUSDT", "BTC"))[: 2 if with_peer else 1]:
            frame = pd.read_feather(H1 / f"{prefix}_USDT_USDT-1h-futures.feather").set_index("date").iloc[:BARS]
            s.upsert_candles("bybit", sym, "1h", CandleArrays.from_frame(frame))
        funding = pd.read_feather(H1 / "ETH_USDT_USDT-1h-funding_rate.feather")
        s.upsert_funding(
            "bybit", "ETHUSDT", funding["date"].astype("int64").to_numpy() // 1_000_000, funding["open"].to_numpy()
        )


def test_backtest_when_strategy_needs_funding_and_peer_then_they_are_bound_from_the_store(
    isolated_home: Path,
) -> None:
    _store(isolated_home, with_peer=True)
    done = run_cli("backtest", *ARGS, *PARAMS, "--json", home=isolated_home)
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["metrics"]["trade_count"] > 0
    assert doc["funding_settlements"] > 0 and doc["metrics"]["funding_paid"] != 0


def test_backtest_when_peer_not_stored_then_error_names_the_series_and_exit_1(isolated_home: Path) -> None:
    _store(isolated_home, with_peer=False)
    done = run_cli("backtest", *ARGS, *PARAMS, "--json", home=isolated_home)
    assert done.returncode == 1
    assert "BTCUSDT 1h candles as its peer: none are stored" in done.stderr
    assert done.stdout == ""
