"""Discovery on the shared Bybit perpetual data, through the real `workstation` command: a ranked
list with evidence (JSON and HTML), regimes over BTC's daily history, cross-market statistics."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.integration.cli_runner import run_cli
from workstation.strategies.builtin import build

DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "ohlcv" / "bybit_linear"
H1 = DATA / "5pairs_1h_2023-11_2026-02"
D1 = DATA / "5pairs_4h_1d_2023-11_2026-01"


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("discovery-home")
    files = [H1 / f"{s}_USDT_USDT-1h-{k}.feather" for s in ("BTC", "ETH", "SOL") for k in ("futures", "funding_rate")]
    files.append(D1 / "BTC_USDT_USDT-1d-futures.feather")
    r = run_cli("data", "import", "--venue", "bybit", *map(str, files), home=home)
    assert r.returncode == 0, r.stderr
    return home


def test_discover_when_real_bybit_pairs_then_ranked_candidates_with_evidence(home: Path, tmp_path: Path) -> None:
    report = tmp_path / "discovery.html"
    r = run_cli(
        "discover", "--symbols", "BTCUSDT,ETHUSDT", "--interval", "1h", "--start", "2024-03-01", "--end", "2025-03-01",
        "--budget", "70", "--families", "sma_cross,donchian,rsi_reversion,ml", "--models", "logreg",
        "--horizons", "6", "--min-train", "3000", "--fold-bars", "700", "--jobs", "2", "--top", "70",
        "--report", str(report), "--no-submit", "--json",
        home=home,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    cands = doc["candidates"]
    assert doc["symbols"] == ["BTCUSDT", "ETHUSDT"]
    assert doc["trials"] == len(cands) >= 60
    assert [c["rank"] for c in cands] == list(range(1, len(cands) + 1))
    assert {c["family"] for c in cands} == {"sma_cross", "donchian", "rsi_reversion", "ml"}
    assert {c["symbol"] for c in cands} == {"BTCUSDT", "ETHUSDT"}
    oos_bars = 365 * 24 - 1 - 3000  # bar returns after the training window
    for c in cands:
        assert 0.0 <= c["deflated_sharpe"] <= 1.0
        assert c["deflated_sharpe"] <= c["probabilistic_sharpe"] + 1e-12  # deflating only lowers it
        assert c["pbo"] is None or 0.0 <= c["pbo"] <= 1.0
        assert c["oos"]["bars"] == oos_bars
        p = c["probability_of_success"]
        assert p["folds"] == 9 and p["p05"] <= p["mean"] <= p["p95"]
        assert sum(r["bars"] for r in c["regimes"].values()) == oos_bars
        assert c["full_history"]["fees_paid"] >= 0.0 and c["reasons"]
    # ranked: those that pass every gate first, then by deflated Sharpe
    keys = [(c["passed"], c["deflated_sharpe"]) for c in cands]
    assert keys == sorted(keys, reverse=True)
    assert doc["deflation"]["expected_max_sharpe_per_bar"] > 0
    assert {(g["symbol"], g["family"]) for g in doc["groups"]} >= {("BTCUSDT", "ml"), ("ETHUSDT", "donchian")}
    ml = [c for c in cands if c["family"] == "ml"]
    assert ml and all(c["strategy"] == "ml_classifier" for c in ml)
    for c in ml:  # the params alone rebuild the evaluated strategy
        assert build(c["strategy"], c["params"]).values() == c["params"]
    bands = [c["monte_carlo"] for c in cands if c["oos"]["trades"] >= 20]
    assert bands and all(b["oos_paths"]["method"] == "bootstrap" and b["window"] == 20 for b in bands)
    rules = [g for g in doc["groups"] if g["family"] != "ml"]
    assert all(g["walk_forward_selection"]["method"].startswith("backtest.walkforward") for g in rules)
    html = report.read_text(encoding="utf-8")
    assert "<svg" in html and "deflated Sharpe" in html and cands[0]["label"].split("(")[0] in html


def test_regimes_when_btc_daily_history_then_labels_cover_it(home: Path) -> None:
    r = run_cli("regimes", "--symbol", "BTCUSDT", "--interval", "1d", "--json", home=home)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["bars"] == 749
    periods = doc["periods"]
    assert sum(p["bars"] for p in periods) == doc["bars"]
    assert [p["regime"] for p in periods if p["regime"] == "unknown"] == ["unknown"]  # the warm-up only
    assert periods[0]["regime"] == "unknown" and periods[0]["bars"] <= doc["window"]
    names = {p["regime"] for p in periods}
    assert {n.split("/")[0] for n in names - {"unknown"}} == {"bull", "bear", "sideways"}
    assert {n.split("/")[1] for n in names - {"unknown"}} == {"low-vol", "high-vol"}
    s = doc["summary"]
    bull = [v["market_return"] for k, v in s.items() if k.startswith("bull")]
    bear = [v["market_return"] for k, v in s.items() if k.startswith("bear")]
    assert min(bull) > 0 > max(bear)


def test_correlations_when_three_pairs_then_symmetric_matrix_and_lead_lag(home: Path) -> None:
    r = run_cli("correlations", "--symbols", "BTCUSDT,ETHUSDT,SOLUSDT", "--interval", "1h", "--json", home=home)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    m = doc["matrix"]
    assert all(m[i][i] == pytest.approx(1.0) for i in range(3))
    assert all(m[i][j] == pytest.approx(m[j][i]) for i in range(3) for j in range(3))
    assert 0.5 < m[0][1] < 1.0
    pair = doc["pairs"][0]
    assert set(pair["lead_lag"]) == {str(k) for k in range(-6, 7)}
    assert pair["lead_lag"]["0"] == pytest.approx(pair["correlation"], abs=1e-9)


@pytest.mark.parametrize("columns", [80, 120])
def test_discover_table_when_terminal_is_narrow_then_rows_fit_and_numbers_stay_whole(home: Path, columns: int) -> None:
    r = run_cli(
        "discover", "--symbols", "BTCUSDT", "--interval", "1h", "--start", "2024-03-01", "--end", "2024-12-01",
        "--budget", "30", "--families", "sma_cross,rsi_reversion,ml", "--models", "logreg", "--horizons", "6",
        "--min-train", "2500", "--fold-bars", "700", "--jobs", "1", "--top", "5", "--no-submit",
        home=home, env={"COLUMNS": str(columns)},
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert max(len(line) for line in lines) <= columns
    assert "…" not in r.stdout  # nothing cut short: numbers never wrap, the candidate column folds
    header = next(line for line in lines if "Sharpe" in line)
    assert all(h in header for h in ("candidate", "return", "trades", "DSR", "PBO", "P(win)", "verdict"))
    rows = [line for line in lines if line[:4].strip().isdigit()]
    assert len(rows) == 5 and all("BTCUSDT" in row for row in rows)
