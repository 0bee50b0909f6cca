"""The chart: candles with volume, overlays, a crosshair with an OHLC readout, and symbol and
interval pickers filled from the candle store. Store reads run on the StoreWorker thread."""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import QPointF, QSettings, Qt, Signal
from PySide6.QtWidgets import QLabel, QSizePolicy, QVBoxLayout, QWidget

from workstation.core.enums import Venue
from workstation.ui.chart_live import ChartLive
from workstation.ui.panels.chart_plots import ChartPlots
from workstation.ui.panels.chart_readout import candles_color, readout_html
from workstation.ui.panels.chart_toolbar import ChartToolbar
from workstation.ui.store_worker import Catalog, ChartData, SeriesKey, StoreWorker, load_chart, open_catalog

log = logging.getLogger(__name__)

DEFAULT_INTERVAL = "15m"
VISIBLE_BARS = 240  # bars shown after a load; zoom out to see the rest


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

        self.toolbar = ChartToolbar()
        t = self.toolbar  # its widgets, reachable from the panel
        self.symbol_box, self.interval_box, self.overlay_boxes = t.symbol_box, t.interval_box, t.overlay_boxes
        self.fit_button, self.ticker_label, self.busy, self.status = t.fit_button, t.ticker_label, t.busy, t.status
        self.readout = QLabel("")
        self.readout.setTextFormat(Qt.TextFormat.RichText)
        self.readout.setObjectName("chartReadout")
        self.readout.setContentsMargins(6, 0, 6, 2)
        self.readout.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)  # cut, not widened

        self.plots = ChartPlots()
        p = self.plots  # its plots and items, reachable from the panel
        self.price_plot, self.volume_plot, self.date_axis = p.price_plot, p.volume_plot, p.date_axis
        self.candles, self.volume, self.overlay_items = p.candles, p.volume, p.overlay_items
        self.vline, self.hline, self.volume_vline, self.trade_markers = (
            p.vline,
            p.hline,
            p.volume_vline,
            p.trade_markers,
        )
        for key, box in self.overlay_boxes.items():
            box.toggled.connect(lambda on, key=key: self.plots.set_overlay_visible(key, on))
            self.plots.set_overlay_visible(key, box.isChecked())

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.toolbar)
        layout.addWidget(self.readout)
        layout.addWidget(self.plots, 1)

        self.symbol_box.currentIndexChanged.connect(self._on_symbol_changed)
        self.interval_box.currentTextChanged.connect(self._on_interval_changed)
        self.fit_button.clicked.connect(self.fit_all)
        self.plots.scene().sigMouseMoved.connect(self.on_mouse_moved)
        worker.progress.connect(self._on_progress)
        worker.failed.connect(self._on_failed)
        self.live = ChartLive(self, venue, public_stream_url)

    # ---- the view (ChartPlots) ---------------------------------------------------------------

    def set_limits(self) -> None:
        self.plots.set_limits()

    def show_last(self, bars: int, right_edge: float | None = None) -> None:
        self.plots.show_last(bars, right_edge)

    def jump_to(self, start_ms: int, end_ms: int | None = None) -> None:
        self.plots.jump_to(start_ms, end_ms)

    def fit_all(self) -> None:
        self.plots.fit_all()

    def fit_y(self, *_: object) -> None:
        self.plots.fit_y()

    def bar_at(self, x: float) -> int | None:
        return self.plots.bar_at(x)

    def show_trades(self, markers: list[dict[str, Any]]) -> None:
        self.plots.show_trades(markers)

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
        right_edge = self.plots.right_edge() if previous is not None else None
        self.data = data
        self._show_crosshair(False)
        self.plots.draw(data)
        c = data.candles
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

    def _show_crosshair(self, visible: bool, *, horizontal: bool = True) -> None:
        self.plots.show_crosshair(visible, horizontal=horizontal)

    def readout_html(self, index: int) -> str:
        assert self.data is not None
        return readout_html(self.data, index)

    @staticmethod
    def candles_color(up: bool) -> str:
        return candles_color(up)

    # ---- status ------------------------------------------------------------------------------

    def _on_progress(self, text: str) -> None:
        self._set_busy(text)
        log.info(text)

    def _on_failed(self, text: str) -> None:
        self._set_idle(f"Could not read candles: {text}")

    def _set_busy(self, text: str) -> None:
        self.toolbar.set_busy(text)

    def _set_idle(self, text: str) -> None:
        self.toolbar.set_idle(text)

    def _saved(self, key: str, default: str) -> str:
        return str(self._settings.value(key, default)) if self._settings is not None else default

    def _save(self, key: str, value: str) -> None:
        if self._settings is not None:
            self._settings.setValue(key, value)
