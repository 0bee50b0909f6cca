"""The chart: real sample candles, per-pixel merging that keeps highs and lows, crosshair readout,
intervals resampled on read, store work off the UI thread."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
from PySide6.QtCore import QPointF, QTimer
from PySide6.QtGui import QColor
from pytestqt.qtbot import QtBot

from workstation.data.sample import SAMPLE_SYMBOL, SAMPLE_VENUE
from workstation.data.store import CandleStore
from workstation.ui.candles_item import DOWN_COLOR, UP_COLOR
from workstation.ui.fmt import format_price, format_ts
from workstation.ui.panels.chart import ChartPanel
from workstation.ui.store_worker import SeriesKey, StoreWorker

SAMPLE_LAST_CLOSE = 93576.0  # BTCUSDT close at 2024-12-31 23:59 UTC (Binance)


def stored_1m(home: Path):
    with CandleStore.open(home / "candles.db") as store:
        return store.read(SAMPLE_VENUE, SAMPLE_SYMBOL, "1m")


def test_chart_when_store_empty_then_sample_imported_and_last_close_shown(
    chart_panel: ChartPanel, isolated_home: Path
) -> None:
    assert chart_panel.catalog is not None and chart_panel.catalog.imported_sample
    data = chart_panel.data
    assert data is not None and data.key == SeriesKey(SAMPLE_VENUE, SAMPLE_SYMBOL) and data.interval == "15m"
    raw = stored_1m(isolated_home)
    assert len(raw) == 87_840
    assert data.candles.close[-1] == raw.close[-1] == SAMPLE_LAST_CLOSE
    assert format_price(SAMPLE_LAST_CLOSE) in chart_panel.readout.text()  # "93,576.00"
    assert "2024-12-31 23:45 UTC" in chart_panel.readout.text()
    assert [chart_panel.interval_box.itemText(i) for i in range(chart_panel.interval_box.count())] == [
        "1m",
        "5m",
        "15m",
        "1h",
        "4h",
        "1d",
        "1w",
    ]


def test_interval_when_switched_to_1h_then_bars_resampled_from_1m(
    qtbot: QtBot, chart_panel: ChartPanel, isolated_home: Path
) -> None:
    with qtbot.waitSignal(chart_panel.loaded, timeout=10_000) as blocker:
        chart_panel.interval_box.setCurrentText("1h")
    data = blocker.args[0]
    assert data.interval == "1h" and data.source_interval == "1m"
    raw = stored_1m(isolated_home)
    hours = (raw.ts // 3_600_000) * 3_600_000
    assert len(data.candles) == len(np.unique(hours)) == 87_840 // 60
    first = hours == data.candles.ts[0]
    assert data.candles.high[0] == raw.high[first].max() and data.candles.low[0] == raw.low[first].min()
    assert data.candles.open[0] == raw.open[first][0] and data.candles.close[-1] == SAMPLE_LAST_CLOSE
    assert np.isclose(data.candles.volume[0], raw.volume[first].sum())
    assert chart_panel.candles.bar_width == 3600.0


def test_merge_when_zoomed_out_then_each_pixel_column_keeps_its_high_and_low(
    qtbot: QtBot, chart_panel: ChartPanel
) -> None:
    with qtbot.waitSignal(chart_panel.loaded, timeout=10_000):
        chart_panel.interval_box.setCurrentText("1m")
    chart_panel.fit_all()
    chart_panel.plots.grab()  # paint now
    item = chart_panel.candles
    frame = item.last_frame
    assert frame is not None and frame.merged
    lo, hi = frame.first, frame.last
    assert hi - lo == 87_840  # every bar is in view
    width_px = chart_panel.price_plot.vb.width()
    assert len(frame.columns) <= width_px + 1 < 87_840 / 50  # merged about 80 bars per pixel
    # Columns are distinct pixels, left to right, each holding a run of bars narrower than a pixel.
    assert np.all(np.diff(frame.columns) >= 1)
    px_per_second = 1.0 / chart_panel.price_plot.vb.viewPixelSize()[0]
    starts = frame.starts
    assert starts[0] == 0 and np.all(np.diff(starts) > 0)
    ends = np.append(starts[1:], hi - lo)
    x, highs, lows = item.x[lo:hi], item.high[lo:hi], item.low[lo:hi]
    for k in range(len(starts)):
        assert (x[ends[k] - 1] - x[starts[k]]) * px_per_second < 1.0
        assert frame.high[k] == highs[starts[k] : ends[k]].max()
        assert frame.low[k] == lows[starts[k] : ends[k]].min()
    assert frame.high.max() == highs.max() and frame.low.min() == lows.min()


def test_merge_when_rendered_then_the_topmost_candle_pixel_is_the_highest_high(
    qtbot: QtBot, chart_panel: ChartPanel
) -> None:
    with qtbot.waitSignal(chart_panel.loaded, timeout=10_000):
        chart_panel.interval_box.setCurrentText("1m")
    chart_panel.fit_all()
    image = chart_panel.plots.grab().toImage()
    vb = chart_panel.price_plot.vb
    item = chart_panel.candles
    top_high = float(item.high.max())
    bottom_low = float(item.low.min())
    expected_top = chart_panel.plots.mapFromScene(vb.mapViewToScene(QPointF(item.x[0], top_high))).y()
    expected_bottom = chart_panel.plots.mapFromScene(vb.mapViewToScene(QPointF(item.x[0], bottom_low))).y()
    box = chart_panel.plots.mapFromScene(vb.sceneBoundingRect()).boundingRect()
    colours = {QColor(UP_COLOR).rgb(), QColor(DOWN_COLOR).rgb()}
    rows = [
        y
        for y in range(box.top(), box.bottom())
        if any(image.pixel(x, y) in colours for x in range(box.left(), box.right(), 1))
    ]
    assert rows, "no candle pixels drawn"
    assert abs(min(rows) - expected_top) <= 1.5
    assert abs(max(rows) - expected_bottom) <= 1.5


def test_crosshair_when_mouse_over_a_bar_then_readout_shows_its_ohlc(qtbot: QtBot, chart_panel: ChartPanel) -> None:
    c = chart_panel.data.candles
    i = len(c) - 40
    vb = chart_panel.price_plot.vb
    scene = vb.mapViewToScene(QPointF(chart_panel.candles.x[i], c.close[i]))
    qtbot.mouseMove(chart_panel.plots.viewport(), chart_panel.plots.mapFromScene(scene))
    qtbot.waitUntil(lambda: format_ts(int(c.ts[i])) in chart_panel.readout.text(), timeout=3000)
    text = chart_panel.readout.text()
    for value in (c.open[i], c.high[i], c.low[i], c.close[i]):
        assert format_price(float(value)) in text
    assert chart_panel.vline.isVisible() and chart_panel.vline.value() == chart_panel.candles.x[i]
    assert abs(chart_panel.hline.value() - c.close[i]) < (c.high.max() - c.low.min()) * 0.01

    chart_panel.on_mouse_moved(QPointF(-50, -50))  # left the plots
    assert not chart_panel.vline.isVisible()
    assert format_ts(int(c.ts[-1])) in chart_panel.readout.text()


def test_overlays_when_toggled_then_lines_follow_and_values_are_moving_averages(chart_panel: ChartPanel) -> None:
    close = chart_panel.data.candles.close
    sma = chart_panel.overlay_items["sma"][0]
    assert sma.isVisible() and np.isclose(sma.y[-1], close[-20:].mean())
    assert np.isnan(sma.y[:19]).all()
    chart_panel.overlay_boxes["sma"].setChecked(False)
    assert not sma.isVisible()
    bands = chart_panel.overlay_items["bb"]
    assert not any(b.isVisible() for b in bands)
    chart_panel.overlay_boxes["bb"].setChecked(True)
    assert all(b.isVisible() for b in bands)
    lower, middle, upper = (b.y[-1] for b in bands)
    assert np.isclose(upper - middle, 2 * close[-20:].std()) and np.isclose(middle - lower, upper - middle)


def test_store_jobs_when_slow_then_they_run_off_the_ui_thread_and_qt_keeps_ticking(
    qtbot: QtBot, isolated_home: Path
) -> None:
    worker = StoreWorker(isolated_home / "candles.db")
    ran_on: list[str] = []
    ticks: list[float] = []
    timer = QTimer()
    timer.setInterval(20)
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    timer.start()

    def slow(store: CandleStore) -> int:
        ran_on.append(threading.current_thread().name)
        time.sleep(0.5)
        return len(store.series())

    try:
        with qtbot.waitCallback(timeout=5000) as callback:
            worker.submit(slow, callback)
        callback.assert_called_with(0)
    finally:
        timer.stop()
        worker.shutdown()
    assert ran_on and ran_on[0].startswith("candle-store")
    assert len(ticks) >= 10 and max(np.diff(ticks)) < 0.25  # the UI thread never waited on the job
