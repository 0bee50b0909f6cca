"""Chart frame times with a year of 1-minute candles (figures, not asserts).

    PYTHONPATH=. .venv/bin/python bench/bench_chart.py [--file PATH] [--frames 60]

Loads 2024 from the shared Binance BTCUSDT 1m file (~527k bars), then zooms from the whole year
down to a day and pans at a week and at a day, offscreen at 1400x800. One frame = set the range,
fit y, let Qt process the change and paint the window. Printed, in one run:
  - our CandlesItem in a plot with pyqtgraph's grid, with our GridLines, and with no grid,
  - the QPicture candlestick recipe from the pyqtgraph examples in the same plot (fewer frames:
    each takes seconds),
  - the whole ChartPanel (candles, volume, SMA, EMA, axes, grid) as the user sees it,
and the process's resident memory with the year on the chart.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
import psutil
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF
from PySide6.QtGui import QPainter, QPicture
from PySide6.QtWidgets import QApplication, QWidget

from workstation.data.arrays import CandleArrays
from workstation.data.sources.csv_import import parse_csv
from workstation.ui.candles_item import CandlesItem
from workstation.ui.grid_item import GridLines
from workstation.ui.overlays import compute_overlays
from workstation.ui.panels.chart import ChartPanel
from workstation.ui.store_worker import ChartData, SeriesKey
from workstation.ui.theme import BACKGROUND

DEFAULT_FILE = (
    Path(__file__).resolve().parents[2]
    / "shared"
    / "data"
    / "ohlcv"
    / "binance_spot"
    / "BTCUSDT-1m-2023-01-01_2024-12-31.ohlcv.csv.gz"
)
YEAR_2024 = (1704067200000, 1735689600000)
SIZE = (1400, 800)
DAY, WEEK = 86400.0, 7 * 86400.0


class QPictureCandles(pg.GraphicsObject):
    """pyqtgraph's examples/customGraphicsItem.py: every bar recorded once into a QPicture that
    each paint replays whole."""

    def __init__(self, x: np.ndarray, o: np.ndarray, h: np.ndarray, lo: np.ndarray, c: np.ndarray, w: float) -> None:
        super().__init__()
        self.picture = QPicture()
        p = QPainter(self.picture)
        p.setPen(pg.mkPen("w"))
        up, down = pg.mkBrush("g"), pg.mkBrush("r")
        half = w / 3.0
        for t, open_, high, low, close in zip(x.tolist(), o.tolist(), h.tolist(), lo.tolist(), c.tolist(), strict=True):
            p.drawLine(QPointF(t, low), QPointF(t, high))
            p.setBrush(down if open_ > close else up)
            p.drawRect(QRectF(t - half, open_, half * 2, close - open_))
        p.end()

    def paint(self, p: QPainter, *args: object) -> None:
        p.drawPicture(0, 0, self.picture)

    def boundingRect(self) -> QRectF:
        return QRectF(self.picture.boundingRect())


def view_ranges(x: np.ndarray, frames: int) -> list[tuple[float, float]]:
    """Zoom from the whole year to one day at the end, then pan a week, then a day, across it."""
    first, last = float(x[0]), float(x[-1])
    third = max(frames // 3, 2)
    spans = np.geomspace(last - first, DAY, third)
    out = [(last - s, last) for s in spans]
    for span in (WEEK, DAY):
        for right in np.linspace(first + span, last, third):
            out.append((right - span, right))
    return out


def measure(
    widget: QWidget, set_range: Callable[[float, float], None], ranges: list[tuple[float, float]]
) -> list[float]:
    app = QApplication.instance()
    assert app is not None
    times = []
    for x0, x1 in ranges:
        start = time.perf_counter()
        set_range(x0, x1)
        app.processEvents()  # runs the range-change handlers and the paint the user would see
        times.append((time.perf_counter() - start) * 1000)
    return times


def report(label: str, times: list[float]) -> None:
    a = np.asarray(times)
    print(
        f"  {label:<34} frames {len(a):3d}  median {np.median(a):8.1f} ms  p95 {np.percentile(a, 95):8.1f} ms"
        f"  max {a.max():8.1f} ms"
    )


def plot_with(item: pg.GraphicsObject, y_of: Callable[[float, float], tuple[float, float] | None], grid: str):
    """A plot holding `item`; grid is "pyqtgraph" (showGrid), "ours" (GridLines) or "none"."""
    axis = pg.DateAxisItem(utcOffset=0)
    plot = pg.PlotWidget(axisItems={"bottom": axis})
    plot.setBackground(BACKGROUND)
    plot.resize(*SIZE)
    if grid == "pyqtgraph":
        plot.showGrid(x=True, y=True, alpha=0.12)
    elif grid == "ours":
        plot.addItem(GridLines(axis, plot.getAxis("left")), ignoreBounds=True)
    plot.getPlotItem().vb.enableAutoRange(x=False, y=False)
    plot.addItem(item)
    plot.show()

    def set_range(x0: float, x1: float) -> None:
        plot.setXRange(x0, x1, padding=0)
        span = y_of(x0, x1)
        if span is not None:
            plot.setYRange(*span, padding=0.05)

    return plot, set_range


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--file", type=Path, default=DEFAULT_FILE)
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--qpicture-frames", type=int, default=9)
    args = parser.parse_args()
    _app = QApplication.instance() or QApplication([])
    process = psutil.Process()

    start = time.perf_counter()
    candles: CandleArrays = parse_csv(args.file, None, interval="1m").candles.between(*YEAR_2024)
    print(
        f"{len(candles):,} one-minute bars of 2024 parsed in {time.perf_counter() - start:.1f} s; {SIZE[0]}x{SIZE[1]}"
    )
    ts, o, h, lo, c = candles.ts, candles.open, candles.high, candles.low, candles.close
    ranges = view_ranges(ts / 1000.0 + 30.0, args.frames)

    ours = CandlesItem()
    ours.set_data(ts, o, h, lo, c, 60.0)
    for grid in ("pyqtgraph", "ours", "none"):
        plot, set_range = plot_with(ours, ours.y_range, grid)
        measure(plot, set_range, ranges[:3])  # warm-up
        report(f"CandlesItem, {grid} grid", measure(plot, set_range, ranges))
        plot.removeItem(ours)
        plot.close()

    panel = ChartPanel(_NoWorker())  # type: ignore[arg-type]
    panel.resize(*SIZE)
    panel.show()
    start = time.perf_counter()
    data = ChartData(SeriesKey("binance", "BTCUSDT"), "1m", candles, compute_overlays(c), "1m")
    panel.show_data(data)
    print(f"  (ChartPanel: overlays + set data took {time.perf_counter() - start:.2f} s)")

    def panel_range(x0: float, x1: float) -> None:
        panel.price_plot.vb.setXRange(x0, x1, padding=0)

    measure(panel, panel_range, ranges[:3])
    report("ChartPanel (candles+volume+SMA+EMA)", measure(panel, panel_range, ranges))
    print(
        f"  resident memory with the year on the chart: {process.memory_info().rss / 2**20:,.0f} MB (before the recipe)"
    )
    panel.close()

    start = time.perf_counter()
    picture = QPictureCandles(ts / 1000.0 + 30.0, o, h, lo, c, 60.0)
    print(f"  (QPicture recipe: recording {len(candles):,} bars took {time.perf_counter() - start:.1f} s)")
    plot, set_range = plot_with(picture, ours.y_range, "ours")
    step = max(1, len(ranges) // args.qpicture_frames)
    report("QPicture recipe, ours grid", measure(plot, set_range, ranges[::step]))
    plot.close()
    del picture


class _NoWorker:
    """The panel only connects to these signals; the bench hands it data directly."""

    class _Signal:
        def connect(self, _: object) -> None:
            pass

    progress = failed = _Signal()


if __name__ == "__main__":
    main()
