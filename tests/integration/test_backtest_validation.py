"""Sweeps, walk-forward, Monte Carlo and the HTML report on real Bybit BTCUSDT 1h candles."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from workstation.backtest.costs import CostModel
from workstation.backtest.montecarlo import monte_carlo
from workstation.backtest.report import render_report
from workstation.backtest.runner import combinations, parse_grid, run_backtest, sweep
from workstation.backtest.walkforward import walk_forward
from workstation.commands.backtest import app
from workstation.data.arrays import CandleArrays
from workstation.data.sample import load_bundled_sample
from workstation.data.store import CandleStore
from workstation.strategies.builtin import build

DIR = Path(__file__).resolve().parents[3] / "shared" / "data" / "ohlcv" / "bybit_linear" / "5pairs_1h_2023-11_2026-02"
DAY = 86_400_000
COST = CostModel(taker_fee=0.0006, slippage_bps=1.0, volatility_impact=0.01)


@pytest.fixture(scope="module")
def btc() -> CandleArrays:
    frame = pd.read_feather(DIR / "BTC_USDT_USDT-1h-futures.feather").set_index("date")
    return CandleArrays.from_frame(frame).take(slice(0, 9000))  # about a year


@pytest.fixture(scope="module")
def combos() -> list[dict]:
    return list(combinations("sma_cross", [parse_grid("fast=5:25:10"), parse_grid("slow=30:90:30")]))


def test_sweep_when_cached_on_threads_or_processes_then_metrics_equal_single_runs_exactly(
    btc: CandleArrays,
) -> None:
    grid = list(combinations("ema_cross", [parse_grid("fast=5:20:5"), parse_grid("slow=30,60")], {"short": 1}))
    funding = np.where(np.arange(len(btc)) % 8 == 0, 1e-4, 0.0)
    threads = sweep("ema_cross", grid, btc, cost=COST, funding=funding, jobs=2)
    procs = sweep("ema_cross", grid, btc, cost=COST, funding=funding, jobs=2, backend="process")
    for params, a, b in zip(grid, threads, procs, strict=True):
        single = run_backtest(build("ema_cross", params), btc, COST, funding=funding).metrics
        assert a == b == {"params": params, "metrics": single}


def test_walk_forward_when_test_data_changes_then_choices_made_before_it_do_not(
    btc: CandleArrays, combos: list[dict]
) -> None:
    wf = walk_forward("sma_cross", combos, btc, train_ms=90 * DAY, test_ms=30 * DAY, cost=COST, jobs=2)
    assert len(wf.windows) >= 8
    for w in wf.windows:
        assert w.train_end_ts <= w.test_start_ts and w.window.train_end <= w.window.test_start
        assert btc.ts[w.window.train_end - 1] < w.test_start_ts
    # scramble everything from window 3's test start on: windows 0..3 must pick the same parameters
    k = 3
    cut = wf.windows[k].window.test_start
    rng = np.random.default_rng(0)
    noise = np.concatenate([np.ones(cut), rng.uniform(0.8, 1.2, len(btc) - cut)])
    cols = [btc.open * noise, btc.high * noise, btc.low * noise, btc.close * noise, btc.volume * noise]
    changed = CandleArrays.from_columns(btc.ts, *cols)
    wf2 = walk_forward("sma_cross", combos, changed, train_ms=90 * DAY, test_ms=30 * DAY, cost=COST, jobs=2)
    assert [w.params for w in wf2.windows[: k + 1]] == [w.params for w in wf.windows[: k + 1]]
    assert [w.in_sample for w in wf2.windows[: k + 1]] == [w.in_sample for w in wf.windows[: k + 1]]
    # and the chosen parameters are the in-sample best, checked with plain single runs
    w = wf.windows[1]
    train = btc.take(slice(w.window.train_start, w.window.train_end))
    sharpes = [run_backtest(build("sma_cross", c), train, COST).metrics["sharpe"] for c in combos]
    assert w.params == combos[int(np.argmax(sharpes))]


def test_walk_forward_when_stitched_then_equity_continues_across_windows_and_compounds(
    btc: CandleArrays, combos: list[dict]
) -> None:
    for anchored in (False, True):
        wf = walk_forward(
            "sma_cross", combos, btc, train_ms=60 * DAY, test_ms=45 * DAY, anchored=anchored, cost=COST, cash=5000
        )
        eq, ts = wf.result.equity, wf.result.ts
        assert np.all(np.diff(ts) > 0) and ts[0] == wf.windows[0].test_start_ts
        starts = np.searchsorted(ts, [w.test_start_ts for w in wf.windows])
        assert eq[0] == 5000
        for s in starts[1:]:
            assert eq[s] == eq[s - 1]  # the next window starts flat with the last window's equity
        growth = np.prod([1 + w.out_of_sample["total_return"] for w in wf.windows])
        assert eq[-1] == pytest.approx(5000 * growth, rel=1e-9)
        assert wf.metrics["final_equity"] == eq[-1]
        train_starts = {w.train_start_ts for w in wf.windows}
        assert (len(train_starts) == 1) is anchored


def test_report_when_written_then_every_section_and_well_formed_svg_charts(
    btc: CandleArrays, combos: list[dict]
) -> None:
    bt = run_backtest(build("sma_cross", {"fast": 10, "slow": 50}), btc, COST)
    wf = walk_forward("sma_cross", combos, btc, train_ms=90 * DAY, test_ms=30 * DAY, cost=COST)
    mc = monte_carlo(bt.result, iterations=500, seed=1)
    page = render_report(
        title="sma_cross <test>", subtitle="BTCUSDT 1h", candles=btc, result=bt.result, metrics=bt.metrics,
        benchmark=bt.benchmark, benchmark_metrics=bt.benchmark_metrics, walkforward=wf, montecarlo=mc,
    )  # fmt: skip
    for section in ("metrics", "equity", "price", "walkforward", "montecarlo", "trades"):
        assert f"<h2 id='{section}'>" in page
    assert (
        "sma_cross &lt;test&gt;" in page
        and "<script" not in page
        and "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    )
    charts = re.findall(r"<svg.*?</svg>", page, flags=re.S)
    assert len(charts) >= 8
    for chart in charts:
        root = ET.fromstring(chart)
        assert root.tag.endswith("svg") and len(root.findall(".//{http://www.w3.org/2000/svg}polyline")) >= 1
    assert len(page) < 2_000_000
    first = bt.to_dict()["trades"][0]
    assert first["entry_time"] in page


@pytest.fixture(scope="module")
def sample_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("bt-validate") / "candles.db"
    with CandleStore.open(path) as store:
        load_bundled_sample(store)
    return str(path)


def test_cli_when_walkforward_and_montecarlo_json_then_windows_trades_and_band(sample_db: str, tmp_path: Path) -> None:
    runner = CliRunner()
    base = ["--strategy", "sma_cross", "--symbol", "BTCUSDT", "--interval", "15m", "--db", sample_db]
    report = tmp_path / "wf.html"
    wf = runner.invoke(
        app,
        ["walkforward", *base, "--grid", "fast=5,10", "--grid", "slow=20,40", "--train", "14d", "--test", "7d",
         "--anchored", "--json", "--report", str(report)],
    )  # fmt: skip
    assert wf.exit_code == 0, wf.output
    doc = json.loads(wf.stdout)
    assert doc["anchored"] is True and len(doc["windows"]) >= 5 and doc["trades"]
    assert all(w["train_end"] == w["test_start"] for w in doc["windows"])
    assert "<h2 id='walkforward'>" in report.read_text()
    args = ["montecarlo", *base, "--iterations", "500", "--seed", "4", "--json"]
    runs = [runner.invoke(app, args) for _ in range(2)]
    assert runs[0].exit_code == 0, runs[0].output
    a, b = (json.loads(r.stdout) for r in runs)
    assert a["montecarlo"] == b["montecarlo"] and a["montecarlo"]["iterations"] == 500
    assert a["trades"] and {"p5", "p50", "p95", "original"} <= set(a["montecarlo"]["max_drawdown"])
