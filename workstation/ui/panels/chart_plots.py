"""The chart's drawing surface: a price plot (candles, overlays, trade markers, crosshair) over a
volume plot on one time axis, and how the view moves (show the last bars, jump to a trade, fit,
y follows the visible bars). Knows nothing about the store or the pickers."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget

from workstation.ui.candles_item import DOWN_COLOR, UP_COLOR, CandlesItem, LineItem, VolumeItem
from workstation.ui.grid_item import GridLines
from workstation.ui.overlays import OVERLAYS
from workstation.ui.store_worker import ChartData
from workstation.ui.theme import BACKGROUND, MUTED, TEXT

Y_PADDING = 0.06


class ChartPlots(pg.GraphicsLayoutWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setBackground(BACKGROUND)
        self.ci.setContentsMargins(2, 2, 2, 2)
        self.ci.setSpacing(0)
        self.date_axis = pg.DateAxisItem(orientation="bottom", utcOffset=0)
        self.price_plot: pg.PlotItem = self.addPlot(row=0, col=0)
        self.volume_plot: pg.PlotItem = self.addPlot(row=1, col=0, axisItems={"bottom": self.date_axis})
        self.ci.layout.setRowStretchFactor(0, 4)
        self.ci.layout.setRowStretchFactor(1, 1)
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

        dash = pg.mkPen(MUTED, width=1, style=Qt.PenStyle.DashLine)
        self.vline = pg.InfiniteLine(angle=90, movable=False, pen=dash)
        self.hline = pg.InfiniteLine(angle=0, movable=False, pen=dash)
        self.volume_vline = pg.InfiniteLine(angle=90, movable=False, pen=dash)
        for line, plot in ((self.vline, self.price_plot), (self.hline, self.price_plot)):
            plot.addItem(line, ignoreBounds=True)
        self.volume_plot.addItem(self.volume_vline, ignoreBounds=True)
        self.show_crosshair(False)
        self.trade_markers = pg.ScatterPlotItem(pxMode=True)
        self.trade_markers.setZValue(20)
        self.price_plot.addItem(self.trade_markers, ignoreBounds=True)
        self.price_plot.vb.sigXRangeChanged.connect(self.fit_y)

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

    def set_overlay_visible(self, key: str, visible: bool) -> None:
        for curve in self.overlay_items.get(key, []):
            curve.setVisible(visible)

    def draw(self, data: ChartData) -> None:
        """Hand a series to the items (they draw only what is in view)."""
        c = data.candles
        self.candles.set_data(c.ts, c.open, c.high, c.low, c.close, data.bar_seconds)
        self.volume.set_data(c.ts, c.volume, c.close >= c.open, data.bar_seconds)
        for key, lines in data.overlays.items():
            for curve, values in zip(self.overlay_items[key], lines, strict=True):
                curve.set_data(c.ts, values, data.bar_seconds)

    # ---- the view ----------------------------------------------------------------------------

    def right_edge(self) -> float:
        return float(self.price_plot.vb.viewRange()[0][1])

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

    # ---- crosshair and markers ---------------------------------------------------------------

    def bar_at(self, x: float) -> int | None:
        centres = self.candles.x
        if len(centres) == 0:
            return None
        i = int(np.searchsorted(centres, x))
        if i > 0 and (i == len(centres) or x - centres[i - 1] <= centres[i] - x):
            i -= 1
        return i

    def show_crosshair(self, visible: bool, *, horizontal: bool = True) -> None:
        self.vline.setVisible(visible)
        self.volume_vline.setVisible(visible)
        self.hline.setVisible(visible and horizontal)

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
