"""The backtest lab: pick stored data, a strategy and its parameters (widgets generated from the
strategy's declared specs); run a backtest, a two-parameter sweep, a walk-forward or a Monte Carlo
in a worker process with a progress bar (a real fraction read from shared memory) and a cancel
button; metrics, equity against buy-and-hold, trade list, heatmap, fan, windows; the trades on the
chart; and "send to graduation queue" with the run's evidence."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from workstation.strategies.builtin import REGISTRY
from workstation.ui.engine_link import EngineLink
from workstation.ui.engine_model import spawn
from workstation.ui.lab_job import LabResult
from workstation.ui.lab_pool import LabPool
from workstation.ui.panels.lab_equity import EquityPlots
from workstation.ui.panels.lab_form import LabForm
from workstation.ui.panels.lab_inputs import fmt_metric
from workstation.ui.panels.lab_metrics import MetricsTable
from workstation.ui.panels.lab_results import FanChart, Heatmap, TradeList, WindowsTable
from workstation.ui.store_worker import Catalog, StoreWorker, read_catalog
from workstation.ui.theme import MUTED

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
        self.pool = LabPool()
        self._poll = QTimer(self)
        self._poll.setInterval(100)
        self._poll.timeout.connect(self._show_progress)
        self.result: LabResult | None = None
        self._future: asyncio.Future[Any] | None = None

        self.form = LabForm()
        f = self.form  # its widgets, reachable from the lab as before
        self.series_box, self.interval_box, self.strategy_box, self.cash_box = (
            f.series_box, f.interval_box, f.strategy_box, f.cash_box)  # fmt: skip
        self.mode_box, self.grid_x, self.grid_y = f.mode_box, f.grid_x, f.grid_y
        self.train_box, self.test_box, self.iterations_box = f.train_box, f.test_box, f.iterations_box
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

        buttons = QHBoxLayout()
        buttons.addWidget(self.run_button)
        buttons.addWidget(self.cancel_button)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.addWidget(self.form)
        left_layout.addLayout(buttons)
        left_layout.addWidget(self.progress)
        left_layout.addWidget(self.status)
        left_layout.addWidget(self.send_button)
        left_layout.addStretch(1)
        scroll = QScrollArea()  # the form scrolls rather than forcing the dock area taller
        scroll.setWidget(left)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setMinimumWidth(left.minimumSizeHint().width() + scroll.verticalScrollBar().sizeHint().width())

        self.metrics = MetricsTable()
        self.equity = EquityPlots()
        self.equity_plot, self.equity_curve = self.equity.equity_plot, self.equity.equity_curve
        self.trade_list = TradeList()
        self.heatmap = Heatmap()
        self.fan = FanChart()
        self.windows = WindowsTable()
        self.tabs = QTabWidget()
        for widget, title in ((self.equity, "Equity"), (self.trade_list, "Trades"), (self.heatmap, "Sweep"),
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

        self.run_button.clicked.connect(self.run)
        self.cancel_button.clicked.connect(self.cancel)
        self.send_button.clicked.connect(self.send_to_graduation)

    @property
    def param_boxes(self) -> dict[str, QAbstractSpinBox]:
        return self.form.param_boxes

    @property
    def catalog(self) -> Catalog | None:
        return self.form.catalog

    # --- inputs -------------------------------------------------------------------------------
    def load_catalog(self) -> None:
        self.worker.submit(read_catalog, self._on_catalog)

    def _on_catalog(self, catalog: Catalog) -> None:
        if not self.form.show_catalog(catalog):
            self.status.setText("The candle store is empty: import data with `workstation data import`.")

    # --- running ------------------------------------------------------------------------------
    def run(self) -> None:
        try:
            request = self.form.request(Path(self.worker.path))
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
        if request.mode == "backtest":
            self.progress.setRange(0, 0)  # one backtest reports no fractions: busy until done
        else:
            self.progress.setRange(0, 1000)
            self.progress.setValue(0)
            self.progress.setFormat("%p%")
            self._poll.start()
        what = self.mode_box.currentText().lower()
        self.status.setText(f"{what}: {request.strategy} on {request.symbol} {request.interval} in a worker process…")
        self._future = self.pool.submit(loop, request)
        spawn(self._future, self._done, self._fail)

    def fraction(self) -> float:
        return self.pool.fraction()

    def _show_progress(self) -> None:
        if self.progress.maximum() > 0:
            self.progress.setValue(round(self.fraction() * 1000))

    def cancel(self) -> None:
        if self._future is None:
            return
        self._future.cancel()
        self._future = None
        self.pool.kill()
        self._idle("cancelled")
        self.status.setText("Run cancelled (the worker process was stopped).")

    def shutdown(self) -> None:
        self.pool.kill()

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
            + (f" {result.note}." if result.note else "")
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
            self.tabs.setCurrentWidget(self.equity)
        self.metrics.show_metrics(m, result.benchmark)
        self.equity.show_curves(result.curves)
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
        return self.metrics.text(title)
