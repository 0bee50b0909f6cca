"""The live trader keeps the bars it trades on in the home's candle store: `workstation trade --env
testnet` (a real process against the fake Bybit, real BTC 1h bars) stores the warm-up, every
confirmed bar and the bars it fetched over REST for a gap, under "bybit-testnet"; a restart that
fetches the same bars again stores nothing twice."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from tests.fakes.bybit_public_ws import FakePublicWs
from tests.fakes.bybit_server import FakeBybit
from tests.fakes.real_candles import rows
from tests.integration.live_trader import HOUR, live_trader, real_hours, serve_history
from workstation.core.enums import Venue
from workstation.data.arrays import CandleArrays
from workstation.data.store import CandleStore
from workstation.live.feed import market_data_venue
from workstation.paper.session import candle_store_path

WARM, LIVE = 60, 10
SKIPPED = (3, 4)  # never sent on the stream: fetched over REST when bar 5 arrives


def closed_hours() -> tuple[CandleArrays, CandleArrays]:
    """Real consecutive BTC 1h bars, all closed before now (so the REST klines serve the live ones too)."""
    warm, live = real_hours(WARM, LIVE)
    back = (LIVE + 1) * HOUR

    def moved(c: CandleArrays) -> CandleArrays:
        return CandleArrays(c.ts - back, c.open, c.high, c.low, c.close, c.volume)

    return moved(warm), moved(live)


def subscribed(public: FakePublicWs, n: int) -> None:
    deadline = time.monotonic() + 30
    while public.live_subscribers < n:
        assert time.monotonic() < deadline, "the trader never subscribed to the kline topic"
        time.sleep(0.05)


def stored(home: Path) -> tuple[list[tuple[str, str, str, int]], CandleArrays]:
    with CandleStore.open(candle_store_path(home)) as store:
        series = [(s.venue, s.symbol, s.interval, s.rows) for s in store.series()]
        return series, store.read(market_data_venue(Venue.BYBIT_TESTNET), "BTCUSDT", "1h")


def test_market_data_venue_when_testnet_demo_or_mainnet_then_testnet_has_its_own_prices() -> None:
    assert market_data_venue(Venue.BYBIT_TESTNET) == "bybit-testnet"
    assert market_data_venue(Venue.BYBIT_DEMO) == "bybit"  # demo trades on mainnet market data
    assert market_data_venue(Venue.BYBIT_MAINNET) == "bybit"  # as `data download --source bybit` names it


def test_trade_testnet_when_bars_arrive_with_a_gap_then_warmup_live_and_backfilled_bars_are_stored_once(
    tmp_path: Path, fake_bybit: FakeBybit, public_ws: FakePublicWs
) -> None:
    warm, live = closed_hours()
    every = CandleArrays.concat([warm, live])
    serve_history(fake_bybit, warm)
    home = tmp_path / "home"
    sent = [i for i in range(LIVE) if i not in SKIPPED]
    with live_trader(home, fake_bybit, public_ws, "--bars", str(len(sent)), "--warmup", "100", debug=True) as trader:
        trader.wait_for("READY BTCUSDT 1h")
        subscribed(public_ws, 1)
        fake_bybit.set_candles("BTCUSDT", "60", rows(every))  # the venue now has the live bars too
        bars = list(live.candles())
        for i in sent:
            b = bars[i]
            public_ws.push_kline("BTCUSDT", "60", b.ts, b.open, b.high, b.low, b.close, b.volume, confirm=True)
            trader.wait_for(f"BAR BTCUSDT {b.ts} ")
        out = trader.finish()
    assert trader.process.returncode == 0, out
    assert f"DONE {len(sent)} closed candle(s) (bars)" in out and f"{len(SKIPPED)} fetched over REST" in out, out

    series, got = stored(home)
    assert series == [("bybit-testnet", "BTCUSDT", "1h", WARM + LIVE)], series
    assert got.equals(every), "the store must hold exactly the bars the venue served (ts and OHLCV)"

    # a restart warms up over the same bars again: upserted, nothing doubled
    with live_trader(home, fake_bybit, public_ws, "--duration", "0", "--warmup", "100", debug=True) as trader:
        out = trader.finish()
    assert trader.process.returncode == 0, out
    assert f"WARM {WARM + LIVE} closed 1h bar(s)" in out, out
    series, again = stored(home)
    assert series == [("bybit-testnet", "BTCUSDT", "1h", WARM + LIVE)], series
    assert again.equals(every)
    np.testing.assert_array_equal(np.diff(again.ts), HOUR)
