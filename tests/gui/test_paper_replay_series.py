"""The Paper panel's series picker: a Binance XRPUSDT 1h file imported into the home's store shows
up as "XRPUSDT · binance" with its stored interval, and a replay picked there trades that series
(its candles, its symbol) through the risk manager into the paper account, not the shipped sample."""

from __future__ import annotations

from pathlib import Path

from pytestqt.qtbot import QtBot

from workstation.data.importer import import_file
from workstation.data.sample import load_bundled_sample
from workstation.data.store import CandleStore
from workstation.runtime import build_runtime
from workstation.ui.main_window import MainWindow
from workstation.ui.store_worker import SeriesKey

XRP_1H = Path("/work/shared/data/ohlcv/freqtrade_testdata_binance/XRP_USDT_USDT-1h-futures.feather")


def test_paper_replay_when_a_second_stored_series_is_picked_then_it_trades_that_series(
    qtbot: QtBot, qloop, isolated_home: Path
) -> None:
    with CandleStore.open(isolated_home / "candles.db") as store:  # a home already in use: the sample and a file
        load_bundled_sample(store)
        report = import_file(store, XRP_1H, venue="binance", symbol="XRPUSDT", interval="1h")
        xrp = store.read("binance", "XRPUSDT", "1h")
    assert report.added == len(xrp) >= 100
    win = MainWindow(build_runtime(home=isolated_home, config_file=None, overrides=("debug_mode=false",)), qloop)
    win.save_layout = False
    qtbot.addWidget(win)
    win.show()
    panel = win.paper_panel
    key = SeriesKey("binance", "XRPUSDT")
    # the shipped sample and the Binance file, sample first
    qtbot.waitUntil(lambda: panel.series_box.count() >= 2, timeout=20_000)
    labels = [panel.series_box.itemText(i) for i in range(panel.series_box.count())]
    assert labels[0].startswith("BTCUSDT · ") and "XRPUSDT · binance" in labels
    assert panel.series() is not None and panel.series()[1] == "1m"  # the sample by default

    panel.series_box.setCurrentIndex(labels.index("XRPUSDT · binance"))
    assert [panel.interval_box.itemText(i) for i in range(panel.interval_box.count())] == ["1h"]
    assert panel.series() == (key, "1h")
    panel.strategy_box.setCurrentText("sma_cross")
    panel.speed_box.setValue(0)
    with qtbot.waitSignal(panel.finished, timeout=60_000) as finished:
        panel.start_button.click()
        assert not panel.series_box.isEnabled() and not panel.interval_box.isEnabled()
    text = str(finished.args[0])
    assert text.startswith("Replay finished") and f"{len(xrp):,} bars" in text, text
    assert panel.series_box.isEnabled() and panel.series() == (key, "1h")

    session = panel.session
    assert session is not None and (session.spec.symbol, session.spec.interval, session.spec.venue) == (
        "XRPUSDT",
        "1h",
        "binance",
    )
    fills = session.paper.account.fills
    assert len(fills) >= 2 and panel.counts["fills"] == len(fills)
    assert {f.symbol for f in fills} == {"XRPUSDT"}
    first, last = int(xrp.ts[0]), int(xrp.ts[-1])
    assert all(first <= f.ts <= last + 3_600_000 for f in fills)  # on the XRP candles' clock
    assert "BTCUSDT" not in session.paper.account.books  # the sample was not traded
    assert session.last_candle_ms() == last
    win.close()
