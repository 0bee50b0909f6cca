"""Live chart: Bybit public klines patch the last bar and append new ones without a reload;
tickers set the last-price readout; a non-Bybit venue never opens a stream."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from tests.fakes.bybit_public_ws import FakePublicWs
from tests.gui.conftest import open_chart
from workstation.core.enums import Venue
from workstation.ui.fmt import format_price
from workstation.ui.live_feed import URL_ENV, listed_on_bybit, public_stream_url
from workstation.ui.panels.chart import ChartPanel
from workstation.ui.store_worker import StoreWorker

FIFTEEN_MIN = 15 * 60_000


@pytest.fixture
def fake_ws() -> Iterator[FakePublicWs]:
    with FakePublicWs() as fake:
        yield fake


def _chart(qtbot: QtBot, home: Path, venue: Venue, url: str | None) -> tuple[ChartPanel, StoreWorker]:
    return open_chart(qtbot, home, venue=venue, public_stream_url=url)


def test_live_chart_when_klines_pushed_then_last_bar_updates_and_new_bar_appends(
    qtbot: QtBot, qloop: asyncio.AbstractEventLoop, isolated_home: Path, fake_ws: FakePublicWs
) -> None:
    panel, worker = _chart(qtbot, isolated_home, Venue.BYBIT_TESTNET, fake_ws.url)
    try:
        assert panel.data is not None and panel.data.interval == "15m"
        bars = len(panel.data.candles)
        last_ts = int(panel.data.candles.ts[-1])
        qtbot.waitUntil(lambda: fake_ws.live_subscribers == 1, timeout=10_000)
        assert sorted(fake_ws.subscriptions[-1]) == ["kline.15.BTCUSDT", "tickers.BTCUSDT"]
        reloads: list[object] = []
        panel.loaded.connect(reloads.append)

        # the open bar moves: the last bar is patched in place
        with qtbot.waitSignal(panel.data_updated, timeout=5_000):
            fake_ws.push_kline("BTCUSDT", "15", last_ts, 93_500, 94_200, 93_400, 94_100.5, 12.5, confirm=False)
        c = panel.data.candles
        assert len(c) == bars and int(c.ts[-1]) == last_ts
        assert (c.high[-1], c.close[-1], c.volume[-1]) == (94_200, 94_100.5, 12.5)
        assert panel.candles.close[-1] == 94_100.5 and len(panel.candles.x) == bars
        assert format_price(94_100.5) in panel.readout.text()

        # the next bar opens: appended, and the view (which showed the right edge) follows it
        right_before = panel.price_plot.vb.viewRange()[0][1]
        with qtbot.waitSignal(panel.data_updated, timeout=5_000) as blocker:
            fake_ws.push_kline("BTCUSDT", "15", last_ts + FIFTEEN_MIN, 94_100, 94_300, 94_000, 94_250, 3, confirm=False)
        assert blocker.args == [last_ts + FIFTEEN_MIN]
        c = panel.data.candles
        assert len(c) == bars + 1 and c.close[-1] == 94_250 and len(panel.candles.x) == bars + 1
        assert len(panel.data.overlays["sma"][0]) == bars + 1
        assert panel.price_plot.vb.viewRange()[0][1] > right_before
        assert "2025-01-01 00:00 UTC" in panel.readout.text()
        assert panel.status.text() == f"{bars + 1:,} bars · live"

        # ticker readout in the header
        fake_ws.push_ticker("BTCUSDT", {"lastPrice": "94251.5", "markPrice": "94250"}, kind="snapshot")
        qtbot.waitUntil(lambda: format_price(94_251.5) in panel.ticker_label.text(), timeout=5_000)
        fake_ws.push_ticker("BTCUSDT", {"lastPrice": "94260"}, kind="delta")
        qtbot.waitUntil(lambda: format_price(94_260) in panel.ticker_label.text(), timeout=5_000)
        assert reloads == []  # nothing was reloaded from the store
    finally:
        panel.live.stop()
        qtbot.waitUntil(lambda: panel.live.feed is None or panel.live.feed.idle, timeout=5_000)
        worker.shutdown()


def test_live_chart_when_many_klines_then_redraws_are_throttled(
    qtbot: QtBot, qloop: asyncio.AbstractEventLoop, isolated_home: Path, fake_ws: FakePublicWs
) -> None:
    panel, worker = _chart(qtbot, isolated_home, Venue.BYBIT_DEMO, fake_ws.url)
    try:
        assert panel.data is not None
        last_ts = int(panel.data.candles.ts[-1])
        qtbot.waitUntil(lambda: fake_ws.live_subscribers == 1, timeout=10_000)
        for i in range(40):
            fake_ws.push_kline("BTCUSDT", "15", last_ts, 93_500, 94_000 + i, 93_400, 93_900 + i, i, confirm=False)
        qtbot.waitUntil(lambda: panel.data.candles.close[-1] == 93_939, timeout=5_000)
        assert panel.live.redraws <= 5
    finally:
        panel.live.stop()
        qtbot.waitUntil(lambda: panel.live.feed is None or panel.live.feed.idle, timeout=5_000)
        worker.shutdown()


def test_live_chart_when_venue_is_paper_then_no_stream(qtbot: QtBot, isolated_home: Path) -> None:
    panel, worker = _chart(qtbot, isolated_home, Venue.PAPER, "ws://127.0.0.1:9/none")
    try:
        assert panel.live.feed is None and panel.ticker_label.text() == ""
    finally:
        worker.shutdown()


def test_stream_url_when_env_set_then_used_unless_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(URL_ENV, raising=False)
    assert public_stream_url(Venue.BYBIT_TESTNET) == "wss://stream-testnet.bybit.com/v5/public/linear"
    assert public_stream_url(Venue.BYBIT_DEMO) == "wss://stream.bybit.com/v5/public/linear"
    monkeypatch.setenv(URL_ENV, "ws://relay/v5/public/linear")
    assert public_stream_url(Venue.BYBIT_MAINNET) == "ws://relay/v5/public/linear"
    assert public_stream_url(Venue.BYBIT_MAINNET, "ws://given") == "ws://given"
    assert listed_on_bybit("BTCUSDT") and listed_on_bybit("1000PEPEUSDT") and not listed_on_bybit("BTC-USD")


def _store_instruments(home: Path, *symbols: str) -> None:
    from decimal import Decimal

    from workstation.core.enums import Category
    from workstation.core.types import Instrument
    from workstation.data.store import CandleStore
    from workstation.ui.store_worker import BYBIT_LINEAR_VENUE

    home.mkdir(parents=True, exist_ok=True)
    with CandleStore.open(home / "candles.db") as store:
        for symbol in symbols:
            step = Decimal("0.001")
            store.upsert_instrument(
                Instrument(BYBIT_LINEAR_VENUE, symbol, Category.LINEAR, "", "USDT", step, step, step)
            )


def test_live_chart_when_stored_instrument_list_lacks_the_symbol_then_no_stream(
    qtbot: QtBot, qloop: asyncio.AbstractEventLoop, isolated_home: Path, fake_ws: FakePublicWs
) -> None:
    _store_instruments(isolated_home, "ETHUSDT", "SOLUSDT")  # Bybit's list, as `data instruments` stores it
    panel, worker = _chart(qtbot, isolated_home, Venue.BYBIT_TESTNET, fake_ws.url)
    try:
        assert panel.catalog is not None and panel.catalog.bybit_linear == {"ETHUSDT", "SOLUSDT"}
        assert listed_on_bybit("BTCUSDT")  # the name alone would have followed it
        assert panel.live.feed is not None and panel.live.feed.following is None
        assert panel.ticker_label.text() == "" and fake_ws.live_subscribers == 0
    finally:
        worker.shutdown()


def test_live_chart_when_stored_instrument_list_has_the_symbol_then_it_follows_even_an_unusual_name(
    qtbot: QtBot, qloop: asyncio.AbstractEventLoop, isolated_home: Path, fake_ws: FakePublicWs
) -> None:
    from workstation.ui.live_feed import LiveFeed

    _store_instruments(isolated_home, "BTCUSDT", "BTC-27MAR26")
    panel, worker = _chart(qtbot, isolated_home, Venue.BYBIT_TESTNET, fake_ws.url)
    feed = LiveFeed(fake_ws.url)
    try:
        qtbot.waitUntil(lambda: fake_ws.live_subscribers == 1, timeout=10_000)  # BTCUSDT is listed
        assert panel.live.feed is not None and panel.live.feed.following == ("BTCUSDT", "15")
        assert not listed_on_bybit("BTC-27MAR26")  # a dated future the name pattern does not know
        assert feed.follow("BTC-27MAR26", "1h", panel.catalog.bybit_linear)
        qtbot.waitUntil(lambda: fake_ws.live_subscribers == 2, timeout=10_000)
        assert "kline.60.BTC-27MAR26" in fake_ws.subscriptions[-1]
    finally:
        feed.stop()
        panel.live.stop()
        qtbot.waitUntil(lambda: feed.idle and (panel.live.feed is None or panel.live.feed.idle), timeout=5_000)
        worker.shutdown()
