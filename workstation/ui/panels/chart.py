"""The chart: candles with volume, overlays, a crosshair with an OHLC readout, and symbol and
interval pickers filled from the candle store. Store reads run on the StoreWorker thread."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QSettings, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from workstation.core.enums import Venue
from workstation.ui.candles_item import DOWN_COLOR, UP_COLOR, CandlesItem, LineItem, VolumeItem
from workstation.ui.chart_live import ChartLive
from workstation.ui.fmt import format_price, format_ts
from workstation.ui.grid_item import GridLines
from workstation.ui.overlays import OVERLAYS
from workstation.ui.store_worker import Catalog, ChartData, SeriesKey, StoreWorker, load_chart, open_catalog
from workstation.ui.theme import BACKGROUND, MUTED, TEXT

log = logging.getLogger(__name__)

DEFAULT_INTERVAL = "15m"
VISIBLE_BARS = 240  # bars shown after a load; zoom out to see the rest
Y_PADDING = 0.06


def make_plot_widget() -> pg.GraphicsLayoutWidget:
    widget = pg.GraphicsLayoutWidget()
    widget.setBackground(BACKGROUND)
    widget.ci.setContentsMargins(2, 2, 2, 2)
    widget.ci.setSpacing(0)
    return widget


class ChartPanel(QWidget):
    loaded = Signal(object)  # ChartData, once drawn
    data_updated = Signal(object)  # int ts (ms) of the newest bar on the chart (exceeds a C int)

    def __init__(
        self,
        worker: StoreWorker,
        settings: QSettings | None = None,
        parent: QWidget | None = None,
        *,
        venue: Venue | str | None = None,
        public_stream_url: str | None = None,
    ) -> None:
        """`venue`: the configured trading venue; a Bybit venue makes the chart follow Bybit's
        public kline/ticker stream (URL: `public_stream_url`, else $WORKSTATION_PUBLIC_STREAM_URL,
        else Bybit's own; see live_feed.py)."""
        super().__init__(parent)
        self.worker = worker
        self._settings = settings
        self.catalog: Catalog | None = None
        self.data: ChartData | None = None
        self._seq = 0

        self.symbol_box = QComboBox()
        self.symbol_box.setMinimumWidth(160)
        self.interval_box = QComboBox()
        self.overlay_boxes: dict[str, QCheckBox] = {}
        self.fit_button = QPushButton("Fit all")
        self.readout = QLabel("")
        self.readout.setTextFormat(Qt.TextFormat.RichText)
        self.readout.setObjectName("chartReadout")
        self.readout.setContentsMargins(6, 0, 6, 2)
        self.ticker_label = QLabel("")
        self.ticker_label.setTextFormat(Qt.TextFormat.RichText)
        self.ticker_label.setObjectName("chartTicker")
        self.ticker_label.setContentsMargins(8, 0, 8, 0)
        self.busy = QProgressBar()
        self.busy.setRange(0, 0)  # indeterminate: the importer does not report fractions
        self.busy.setMaximumWidth(140)
        self.busy.setTextVisible(False)
        self.status = QLabel("Opening the candle store…")
        self.status.setStyleSheet(f"color: {MUTED};")
        # Long texts must not set the window's minimum width: they are cut instead.
        for label in (self.status, self.readout):
            label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)

        bar = QHBoxLayout()
        bar.setContentsMargins(4, 2, 4, 2)
        bar.addWidget(self.symbol_box)
        bar.addWidget(self.interval_box)
        for spec in OVERLAYS:
            box = QCheckBox(spec.label)
            box.setStyleSheet(f"QCheckBox {{ color: {spec.color}; spacing: 5px; margin: 0 8px 0 6px; }}")
            box.setChecked(spec.key != "bb")
            box.toggled.connect(lambda on, key=spec.key: self._set_overlay_visible(key, on))
            self.overlay_boxes[spec.key] = box
            bar.addWidget(box)
        bar.addWidget(self.fit_button)
        bar.addWidget(self.ticker_label)
        bar.addWidget(self.status, 1)  # takes the spare width (its Ignored policy would get none)
        bar.addWidget(self.busy)

        self.plots = make_plot_widget()
        self.date_axis = pg.DateAxisItem(orientation="bottom", utcOffset=0)
        self.price_plot: pg.PlotItem = self.plots.addPlot(row=0, col=0)
        self.volume_plot: pg.PlotItem = self.plots.addPlot(row=1, col=0, axisItems={"bottom": self.date_axis})
        self.plots.ci.layout.setRowStretchFactor(0, 4)
        self.plots.ci.layout.setRowStretchFactor(1, 1)
        self._setup_plots()

        self.candles = CandlesItem()
        self.candles.setZValue(10)  # price above the overlays: bands never hide a wick
        self.volume = VolumeItem()
        self.price_plot.addItem(self.candles)
        self.volume_plot.addItem(self.volume)
        self.overlay_items: dict[str, list[LineItem]] = {}
        for spec in OVERLAYS:
            lines = 3 if spec.key == "bb" else 1
            self.overlay_items[spec.key] = [self._overlay_curve(spec.color) for _ in range(lines)]
            self._set_overlay_visible(spec.key, self.overlay_boxes[spec.key].isChecked())

        dash = pg.mkPen(MUTED, width=1, style=Qt.PenStyle.DashLine)
        self.vline = pg.InfiniteLine(angle=90, movable=False, pen=dash)
        self.hline = pg.InfiniteLine(angle=0, movable=False, pen=dash)
        self.volume_vline = pg.InfiniteLine(angle=90, movable=False, pen=dash)
        for line, plot in ((self.vline, self.price_plot), (self.hline, self.price_plot)):
            plot.addItem(line, ignoreBounds=True)
        self.volume_plot.addItem(self.volume_vline, ignoreBounds=True)
        self._show_crosshair(False)
        self.trade_markers = pg.ScatterPlotItem(pxMode=True)
        self.trade_markers.setZValue(20)
        self.price_plot.addItem(self.trade_markers, ignoreBounds=True)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(bar)
        layout.addWidget(self.readout)
        layout.addWidget(self.plots, 1)

        self.symbol_box.currentIndexChanged.connect(self._on_symbol_changed)
        self.interval_box.currentTextChanged.connect(self._on_interval_changed)
        self.fit_button.clicked.connect(self.fit_all)
        self.price_plot.vb.sigXRangeChanged.connect(self.fit_y)
        self.plots.scene().sigMouseMoved.connect(self.on_mouse_moved)
        worker.progress.connect(self._on_progress)
        worker.failed.connect(self._on_failed)
        self.live = ChartLive(self, venue, public_stream_url)

    # ---- setup -------------------------------------------------------------------------------

    def _setup_plots(self) -> None:
        for plot in (self.price_plot, self.volume_plot):
            plot.setMenuEnabled(False)
            plot.hideButtons()
            plot.vb.setMouseEnabled(x=True, y=False)  # y follows the visible bars
            plot.vb.enableAutoRange(x=False, y=False)
            for name in ("left", "bottom", "right"):
                plot.getAxis(name).setTextPen(TEXT)
                plot.getAxis(name).setPen(MUTED)
            plot.showAxis("right")
            plot.hideAxis("left")
            plot.getAxis("right").setWidth(72)
            plot.getAxis("right").setStyle(hideOverlappingLabels=True)
        self.price_plot.hideAxis("bottom")
        self.volume_plot.setXLink(self.price_plot)
        for plot in (self.price_plot, self.volume_plot):
            plot.addItem(GridLines(self.date_axis, plot.getAxis("right")), ignoreBounds=True)
        self.volume_plot.setMaximumHeight(180)

    def _overlay_curve(self, color: str) -> LineItem:
        curve = LineItem(color)
        self.price_plot.addItem(curve, ignoreBounds=True)
        return curve

    def _set_overlay_visible(self, key: str, visible: bool) -> None:
        for curve in self.overlay_items.get(key, []):
            curve.setVisible(visible)

    # ---- loading -----------------------------------------------------------------------------

    def start(self) -> None:
        """Read what the store holds (importing the bundled sample on first launch), then load."""
        self._set_busy("Opening the candle store…")
        report = self.worker.report
        self.worker.submit(lambda store: open_catalog(store, report), self._on_catalog)

    def _on_catalog(self, catalog: Catalog) -> None:
        self.catalog = catalog
        keys = catalog.keys()
        if not keys:
            self._set_idle("The candle store is empty: import data with `workstation data import`.")
            return
        wanted = self._saved("chart/symbol", "")
        self.symbol_box.blockSignals(True)
        self.symbol_box.clear()
        for key in keys:
            self.symbol_box.addItem(key.label(), key)
        index = next((i for i, k in enumerate(keys) if k.label() == wanted), 0)
        self.symbol_box.setCurrentIndex(index)
        self.symbol_box.blockSignals(False)
        self._fill_intervals(self._saved("chart/interval", DEFAULT_INTERVAL))
        self.request_load()

    def _fill_intervals(self, wanted: str) -> None:
        key = self.current_key()
        intervals = self.catalog.intervals(key) if self.catalog and key else []
        self.interval_box.blockSignals(True)
        self.interval_box.clear()
        self.interval_box.addItems(intervals)
        if wanted in intervals:
            self.interval_box.setCurrentText(wanted)
        elif DEFAULT_INTERVAL in intervals:
            self.interval_box.setCurrentText(DEFAULT_INTERVAL)
        self.interval_box.blockSignals(False)

    def current_key(self) -> SeriesKey | None:
        key = self.symbol_box.currentData()
        return key if isinstance(key, SeriesKey) else None

    def set_series(self, key: SeriesKey, interval: str) -> None:
        """Select a series and interval (as a user would with the pickers)."""
        # findData compares Python objects by identity; the lab's keys come from its own catalog read
        index = next((i for i in range(self.symbol_box.count()) if self.symbol_box.itemData(i) == key), -1)
        if index < 0:
            raise ValueError(f"{key.label()} is not in the store")
        self.symbol_box.setCurrentIndex(index)
        self.interval_box.setCurrentText(interval)

    def _on_symbol_changed(self, _: int) -> None:
        self._fill_intervals(self.interval_box.currentText())
        self.request_load()

    def _on_interval_changed(self, _: str) -> None:
        self.request_load()

    def request_load(self) -> None:
        key, interval = self.current_key(), self.interval_box.currentText()
        if key is None or not interval or self.catalog is None:
            return
        self._seq += 1
        seq = self._seq
        stored = self.catalog.stored[key]
        self._set_busy(f"Loading {key.symbol} {interval}…")
        self.worker.submit(
            lambda store: load_chart(store, key, interval, stored), lambda data: self._on_loaded(seq, data)
        )

    def _on_loaded(self, seq: int, data: ChartData) -> None:
        if seq != self._seq:
            return  # the user picked something else meanwhile
        self.show_data(data)

    def show_data(self, data: ChartData) -> None:
        """Draw a loaded series (keeps the right edge of the view when only the interval changed)."""
        previous = self.data
        right_edge = self.price_plot.vb.viewRange()[0][1] if previous is not None else None
        self.data = data
        self._show_crosshair(False)
        c = data.candles
        self.candles.set_data(c.ts, c.open, c.high, c.low, c.close, data.bar_seconds)
        self.volume.set_data(c.ts, c.volume, c.close >= c.open, data.bar_seconds)
        for key, lines in data.overlays.items():
            for curve, values in zip(self.overlay_items[key], lines, strict=True):
                curve.set_data(c.ts, values, data.bar_seconds)
        if len(c) == 0:
            self.live.stop()
            self._set_idle(f"No {data.interval} candles for {data.key.symbol}")
            return
        self.set_limits()
        same_series = previous is not None and previous.key == data.key
        self.show_last(VISIBLE_BARS, right_edge if same_series else None)
        self._save("chart/symbol", data.key.label())
        self._save("chart/interval", data.interval)
        self.readout.setText(self.readout_html(len(c) - 1))
        source = "" if data.source_interval == data.interval else f" (from {data.source_interval})"
        self._set_idle(f"{len(c):,} bars{source}")
        self.live.on_series(data)
        self.loaded.emit(data)
        self.data_updated.emit(int(c.ts[-1]))

    def set_limits(self) -> None:
        x, w = self.candles.x, self.candles.bar_width
        span = x[-1] - x[0] + w
        for plot in (self.price_plot, self.volume_plot):
            plot.vb.setLimits(xMin=x[0] - span * 0.05, xMax=x[-1] + span * 0.05, minXRange=w * 10)

    def show_last(self, bars: int, right_edge: float | None = None) -> None:
        x, w = self.candles.x, self.candles.bar_width
        right = x[-1] + w * 3 if right_edge is None else min(right_edge, x[-1] + w * 3)
        self.price_plot.vb.setXRange(right - bars * w, right, padding=0)
        self.fit_y()

    def jump_to(self, start_ms: int, end_ms: int | None = None) -> None:
        """Centre the view on a time span (a trade: entry to exit) with some bars either side."""
        w = self.candles.bar_width
        if not len(self.candles.x) or not w:
            return
        a, b = start_ms / 1000.0, (end_ms if end_ms is not None else start_ms) / 1000.0
        margin = max((b - a) * 0.5, w * 40)
        self.price_plot.vb.setXRange(a - margin, b + w + margin, padding=0)
        self.fit_y()

    def fit_all(self) -> None:
        if len(self.candles.x):
            w = self.candles.bar_width
            self.price_plot.vb.setXRange(self.candles.x[0] - w, self.candles.x[-1] + w, padding=0)

    def fit_y(self, *_: object) -> None:
        x0, x1 = self.price_plot.vb.viewRange()[0]
        span = self.candles.y_range(x0, x1)
        if span is None:
            return
        lo, hi = span
        pad = (hi - lo) * Y_PADDING or abs(hi) * 0.01 or 1.0
        self.price_plot.vb.setYRange(lo - pad, hi + pad, padding=0)
        top = self.volume.max_volume(x0, x1)
        self.volume_plot.vb.setYRange(0, (top or 1.0) * 1.1, padding=0)

    # ---- trade markers ------------------------------------------------------------------------

    def show_trades(self, markers: list[dict[str, Any]]) -> None:
        """Entries (triangles: up long, down short) and exits (crosses) at their bar and price.
        Set as arrays with shared brushes: thousands of markers (a 1M-bar lab run) in a few ms."""
        half = self.candles.bar_width / 2 if len(self.candles.x) else 0.0
        n = len(markers)
        x = np.fromiter((m["ts"] for m in markers), dtype=np.float64, count=n) / 1000.0 + half
        y = np.fromiter((m["price"] for m in markers), dtype=np.float64, count=n)
        styles = {
            (True, True): ("t1", pg.mkBrush(UP_COLOR)),  # long entry
            (True, False): ("t", pg.mkBrush(DOWN_COLOR)),  # short entry
            (False, True): ("x", pg.mkBrush(TEXT)),
            (False, False): ("x", pg.mkBrush(TEXT)),
        }
        picked = [styles[(m["kind"] == "entry", m["side"] > 0)] for m in markers]
        symbols = np.array([p[0] for p in picked], dtype=object)
        self.trade_markers.setData(
            x=x, y=y, symbol=symbols, brush=[p[1] for p in picked], pen=pg.mkPen("#000000", width=1), size=11
        )

    # ---- crosshair ---------------------------------------------------------------------------

    def on_mouse_moved(self, scene_pos: QPointF) -> None:
        over_price = self.price_plot.vb.sceneBoundingRect().contains(scene_pos)
        over_volume = self.volume_plot.vb.sceneBoundingRect().contains(scene_pos)
        if self.data is None or not (over_price or over_volume):
            self._show_crosshair(False)
            if self.data is not None and len(self.data.candles):
                self.readout.setText(self.readout_html(len(self.data.candles) - 1))
            return
        point = self.price_plot.vb.mapSceneToView(scene_pos)
        index = self.bar_at(point.x())
        if index is None:
            return
        self._show_crosshair(True, horizontal=over_price)
        self.vline.setPos(self.candles.x[index])
        self.volume_vline.setPos(self.candles.x[index])
        self.hline.setPos(point.y())
        self.readout.setText(self.readout_html(index))

    def bar_at(self, x: float) -> int | None:
        centres = self.candles.x
        if len(centres) == 0:
            return None
        i = int(np.searchsorted(centres, x))
        if i > 0 and (i == len(centres) or x - centres[i - 1] <= centres[i] - x):
            i -= 1
        return i

    def _show_crosshair(self, visible: bool, *, horizontal: bool = True) -> None:
        self.vline.setVisible(visible)
        self.volume_vline.setVisible(visible)
        self.hline.setVisible(visible and horizontal)

    def readout_html(self, index: int) -> str:
        assert self.data is not None
        c = self.data.candles
        o, h, lo, cl, v = (float(a[index]) for a in (c.open, c.high, c.low, c.close, c.volume))
        change = (cl / o - 1) * 100 if o else 0.0
        color = self.candles_color(cl >= o)
        cells = [
            f"<b>{self.data.key.symbol}</b> {self.data.interval}",
            format_ts(int(c.ts[index])),
            f"O <b>{format_price(o)}</b>",
            f"H <b>{format_price(h)}</b>",
            f"L <b>{format_price(lo)}</b>",
            f"C <b style='color:{color}'>{format_price(cl)}</b>",
            f"<span style='color:{color}'>{change:+.2f}%</span>",
            f"V {v:,.2f}",
        ]
        return "<span style='font-family: monospace'>" + "&nbsp;&nbsp;".join(cells) + "</span>"

    @staticmethod
    def candles_color(up: bool) -> str:
        return UP_COLOR if up else DOWN_COLOR

    # ---- status ------------------------------------------------------------------------------

    def _on_progress(self, text: str) -> None:
        self._set_busy(text)
        log.info(text)

    def _on_failed(self, text: str) -> None:
        self._set_idle(f"Could not read candles: {text}")

    def _set_busy(self, text: str) -> None:
        self.status.setText(text)
        self.busy.show()

    def _set_idle(self, text: str) -> None:
        self.status.setText(text)
        self.busy.hide()

    def _saved(self, key: str, default: str) -> str:
        return str(self._settings.value(key, default)) if self._settings is not None else default

    def _save(self, key: str, value: str) -> None:
        if self._settings is not None:
            self._settings.setValue(key, value)
