"""The backtest-vs-live report of a TESTNET candidate has its backtest side: `workstation trade --env
testnet` (a real process, debug mode off, pybit to the streaming fake Bybit, real BTC 1h candles)
trades candidate 1, the bars it traded on are in the home's candle store under "bybit-testnet"
(where the live trader keeps them), and `graduation report 1 --json` backtests the same strategy on
them from the bar before its first fill, warmed on the bars before: expected against actual trade by
trade, slippage per trade, fees on both sides at Bybit's linear taker rate.

The fake's matching clock follows the streamed bars (a fill is dated a second into the bar after
the one the trader acted on, as on Bybit), while requests are signed and checked on the wall clock.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.fakes.bybit_public_ws import FakePublicWs
from tests.fakes.bybit_server import FakeBybit
from tests.fakes.bybit_ws import StreamingFakeBybit
from tests.integration.cli_runner import run_cli
from tests.integration.live_trader import HOUR, LiveTrader, live_trader, real_hours, serve_history
from tests.integration.test_graduation_testnet_ledger import TESTNET_OK, candidate_in_testnet, sets
from workstation.data.arrays import CandleArrays
from workstation.data.store import CandleStore

LIVE_BARS = 24
MOVE = 10.0  # USDT: where the market is when the trader's orders arrive, against the bar's close
TAKER_BPS = 5.5  # Bybit linear taker fee, what the fake charges and CostModel() models


def feed_on_bar_clock(trader: LiveTrader, fake: FakeBybit, public: FakePublicWs, live: CandleArrays) -> None:
    """Each bar as the venue sends it, the fake's matching clock inside it while its price moves (a
    stop fills in the bar) and a second into the next bar when it is confirmed: the trader's orders
    on it fill then, at a price `MOVE` above the close (the market moved on before they arrived)."""
    clock = {"now": int(live.ts[0])}
    fake.exchange.now_ms = lambda: clock["now"]
    deadline = time.monotonic() + 30
    while public.live_subscribers < 1:
        assert time.monotonic() < deadline, "the trader never subscribed to the kline topic"
        time.sleep(0.05)
    for bar in live.candles():
        clock["now"] = bar.ts + HOUR - 1_000
        fake.set_mark_price("BTCUSDT", str(bar.close))
        public.push_kline("BTCUSDT", "60", bar.ts, bar.open, bar.high, bar.low, bar.open, bar.volume, confirm=False)
        clock["now"] = bar.ts + HOUR + 1_000
        fake.set_mark_price("BTCUSDT", str(round(bar.close + MOVE, 1)))
        public.push_kline("BTCUSDT", "60", bar.ts, bar.open, bar.high, bar.low, bar.close, bar.volume, confirm=True)
        trader.wait_for(f"BAR BTCUSDT {bar.ts} ")


def stored_bars(home: Path) -> CandleArrays:
    with CandleStore.open(home / "candles.db") as store:
        return store.read("bybit-testnet", "BTCUSDT", "1h")


def test_report_when_a_testnet_candidate_traded_then_its_fills_are_matched_against_a_backtest_of_the_stored_bars(
    tmp_path: Path, public_ws: FakePublicWs
) -> None:
    home = tmp_path / "home"
    candidate_in_testnet(home)
    warm, live = real_hours(200, LIVE_BARS)
    with StreamingFakeBybit() as fake:
        serve_history(fake, warm)
        with live_trader(home, fake, public_ws, "--bars", str(LIVE_BARS), debug=False, stream_url=fake.ws.url) as t:
            t.wait_for("READY BTCUSDT 1h")
            feed_on_bar_clock(t, fake, public_ws, live)
            out = t.finish()
        assert t.process.returncode == 0, out
    # the live trader kept the bars it traded on: its warm-up and every confirmed bar
    assert stored_bars(home).ts.tolist() == CandleArrays.concat([warm, live]).ts.tolist()

    report = run_cli("graduation", "report", "1", "--json", home=home)
    assert report.returncode == 0, report.stdout + report.stderr
    data = json.loads(report.stdout)
    assert data["venue"] == "bybit-testnet" and data["market_venue"] == "bybit-testnet"
    assert data["backtest"] is True
    # the backtest warmed on the bars before the first bar the candidate could decide on in TESTNET (the
    # first live bar: it was promoted before the trader started) and traded from it on
    first_fill = min(row["actual"]["entry_ts"] for row in data["trades"] if row["actual"] is not None)
    assert data["span"][0] == int(live.ts[0]) <= first_fill - first_fill % HOUR - HOUR
    assert data["warmup_bars"] >= 200 and data["span"][1] == int(live.ts[-1])
    assert all(row["expected"] is None or row["expected"]["entry_ts"] > data["span"][0] for row in data["trades"])
    assert data["cost"]["taker_fee"] * 1e4 == pytest.approx(TAKER_BPS)

    totals = data["totals"]
    matched = [row for row in data["trades"] if row["status"] == "matched"]
    assert totals["matched"] == len(matched) > 0, data["trades"]
    for row in matched:
        # the backtest fills at the next open (the close it acted on, in these bars), the venue MOVE away
        e, a = row["expected"], row["actual"]
        assert a["entry_ts"] - a["entry_ts"] % HOUR == e["entry_ts"] and a["side"] == e["side"]
        assert a["entry_price"] == pytest.approx(e["entry_price"] + MOVE)
        assert row["entry_slippage_bps"] == pytest.approx(e["side"] * MOVE / e["entry_price"] * 1e4)
        if e["exit_price"] is not None and a["exit_price"] is not None:
            assert row["exit_slippage_bps"] == pytest.approx(
                -e["side"] * (a["exit_price"] - e["exit_price"]) / e["exit_price"] * 1e4
            )
        assert row["actual_fee_bps"] == pytest.approx(TAKER_BPS, rel=1e-3)
        assert row["expected_fee_bps"] == pytest.approx(TAKER_BPS, rel=1e-3)
    assert totals["mean_entry_slippage_bps"] > 0  # entries cost MOVE
    assert totals["expected_fees"] > 0 and totals["actual_fees"] > 0
    assert totals["actual_funding"] == 0.0 and data["funding_settlements"] == []  # the fake settled none (no rates)

    text = run_cli("graduation", "report", "1", home=home)
    assert "backtest on bybit-testnet 1h" in text.stdout and "taker fee 5.5 bp" in text.stdout, text.stdout

    judged = run_cli(*sets(*TESTNET_OK), "graduation", "evaluate", "1", home=home)
    assert judged.returncode == 0, judged.stdout + judged.stderr
    measured = json.loads(judged.stdout.split("measured on bybit-testnet: ", 1)[1].splitlines()[0])
    assert measured["slippage_bps"] is not None  # measured against the backtest's prices now
