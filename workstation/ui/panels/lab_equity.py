"""The backtest lab's equity view: the strategy's equity against buy-and-hold, and its drawdown
below, on one time axis. The lines come decimated from the worker (lab_job: every bucket's min
and max kept), so even a 1M-bar run is a few thousand points to draw."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QVBoxLayout, QWidget

from workstation.ui.candles_item import DOWN_COLOR
from workstation.ui.theme import ACCENT, BACKGROUND, MUTED, TEXT

Curve = tuple[np.ndarray, np.ndarray]  # (ms, value)


def _plot(height: int) -> pg.PlotWidget:
    plot = pg.PlotWidget(axisItems={"bottom": pg.DateAxisItem(utcOffset=0)})
    plot.setBackground(BACKGROUND)
    plot.showGrid(x=False, y=True, alpha=0.15)
    plot.setMinimumHeight(height)
    plot.getAxis("left").setWidth(64)  # both plots' y axes equally wide: their time axes line up
    return plot


class EquityPlots(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.equity_plot = _plot(60)
        self.equity_plot.addLegend(offset=(10, 10), labelTextColor=TEXT)
        self.equity_curve = self.equity_plot.plot([], [], pen=pg.mkPen(ACCENT, width=2), name="strategy")
        self.bench_curve = self.equity_plot.plot([], [], pen=pg.mkPen(MUTED, width=1), name="buy & hold")
        self.drawdown_plot = _plot(40)
        self.drawdown_plot.setXLink(self.equity_plot)
        self.drawdown_plot.setLabel("left", "drawdown %", color=TEXT)
        self.drawdown_curve = self.drawdown_plot.plot(
            [], [], pen=pg.mkPen(DOWN_COLOR, width=1), fillLevel=0.0, brush=pg.mkBrush(DOWN_COLOR + "55")
        )
        self.equity_plot.getAxis("bottom").setStyle(showValues=False)  # the drawdown's axis shows the time
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.equity_plot, 3)
        layout.addWidget(self.drawdown_plot, 1)
        self._show_axes(False)  # no meaningless 0..1 ticks before the first run

    def show_curves(self, curves: dict[str, Curve]) -> None:
        for item, name, scale in (
            (self.equity_curve, "equity", 1.0),
            (self.bench_curve, "benchmark", 1.0),
            (self.drawdown_curve, "drawdown", 100.0),
        ):
            x, y = curves[name]
            item.setData(np.asarray(x) / 1000.0, np.asarray(y) * scale)
        self._show_axes(True)
        self.equity_plot.autoRange()
        self.drawdown_plot.enableAutoRange(axis="y")

    def _show_axes(self, shown: bool) -> None:
        self.equity_plot.getAxis("left").setStyle(showValues=shown)
        for name in ("left", "bottom"):
            self.drawdown_plot.getAxis(name).setStyle(showValues=shown)
