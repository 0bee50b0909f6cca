"""`workstation discover --ml-features funding --peer BTCUSDT` on real Bybit 1h data: the ML
candidates carry features=2 and the peer in their params, each equals `workstation backtest` of that
candidate with those params, the settings show in --json and the report, and a series that is not
stored is named."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import SHARED_DATA
from tests.integration.cli_runner import run_cli
from workstation.data.arrays import CandleArrays
from workstation.data.store import CandleStore

H1 = SHARED_DATA / "ohlcv" / "bybit_linear" / "5pairs_1h_2023-11_2026-02"
BARS = 1800
DISCOVER = (
    "discover", "--interval", "1h", "--families", "ml", "--models", "logreg", "--horizons", "6",
    "--budget", "12", "--min-train", "1000", "--fold-bars", "240", "--embargo", "6", "--slippage-bps", "1",
    "--backend", "serial", "--top", "12", "--no-submit", "--json",
)  # fmt: skip
COMPARED = ("total_return", "sharpe", "max_drawdown", "trade_count", "fees_paid", "funding_paid", "exposure")


def _store(home: Path, *, peer: bool = True, eth_funding: bool = True) -> None:
    with CandleStore.open(home / "candles.db") as s:
        for sym, prefix in (("ETHUSDT", "ETH"), ("BTCUSDT", "BTC")):
            if sym == "BTCUSDT" and not peer:
                continue
            frame = pd.read_feather(H1 / f"{prefix}_USDT_USDT-1h-futures.feather").set_index("date").iloc[:BARS]
            s.upsert_candles("bybit", sym, "1h", CandleArrays.from_frame(frame))
            if sym == "ETHUSDT" and not eth_funding:
                continue
            funding = pd.read_feather(H1 / f"{prefix}_USDT_USDT-1h-funding_rate.feather")
            ts = funding["date"].astype("int64").to_numpy() // 1_000_000
            s.upsert_funding("bybit", sym, ts, funding["open"].to_numpy())


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("discover-ml-inputs")
    _store(home)
    return home


def test_discover_when_funding_and_peer_features_then_candidates_carry_them_and_equal_backtest(
    home: Path, tmp_path: Path
) -> None:
    report = tmp_path / "discovery.html"
    r = run_cli(
        *DISCOVER, "--symbols", "ETHUSDT,BTCUSDT", "--ml-features", "funding", "--peer", "BTCUSDT",
        "--report", str(report), home=home, timeout=300,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["ml"] == {"features": "funding", "features_level": 2, "peer": "BTCUSDT"}
    cands = doc["candidates"]
    assert len(cands) == 12 and {c["symbol"] for c in cands} == {"ETHUSDT", "BTCUSDT"}
    for c in cands:
        assert c["strategy"] == "ml_classifier" and c["params"]["features"] == 2
        # ETHUSDT gets BTCUSDT as its peer (code 1); BTCUSDT is never its own peer
        assert c["params"]["peer"] == (1 if c["symbol"] == "ETHUSDT" else 0)
        assert ",funding" in c["label"] and (",peer=BTCUSDT" in c["label"]) == (c["symbol"] == "ETHUSDT")
    page = report.read_text(encoding="utf-8")
    assert "feature set <b>funding</b> (features=2), peer <b>BTCUSDT</b>" in page

    eth = [c for c in cands if c["symbol"] == "ETHUSDT" and c["full_history"]["trade_count"] > 0]
    btc = [c for c in cands if c["symbol"] == "BTCUSDT" and c["full_history"]["trade_count"] > 0]
    assert eth and btc
    for c in (eth[0], btc[0]):  # the candidate discovery ranked is exactly what `backtest` runs
        params = [a for k, v in c["params"].items() for a in ("--param", f"{k}={v}")]
        bt = run_cli(
            "backtest", "--strategy", "ml_classifier", "--symbol", c["symbol"], "--interval", "1h",
            "--venue", "bybit", "--slippage-bps", "1", *params, "--json", home=home, timeout=120,
        )  # fmt: skip
        assert bt.returncode == 0, bt.stderr
        got = json.loads(bt.stdout)
        assert got["params"] == c["params"]
        assert {k: got["metrics"][k] for k in COMPARED} == {k: c["full_history"][k] for k in COMPARED}
        assert got["metrics"]["funding_paid"] != 0.0


def test_discover_when_default_ml_inputs_then_no_funding_or_peer_in_params(home: Path) -> None:
    r = run_cli(*DISCOVER, "--symbols", "ETHUSDT", "--no-peer", "--budget", "6", home=home, timeout=300)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["ml"] == {"features": "technical", "features_level": 1, "peer": None}
    assert {(c["params"]["features"], c["params"]["peer"]) for c in doc["candidates"]} == {(1, 0)}


def test_discover_when_funding_not_stored_then_error_names_the_series(isolated_home: Path) -> None:
    home = isolated_home
    _store(home, eth_funding=False)
    r = run_cli(*DISCOVER, "--symbols", "ETHUSDT", "--ml-features", "funding", home=home, timeout=120)
    assert r.returncode == 1 and r.stdout == ""
    assert "needs the funding history of bybit ETHUSDT: none is stored" in r.stderr


def test_discover_when_peer_not_stored_then_error_names_the_series(isolated_home: Path) -> None:
    home = isolated_home
    _store(home, peer=False)
    r = run_cli(*DISCOVER, "--symbols", "ETHUSDT", "--peer", "btcusdt", home=home, timeout=120)
    assert r.returncode == 1 and r.stdout == ""
    assert "needs bybit BTCUSDT 1h candles as its peer: none are stored" in r.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--ml-features", "everything"), "--ml-features 'everything' is not one of: returns (0), technical (1)"),
        (("--peer", "DOGEUSDT"), "--peer 'DOGEUSDT' is not a known peer; known: BTCUSDT, ETHUSDT"),
        (("--peer", "BTCUSDT", "--no-peer"), "give --peer SYMBOL or --no-peer, not both"),
        (("--families", "sma_cross", "--peer", "BTCUSDT"), "add ml to --families"),
    ],
)
def test_discover_when_ml_input_options_are_bad_then_refused_with_the_reason(
    home: Path, args: tuple[str, ...], message: str
) -> None:
    r = run_cli(*DISCOVER, "--symbols", "ETHUSDT", *args, home=home, timeout=60)
    assert r.returncode == 1 and r.stdout == ""
    assert message in r.stderr
