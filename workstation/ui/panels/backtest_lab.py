"""The backtest lab: pick stored data, a strategy and its parameters (widgets generated from the
strategy's declared specs); run a backtest, a two-parameter sweep, a walk-forward or a Monte Carlo
in a worker process with a progress bar (a real fraction read from shared memory) and a cancel
button; metrics, equity against buy-and-hold, trade list, heatmap, fan, windows; the trades on the
chart; and "send to graduation queue" with the run's evidence."""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
from concurrent.futures import Executor, ProcessPoolExecutor
from pathlib import Path
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from workstation.strategies.builtin import REGISTRY
from workstation.ui.engine_link import EngineLink
from workstation.ui.engine_model import spawn
from workstation.ui.lab_job import MODES, LabRequest, LabResult, init_worker, parse_grid, run_lab
from workstation.ui.panels.lab_inputs import SHOWN, default_grid, fmt_metric, param_widget
from workstation.ui.panels.lab_results import FanChart, Heatmap, TradeList, WindowsTable
from workstation.ui.store_worker import Catalog, SeriesKey, StoreWorker, read_catalog
from workstation.ui.theme import ACCENT, BACKGROUND, MUTED, TEXT

log = logging.getLogger(__name__)


class BacktestLab(QWidget):
    finished = Signal(object)  # LabResult
    failed = Signal(str)

    jump_to = Signal(object, object)  # entry ms, exit ms (or None): show that trade on the chart
    sent = Signal(str, bool)  # graduation queue outcome

    def __init__(self, worker: StoreWorker, link: EngineLink | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.worker = worker
        self.link = link
        self._progress: Any = None
        self._poll = QTimer(self)
        self._poll.setInterval(100)
        self._poll.timeout.connect(self._show_progress)
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
        self.mode_box = QComboBox()
        for mode, title in zip(MODES, ("Backtest", "Sweep (2 params)", "Walk-forward", "Monte Carlo"), strict=True):
            self.mode_box.addItem(title, mode)
        self.grid_x = QLineEdit()
        self.grid_y = QLineEdit()
        for box in (self.grid_x, self.grid_y):
            box.setToolTip("name=low:high:step or name=v1,v2,... (sweep and walk-forward)")
        self.train_box = QSpinBox()
        self.train_box.setRange(1, 3650)
        self.train_box.setValue(20)
        self.train_box.setSuffix(" d train")
        self.test_box = QSpinBox()
        self.test_box.setRange(1, 3650)
        self.test_box.setValue(7)
        self.test_box.setSuffix(" d test")
        self.iterations_box = QSpinBox()
        self.iterations_box.setRange(100, 100_000)
        self.iterations_box.setSingleStep(1000)
        self.iterations_box.setValue(2_000)
        self.run_button = QPushButton("Run")
        self.send_button = QPushButton("Send to graduation queue")
        self.send_button.setEnabled(False)
        self.send_button.setToolTip("Adds this run as a CANDIDATE with its evidence (backtest, walk-forward, MC band).")
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
        form.addRow("Run", self.mode_box)
        form.addRow("Grid X", self.grid_x)
        form.addRow("Grid Y", self.grid_y)
        wf_row = QHBoxLayout()
        wf_row.addWidget(self.train_box)
        wf_row.addWidget(self.test_box)
        form.addRow("Walk-forward", wf_row)
        form.addRow("MC paths", self.iterations_box)
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
        left_layout.addWidget(self.send_button)
        left_layout.addStretch(1)

        self.metrics = QTableWidget(len(SHOWN), 3)
        self.metrics.setHorizontalHeaderLabels(["Metric", "Strategy", "Buy & hold"])
        self.metrics.verticalHeader().hide()
        self.metrics.horizontalHeader().setStretchLastSection(True)
        self.metrics.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.metrics.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        for row, (_, title) in enumerate(SHOWN):
            self.metrics.setItem(row, 0, QTableWidgetItem(title))
        self.equity_plot = pg.PlotWidget(axisItems={"bottom": pg.DateAxisItem(utcOffset=0)})
        self.equity_plot.setBackground(BACKGROUND)
        self.equity_plot.addLegend(offset=(10, 10), labelTextColor=TEXT)
        self.equity_plot.showGrid(x=False, y=True, alpha=0.15)
        self.equity_curve = self.equity_plot.plot([], [], pen=pg.mkPen(ACCENT, width=2), name="strategy")
        self.bench_curve = self.equity_plot.plot([], [], pen=pg.mkPen(MUTED, width=1), name="buy & hold")
        self._show_equity_axes(False)  # no meaningless 0..1 ticks before the first run

        scroll = QScrollArea()  # the form scrolls rather than forcing the dock area taller
        scroll.setWidget(left)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setMinimumWidth(left.minimumSizeHint().width() + scroll.verticalScrollBar().sizeHint().width())
        self.metrics.setMinimumHeight(60)
        self.equity_plot.setMinimumHeight(60)
        self.trade_list = TradeList()
        self.heatmap = Heatmap()
        self.fan = FanChart()
        self.windows = WindowsTable()
        self.tabs = QTabWidget()
        for widget, title in ((self.equity_plot, "Equity"), (self.trade_list, "Trades"), (self.heatmap, "Sweep"),
                              (self.fan, "Monte Carlo"), (self.windows, "Walk-forward")):  # fmt: skip
            self.tabs.addTab(widget, title)
        self.trade_list.jump_to.connect(self.jump_to)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(scroll)
        splitter.addWidget(self.metrics)
        splitter.addWidget(self.tabs)
        splitter.setSizes([360, 300, 540])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(splitter)

        self.strategy_box.currentIndexChanged.connect(self._build_params)
        self.series_box.currentIndexChanged.connect(self._fill_intervals)
        self.run_button.clicked.connect(self.run)
        self.cancel_button.clicked.connect(self.cancel)
        self.send_button.clicked.connect(self.send_to_graduation)
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
        grids = [default_grid(spec) for spec in cls.params()]
        self.grid_x.setText(grids[0] if grids else "")
        self.grid_y.setText(grids[1] if len(grids) > 1 else "")

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
            mode=str(self.mode_box.currentData()),
            grid=self.grid() if self.mode_box.currentData() in ("sweep", "walkforward") else (),
            train_days=self.train_box.value(),
            test_days=self.test_box.value(),
            iterations=self.iterations_box.value(),
        )

    def grid(self) -> tuple[tuple[str, tuple[float, ...]], ...]:
        out = []
        for box in (self.grid_x, self.grid_y):
            if box.text().strip():
                name, values = parse_grid(box.text())
                if name not in self.param_boxes:
                    raise ValueError(f"{name!r} is not a parameter of {self.strategy_box.currentData()}")
                out.append((name, tuple(float(v) for v in values)))
        if not out:
            raise ValueError("give at least one grid (Grid X), e.g. fast=5:30:5")
        return tuple(out)

    # --- running ------------------------------------------------------------------------------
    def _executor(self) -> Executor:
        if self._pool is None:
            # spawn: a forked child of a Qt process with live threads can deadlock
            context = multiprocessing.get_context("spawn")
            self._progress = context.RawArray("d", 2)  # done, total: written by the worker
            self._pool = ProcessPoolExecutor(
                max_workers=1, mp_context=context, initializer=init_worker, initargs=(self._progress,)
            )
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
        self.send_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        executor = self._executor()
        self._progress[0], self._progress[1] = 0.0, 0.0
        if request.mode == "backtest":
            self.progress.setRange(0, 0)  # one backtest reports no fractions: busy until done
        else:
            self.progress.setRange(0, 1000)
            self.progress.setValue(0)
            self.progress.setFormat("%p%")
            self._poll.start()
        what = self.mode_box.currentText().lower()
        self.status.setText(f"{what}: {request.strategy} on {request.symbol} {request.interval} in a worker process…")
        self._future = loop.run_in_executor(executor, run_lab, request)
        spawn(self._future, self._done, self._fail)

    def fraction(self) -> float:
        if self._progress is None or self._progress[1] <= 0:
            return 0.0
        return min(1.0, float(self._progress[0]) / float(self._progress[1]))

    def _show_progress(self) -> None:
        if self.progress.maximum() > 0:
            self.progress.setValue(round(self.fraction() * 1000))

    def cancel(self) -> None:
        if self._future is None:
            return
        self._future.cancel()
        self._future = None
        self._kill_pool()
        self._idle("cancelled")
        self.status.setText("Run cancelled (the worker process was stopped).")

    def _kill_pool(self) -> None:
        pool, self._pool = self._pool, None
        if isinstance(pool, ProcessPoolExecutor):
            for process in list(getattr(pool, "_processes", {}).values()):
                process.terminate()
            pool.shutdown(wait=False, cancel_futures=True)

    def shutdown(self) -> None:
        self._kill_pool()

    def _idle(self, text: str) -> None:
        self._poll.stop()
        self.run_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        self.progress.setRange(0, 1)
        self.progress.setValue(1 if text == "done" else 0)
        self.progress.setFormat(text)
        self.send_button.setEnabled(self.result is not None and text == "done" and self.link is not None)

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
        self.trade_list.show_trades(result.trades)
        if result.heatmap is not None:
            self.heatmap.show_heatmap(result.heatmap, result.params)
            self.tabs.setCurrentWidget(self.heatmap)
        elif result.fan is not None:
            self.fan.show_fan(result.fan)
            self.tabs.setCurrentWidget(self.fan)
        elif result.windows:
            self.windows.show_windows(result.windows)
            self.tabs.setCurrentWidget(self.windows)
        else:
            self.tabs.setCurrentWidget(self.equity_plot)
        for row, (key, _) in enumerate(SHOWN):
            self.metrics.setItem(row, 1, QTableWidgetItem(fmt_metric(key, m.get(key))))
            self.metrics.setItem(row, 2, QTableWidgetItem(fmt_metric(key, result.benchmark.get(key))))
        x = result.ts / 1000.0
        self.equity_curve.setData(x, result.equity)
        self._show_equity_axes(True)
        self.bench_curve.setData(x, result.benchmark_equity)
        self.equity_plot.autoRange()
        log.info("backtest lab: %s total return %s", result.label, fmt_metric("total_return", m["total_return"]))
        self.finished.emit(result)

    # --- graduation -----------------------------------------------------------------------------
    def send_to_graduation(self) -> None:
        result = self.result
        if result is None or self.link is None:
            return
        r = result.request
        spec = {"strategy": r.strategy, "params": result.params, "symbol": r.symbol, "interval": r.interval,
                "evidence": result.evidence}  # fmt: skip
        self.send_button.setEnabled(False)

        def done(answer: dict[str, Any]) -> None:
            self.status.setText(str(answer.get("detail")))
            self.sent.emit(str(answer.get("detail")), True)

        def failed(text: str) -> None:
            self.status.setText(f"Not queued: {text}")
            self.send_button.setEnabled(True)
            self.sent.emit(text, False)

        spawn(self.link.add_candidate(spec), done, failed)

    def metric_text(self, title: str) -> str:
        for row, (_, shown) in enumerate(SHOWN):
            if shown == title:
                item = self.metrics.item(row, 1)
                return item.text() if item else ""
        raise KeyError(title)

    def _show_equity_axes(self, shown: bool) -> None:
        for name in ("left", "bottom"):
            self.equity_plot.getAxis(name).setStyle(showValues=shown)
