"""`workstation trade --env paper --interval 1h` on a home whose store holds only the bundled 1m
sample: the replay builds 1h bars from the 1m ones exactly as `workstation backtest --interval 1h`
does, trades them as that backtest trades (every fill's bar, quantity, price and fee, and the final
equity), and a restart on the same home goes on after the last bar it saw (nothing new to feed).
Real processes, one home."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tests.integration.cli_runner import run_cli
from workstation.data.store import CandleStore
from workstation.paper.session import candle_store_path

TRADE = ("--set", "debug_mode=false", "trade", "--strategy", "sma_cross", "--symbol", "BTCUSDT",
         "--interval", "1h", "--env", "paper", "--no-risk")  # fmt: skip
DONE = re.compile(r"DONE (\d+) new candle\(s\);.* fill\(s\);.*equity (-?\d+\.\d+)")


def ms(iso: str) -> int:
    return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000)


def paper_fills(home: Path) -> list[dict[str, Any]]:
    shown = run_cli("orders", "--json", home=home)
    assert shown.returncode == 0, shown.stderr
    doc = json.loads(shown.stdout)
    assert not doc["protective_fills"]
    fills = [f | {"side": o["side"]} for o in doc["orders"] for f in o["fills"]]
    return sorted(fills, key=lambda f: int(f["ts"]))


def test_trade_when_store_holds_only_1m_then_paper_1h_replay_equals_the_1h_backtest_and_resumes(
    tmp_path: Path,
) -> None:
    loaded = run_cli("data", "load-sample", home=tmp_path)
    assert loaded.returncode == 0, loaded.stdout + loaded.stderr
    with CandleStore.open(candle_store_path(tmp_path)) as store:
        assert {(s.symbol, s.interval) for s in store.series()} == {("BTCUSDT", "1m")}  # no 1h stored

    first = run_cli(*TRADE, home=tmp_path)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "no BTCUSDT 1h candles" not in first.stdout + first.stderr
    assert "candles from binance, built from its 1m candles" in first.stdout
    done = DONE.search(first.stdout)
    assert done is not None, first.stdout[-2000:]
    bars, equity = int(done.group(1)), float(done.group(2))

    bt = run_cli("backtest", "run", "--strategy", "sma_cross", "--symbol", "BTCUSDT", "--interval", "1h", "--json",
                 home=tmp_path)  # fmt: skip
    assert bt.returncode == 0, bt.stdout + bt.stderr
    report = json.loads(bt.stdout)
    assert report["interval"] == "1h" and report["sizing"]["sizer"] == "fraction"
    assert bars == report["metrics"]["bars"] == 1464  # 61 days of 1h bars

    # the backtest's trades as venue fills: entry, then exit unless still open at the end
    expected: list[tuple[int, str, float, float]] = []
    fees: list[float] = []
    for t in report["trades"]:
        buy, sell = ("Buy", "Sell") if t["side"] == "long" else ("Sell", "Buy")
        expected.append((ms(t["entry_time"]), buy, t["qty"], t["entry_price"]))
        if t["exit_reason"] != "end":
            expected.append((ms(t["exit_time"]), sell, t["qty"], t["exit_price"]))
        fees.append(t["fees"])
    fills = paper_fills(tmp_path)
    assert len(report["trades"]) >= 10 and len(fills) == len(expected)
    for fill, (ts, side, qty, price) in zip(fills, expected, strict=True):
        assert (int(fill["ts"]), fill["side"]) == (ts, side)
        assert float(fill["qty"]) == pytest.approx(qty, rel=1e-12)
        assert float(fill["price"]) == pytest.approx(price, rel=1e-12)
    paid = [float(f["fee"]) for f in fills]
    per_trade = [sum(paid[i : i + 2]) for i in range(0, len(paid), 2)]  # the open last trade: its entry fee
    assert per_trade == pytest.approx(fees, rel=1e-9)
    assert equity == pytest.approx(report["metrics"]["final_equity"], abs=0.005)

    # a restart on the same home goes on after the last 1h bar the venue saw: nothing is fed twice
    again = run_cli(*TRADE, home=tmp_path)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "RESTORED paper account" in again.stdout and "FILL " not in again.stdout
    redone = DONE.search(again.stdout)
    assert redone is not None and int(redone.group(1)) == 0
    assert float(redone.group(2)) == pytest.approx(equity, abs=0.005)
    assert len(paper_fills(tmp_path)) == len(fills)
