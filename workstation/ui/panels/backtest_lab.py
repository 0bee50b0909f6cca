"""The backtest lab: pick stored data, a strategy and its parameters (widgets generated from the
strategy's declared specs), run it in a worker process with a progress bar and a cancel button;
metrics, equity curve against buy-and-hold, and the trades on the chart."""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
from concurrent.futures import Executor, ProcessPoolExecutor
from pathlib import Path
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from workstation.strategies.base import ParamSpec
from workstation.strategies.builtin import REGISTRY
from workstation.ui.engine_model import spawn
from workstation.ui.lab_job import LabRequest, LabResult, run_lab
from workstation.ui.store_worker import Catalog, SeriesKey, StoreWorker, read_catalog
from workstation.ui.theme import ACCENT, BACKGROUND, MUTED, TEXT

log = logging.getLogger(__name__)

PCT = {"total_return", "cagr", "max_drawdown", "win_rate", "exposure", "volatility", "average_trade_return"}
SHOWN = (
    ("total_return", "Total return"),
    ("cagr", "CAGR"),
    ("sharpe", "Sharpe"),
    ("sortino", "Sortino"),
    ("max_drawdown", "Max drawdown"),
    ("calmar", "Calmar"),
    ("trade_count", "Trades"),
    ("win_rate", "Win rate"),
    ("profit_factor", "Profit factor"),
    ("exposure", "Exposure"),
    ("fees_paid", "Fees paid"),
    ("final_equity", "Final equity"),
)


def fmt_metric(key: str, value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.2%}" if key in PCT else f"{value:,.3f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def param_widget(spec: ParamSpec) -> QAbstractSpinBox:
    """A spin box bounded and stepped as the strategy declares the parameter."""
    if spec.type is int:
        box: QAbstractSpinBox = QSpinBox()
        box.setRange(int(spec.low), int(spec.high))
        box.setSingleStep(max(1, int(spec.step)))
        box.setValue(int(spec.default))
    else:
        box = QDoubleSpinBox()
        decimals = max(2, len(f"{spec.step:g}".partition(".")[2]))
        box.setDecimals(decimals)
        box.setRange(float(spec.low), float(spec.high))
        box.setSingleStep(float(spec.step))
        box.setValue(float(spec.default))
    box.setToolTip(spec.help or spec.name)
    box.setObjectName(f"param_{spec.name}")
    return box


class BacktestLab(QWidget):
    finished = Signal(object)  # LabResult
    failed = Signal(str)

    def __init__(self, worker: StoreWorker, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.worker = worker
        self.catalog: Catalog | None = None
        self.result: LabResult | None = None
        self._pool: Executor | None = None
        self._future: asyncio.Future[Any] | None = None
        self.param_boxes: dict[str, QAbstractSpinBox] = {}

        self.series_box = QComboBox()
        self.interval_box = QComboBox()
        self.strategy_box = QComboBox()
        for name, cls in REGISTRY.items():
            self.strategy_box.addItem(name, name)
            self.strategy_box.setItemData(self.strategy_box.count() - 1, cls.description, Qt.ItemDataRole.ToolTipRole)
        self.cash_box = QDoubleSpinBox()
        self.cash_box.setRange(100, 1e9)
        self.cash_box.setDecimals(0)
        self.cash_box.setValue(10_000)
        self.params_form = QFormLayout()
        self.run_button = QPushButton("Run backtest")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat("idle")
        self.status = QLabel("Pick data, a strategy and its parameters.")
        self.status.setWordWrap(True)
        self.status.setStyleSheet(f"color: {MUTED};")

        form = QFormLayout()
        form.addRow("Data", self.series_box)
        form.addRow("Interval", self.interval_box)
        form.addRow("Strategy", self.strategy_box)
        form.addRow("Cash", self.cash_box)
        params_group = QGroupBox("Parameters")
        params_group.setLayout(self.params_form)
        buttons = QHBoxLayout()
        buttons.addWidget(self.run_button)
        buttons.addWidget(self.cancel_button)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.addLayout(form)
        left_layout.addWidget(params_group)
        left_layout.addLayout(buttons)
        left_layout.addWidget(self.progress)
        left_layout.addWidget(self.status)
        left_layout.addStretch(1)

        self.metrics = QTableWidget(len(SHOWN), 3)
        self.metrics.setHorizontalHeaderLabels(["Metric", "Strategy", "Buy & hold"])
        self.metrics.verticalHeader().hide()
        self.metrics.horizontalHeader().setStretchLastSection(True)
        for row, (_, title) in enumerate(SHOWN):
            self.metrics.setItem(row, 0, QTableWidgetItem(title))
        self.equity_plot = pg.PlotWidget(axisItems={"bottom": pg.DateAxisItem(utcOffset=0)})
        self.equity_plot.setBackground(BACKGROUND)
        self.equity_plot.addLegend(offset=(10, 10), labelTextColor=TEXT)
        self.equity_plot.showGrid(x=False, y=True, alpha=0.15)
        self.equity_curve = self.equity_plot.plot([], [], pen=pg.mkPen(ACCENT, width=2), name="strategy")
        self.bench_curve = self.equity_plot.plot([], [], pen=pg.mkPen(MUTED, width=1), name="buy & hold")

        scroll = QScrollArea()  # the form scrolls rather than forcing the dock area taller
        scroll.setWidget(left)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        self.metrics.setMinimumHeight(60)
        self.equity_plot.setMinimumHeight(60)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(scroll)
        splitter.addWidget(self.metrics)
        splitter.addWidget(self.equity_plot)
        splitter.setSizes([300, 300, 520])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(splitter)

        self.strategy_box.currentIndexChanged.connect(self._build_params)
        self.series_box.currentIndexChanged.connect(self._fill_intervals)
        self.run_button.clicked.connect(self.run)
        self.cancel_button.clicked.connect(self.cancel)
        self.strategy_box.setCurrentText("sma_cross")
        self._build_params()

    # --- inputs -------------------------------------------------------------------------------
    def load_catalog(self) -> None:
        self.worker.submit(read_catalog, self._on_catalog)

    def _on_catalog(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.series_box.clear()
        for key in catalog.keys():
            self.series_box.addItem(key.label(), key)
        if not catalog.keys():
            self.status.setText("The candle store is empty: import data with `workstation data import`.")

    def _fill_intervals(self, *_: object) -> None:
        key = self.series_box.currentData()
        self.interval_box.clear()
        if self.catalog is not None and isinstance(key, SeriesKey):
            self.interval_box.addItems(self.catalog.intervals(key))
            self.interval_box.setCurrentText("1h")

    def _build_params(self, *_: object) -> None:
        while self.params_form.rowCount():
            self.params_form.removeRow(0)
        self.param_boxes = {}
        cls = REGISTRY[self.strategy_box.currentData() or "sma_cross"]
        for spec in cls.params():
            box = param_widget(spec)
            self.param_boxes[spec.name] = box
            self.params_form.addRow(spec.name, box)
        if not self.param_boxes:
            self.params_form.addRow(QLabel("no parameters"))

    def params(self) -> dict[str, Any]:
        return {name: box.value() for name, box in self.param_boxes.items()}  # type: ignore[attr-defined]

    def request(self) -> LabRequest:
        key = self.series_box.currentData()
        if not isinstance(key, SeriesKey):
            raise ValueError("no data picked (the candle store is empty?)")
        return LabRequest(
            db=Path(self.worker.path),
            venue=key.venue,
            symbol=key.symbol,
            interval=self.interval_box.currentText(),
            strategy=str(self.strategy_box.currentData()),
            params=self.params(),
            cash=self.cash_box.value(),
        )

    # --- running ------------------------------------------------------------------------------
    def _executor(self) -> Executor:
        if self._pool is None:
            # spawn: a forked child of a Qt process with live threads can deadlock
            self._pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
        return self._pool

    def run(self) -> None:
        try:
            request = self.request()
            REGISTRY[request.strategy].create(request.params)
        except (ValueError, KeyError) as exc:
            self._fail(str(exc))
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError as exc:
            self._fail(f"the engine loop is not running ({exc})")
            return
        self.run_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.progress.setRange(0, 0)  # one backtest reports no fractions: busy until done
        self.status.setText(f"Running {request.strategy} on {request.symbol} {request.interval} in a worker process…")
        self._future = loop.run_in_executor(self._executor(), run_lab, request)
        spawn(self._future, self._done, self._fail)

    def cancel(self) -> None:
        if self._future is None:
            return
        self._future.cancel()
        self._future = None
        self._kill_pool()
        self._idle("cancelled")
        self.status.setText("Backtest cancelled (the worker process was stopped).")

    def _kill_pool(self) -> None:
        pool, self._pool = self._pool, None
        if isinstance(pool, ProcessPoolExecutor):
            for process in list(getattr(pool, "_processes", {}).values()):
                process.terminate()
            pool.shutdown(wait=False, cancel_futures=True)

    def shutdown(self) -> None:
        self._kill_pool()

    def _idle(self, text: str) -> None:
        self.run_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        self.progress.setRange(0, 1)
        self.progress.setValue(1 if text == "done" else 0)
        self.progress.setFormat(text)

    def _fail(self, text: str) -> None:
        self._future = None
        self._idle("failed")
        self.status.setText(f"Backtest failed: {text}")
        log.error("backtest lab: %s", text)
        self.failed.emit(text)

    def _done(self, result: LabResult) -> None:
        self._future = None
        self.result = result
        self._idle("done")
        m = result.metrics
        self.status.setText(
            f"{result.label} on {result.request.symbol} {result.request.interval}: {m['bars']:,} bars "
            f"{m['start']} → {m['end']} in {result.seconds:.2f} s; trades are marked on the chart."
        )
        for row, (key, _) in enumerate(SHOWN):
            self.metrics.setItem(row, 1, QTableWidgetItem(fmt_metric(key, m.get(key))))
            self.metrics.setItem(row, 2, QTableWidgetItem(fmt_metric(key, result.benchmark.get(key))))
        x = result.ts / 1000.0
        self.equity_curve.setData(x, result.equity)
        self.bench_curve.setData(x, result.benchmark_equity)
        self.equity_plot.autoRange()
        log.info("backtest lab: %s total return %s", result.label, fmt_metric("total_return", m["total_return"]))
        self.finished.emit(result)

    def metric_text(self, title: str) -> str:
        for row, (_, shown) in enumerate(SHOWN):
            if shown == title:
                item = self.metrics.item(row, 1)
                return item.text() if item else ""
        raise KeyError(title)
