"""The backtest lab's result views: trade list (a click jumps the chart there), sweep heatmap over
two parameters, Monte Carlo fan and the walk-forward windows."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QModelIndex, Qt, Signal
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from workstation.ui.table import Column, RecordTable, signed_color
from workstation.ui.theme import ACCENT, BACKGROUND, MUTED, TEXT


def _num(v: Any, spec: str = ",.2f") -> str:
    return "-" if v is None else format(v, spec)


def _pct(v: Any) -> str:
    return "-" if v is None or (isinstance(v, float) and not math.isfinite(v)) else f"{v:.2%}"


def _time(v: Any) -> str:
    return "open" if v is None else str(v)[:16].replace("T", " ")


TRADE_COLUMNS = (
    Column("n", "#", numeric=True),
    Column("entry_time", "Entry (UTC)", fmt=_time),
    Column("exit_time", "Exit (UTC)", fmt=_time),
    Column("side", "Side"),
    Column("qty", "Qty", fmt=lambda v: _num(v, ",.4f"), numeric=True),
    Column("entry_price", "Entry", fmt=_num, numeric=True),
    Column("exit_price", "Exit", fmt=_num, numeric=True),
    Column("pnl", "PnL", fmt=_num, color=signed_color, numeric=True),
    Column("fees", "Fees", fmt=_num, numeric=True),
    Column("exit_reason", "Reason"),
)


def _metric(row: dict[str, Any], part: str, key: str) -> Any:
    return (row.get(part) or {}).get(key)


WINDOW_COLUMNS = (
    Column("index", "#", numeric=True),
    Column("train_start", "Train from", fmt=_time),
    Column("test_start", "Test from", fmt=_time),
    Column("test_end", "Test to", fmt=_time),
    Column("params_text", "Chosen params"),
    Column("is_sharpe", "IS Sharpe", fmt=lambda v: _num(v, ".2f"), numeric=True),
    Column("oos_sharpe", "OOS Sharpe", fmt=lambda v: _num(v, ".2f"), color=signed_color, numeric=True),
    Column("oos_return", "OOS return", fmt=_pct, color=signed_color, numeric=True),
    Column("oos_trades", "OOS trades", numeric=True),
)


class TradeList(RecordTable):
    """The run's trades; clicking one asks the chart to show it (jump_to(entry ms, exit ms))."""

    jump_to = Signal(object, object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(TRADE_COLUMNS, lambda t: t["n"], "Run a backtest: its trades are listed here.", parent)
        self.view.clicked.connect(self._clicked)
        # In trade order until a header is clicked: sorting thousands of rows (a 1M-bar run) through
        # the proxy's Python data() calls froze the loop for ~200 ms on every result.
        self.view.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        self.view.model().sort(-1)

    def show_trades(self, trades: list[dict[str, Any]]) -> None:
        self.model.set_rows([{**t, "n": i + 1} for i, t in enumerate(trades)])

    def _clicked(self, index: QModelIndex) -> None:
        row = self.model.rows()[self.view.model().mapToSource(index).row()]
        if row.get("entry_ts") is not None:
            self.jump_to.emit(int(row["entry_ts"]), row.get("exit_ts"))


class WindowsTable(RecordTable):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(
            WINDOW_COLUMNS, lambda w: w["index"], "Run a walk-forward: its windows are listed here.", parent
        )

    def show_windows(self, windows: list[dict[str, Any]]) -> None:
        rows = []
        for w in windows:
            params = w.get("params")
            rows.append(
                {
                    **w,
                    "params_text": "none scored"
                    if params is None
                    else ", ".join(f"{k}={v}" for k, v in params.items()),
                    "is_sharpe": _metric(w, "in_sample", "sharpe"),
                    "oos_sharpe": _metric(w, "out_of_sample", "sharpe"),
                    "oos_return": _metric(w, "out_of_sample", "total_return"),
                    "oos_trades": _metric(w, "out_of_sample", "trade_count"),
                }
            )
        self.model.set_rows(rows)


class Heatmap(QWidget):
    """The sweep's objective over two parameters (cells without a value stay dark)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.caption = QLabel("Run a sweep: the objective over two parameters is shown here.")
        self.caption.setStyleSheet(f"color: {MUTED};")
        self.plot = pg.PlotWidget()
        self.plot.setBackground(BACKGROUND)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.plot.addItem(self.image)
        self.bar = pg.ColorBarItem(colorMap=pg.colormap.get("CET-D1A"), interactive=False, width=12)
        self.bar.setImageItem(self.image, insert_in=self.plot.getPlotItem())
        self.labels: list[pg.TextItem] = []
        self.z: np.ndarray | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.caption)
        layout.addWidget(self.plot, 1)

    def show_heatmap(self, heat: dict[str, Any], best: dict[str, Any]) -> None:
        z = np.asarray(heat["z"], dtype=np.float64)
        self.z = z
        xs, ys = heat["xs"], heat["ys"]
        finite = z[np.isfinite(z)]
        span = float(np.abs(finite).max()) if len(finite) else 1.0
        self.image.setImage(np.nan_to_num(z, nan=-span * 1.5), autoLevels=False)
        self.bar.setLevels((-span or -1.0, span or 1.0))
        for label in self.labels:
            self.plot.removeItem(label)
        self.labels = []
        small = z.size <= 150
        for i, _ in enumerate(ys):
            for j, _ in enumerate(xs):
                if small and math.isfinite(z[i, j]):
                    text = pg.TextItem(f"{z[i, j]:.2f}", color=TEXT, anchor=(0.5, 0.5))
                    text.setPos(j + 0.5, i + 0.5)
                    self.plot.addItem(text)
                    self.labels.append(text)
        item = self.plot.getPlotItem()
        item.getAxis("bottom").setTicks([[(j + 0.5, f"{v:g}") for j, v in enumerate(xs)]])
        item.getAxis("left").setTicks([[(i + 0.5, f"{v:g}") for i, v in enumerate(ys)]])
        item.setLabel("bottom", heat["x"], color=TEXT)
        item.setLabel("left", heat["y"] or "-", color=TEXT)
        self.plot.setRange(xRange=(0, len(xs)), yRange=(0, len(ys)), padding=0.02)
        done = int(np.isfinite(z).sum())
        self.caption.setText(
            f"{heat['objective']} over {heat['x']} × {heat['y']}: {done} of {z.size} cells scored; "
            f"best {', '.join(f'{k}={best[k]}' for k in (heat['x'], heat['y']) if k in best)} "
            "(its run is in the metrics, trades and chart)."
        )


class FanChart(QWidget):
    """Monte Carlo: equity growth percentiles along the path (5-95 and 25-75 bands, median) and the
    original run."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.caption = QLabel("Run a Monte Carlo: the fan of resampled equity paths is shown here.")
        self.caption.setStyleSheet(f"color: {MUTED};")
        self.caption.setWordWrap(True)
        self.plot = pg.PlotWidget()
        self.plot.setBackground(BACKGROUND)
        self.plot.showGrid(x=False, y=True, alpha=0.15)
        self.plot.addLegend(offset=(10, 10), labelTextColor=TEXT)
        self.plot.setLabel("bottom", "trades", color=TEXT)
        self.plot.setLabel("left", "equity × start", color=TEXT)
        self.curves: dict[int, pg.PlotDataItem] = {}
        for p in (5, 25, 75, 95):
            self.curves[p] = self.plot.plot([], [], pen=pg.mkPen(ACCENT, width=1))
        self.median = self.plot.plot([], [], pen=pg.mkPen(ACCENT, width=2), name="median")
        self.original = self.plot.plot([], [], pen=pg.mkPen(TEXT, width=2), name="this run")
        self.outer = pg.FillBetweenItem(self.curves[5], self.curves[95], brush=pg.mkBrush(255, 107, 53, 40))
        self.inner = pg.FillBetweenItem(self.curves[25], self.curves[75], brush=pg.mkBrush(255, 107, 53, 80))
        self.plot.addItem(self.outer)
        self.plot.addItem(self.inner)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.caption)
        layout.addWidget(self.plot, 1)

    def show_fan(self, fan: dict[str, Any]) -> None:
        bands = np.asarray(fan["bands"])
        original = np.asarray(fan["original"])
        x = np.linspace(0, fan["band"]["steps"], bands.shape[1])
        for p, curve in self.curves.items():
            curve.setData(x, bands[p])
        self.median.setData(x, bands[50])
        self.original.setData(x, original)
        self.plot.autoRange()
        b = fan["band"]
        fr, dd = b["final_return"], b["max_drawdown"]
        self.caption.setText(
            f"{b['iterations']:,} {b['method']} paths over {b['steps']} trades: final return 5th {_pct(fr['p5'])}, "
            f"median {_pct(fr['p50'])}, 95th {_pct(fr['p95'])}; max drawdown median {_pct(dd['p50'])}; "
            f"ruin (equity ≤ {b['ruin_level']:.0%}) {_pct(b['ruin_probability'])}."
        )
