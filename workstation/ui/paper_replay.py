"""Paper replay from the desktop: a strategy on the shipped sample (or any stored series) through
the engine's OMS and the gated paper venue (workstation.paper.session.run_replay), on the qasync
loop. The panels read the replay's kernel; fills become markers on the chart. In debug mode the
gate denies every order, so the replay runs and every order shows as DENIED."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QDoubleSpinBox, QFormLayout, QHBoxLayout, QLabel, QPushButton, QWidget

from workstation.core.events import OrderDenied, OrderFilled
from workstation.runtime import Runtime
from workstation.strategies.builtin import REGISTRY
from workstation.ui.local_engine import LocalEngine
from workstation.ui.theme import MUTED

log = logging.getLogger(__name__)
DEFAULT_SERIES = ("BTCUSDT", "1m")


class PaperReplayPanel(QWidget):
    """Strategy picker, speed, Start/Stop and a running count of bars, fills and denials."""

    started = Signal()
    finished = Signal(str)  # outcome text
    fill = Signal(object)  # chart marker {ts, price, kind, side}

    def __init__(self, runtime: Runtime, engine: LocalEngine | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.runtime = runtime
        self.engine = engine
        self.task: asyncio.Task[int] | None = None
        self.kernel: Any = None
        self.paper: Any = None
        self.counts = {"fills": 0, "denied": 0}
        self.bar_ts = 0
        self.strategy_box = QComboBox()
        for name, cls in REGISTRY.items():
            self.strategy_box.addItem(name, name)
            self.strategy_box.setItemData(self.strategy_box.count() - 1, cls.description, Qt.ItemDataRole.ToolTipRole)
        self.strategy_box.setCurrentText("sma_cross")
        self.series_label = QLabel(f"{DEFAULT_SERIES[0]} {DEFAULT_SERIES[1]} (the shipped sample)")
        self.speed_box = QDoubleSpinBox()
        self.speed_box.setRange(0, 100_000)
        self.speed_box.setDecimals(0)
        self.speed_box.setValue(500)
        self.speed_box.setSuffix(" bars/s")
        self.speed_box.setSpecialValueText("as fast as possible")
        self.start_button = QPushButton("Start paper replay")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setEnabled(False)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.status.setStyleSheet(f"color: {MUTED};")
        form = QFormLayout(self)
        form.addRow("Series", self.series_label)
        form.addRow("Strategy", self.strategy_box)
        form.addRow("Speed", self.speed_box)
        buttons = QHBoxLayout()
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.stop_button)
        buttons.addStretch(1)
        form.addRow(buttons)
        form.addRow(self.status)
        self.start_button.clicked.connect(self.start)
        self.stop_button.clicked.connect(self.stop)
        runtime.bus.subscribe(OrderFilled, self._on_fill)  # weakly held: lives as long as the panel
        runtime.bus.subscribe(OrderDenied, self._on_denied)
        self._idle_text()
        if engine is None:
            self.start_button.setEnabled(False)
            self.status.setText("Paper replays run in the desktop's own engine, not on a remote one.")

    @property
    def running(self) -> bool:
        return self.task is not None and not self.task.done()

    def _idle_text(self) -> None:
        debug = self.runtime.debug_switch.enabled
        self.status.setText(
            "Debug mode is on: the replay runs and every order is DENIED (shown in the log and the orders)."
            if debug
            else "Replays the series through the strategy, the OMS and the paper venue; fills land on the chart."
        )

    def start(self) -> None:
        if self.running or self.engine is None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError as exc:
            self.status.setText(f"the engine loop is not running ({exc})")
            return
        self.counts = {"fills": 0, "denied": 0}
        self.start_button.setEnabled(False)
        self.strategy_box.setEnabled(False)
        self.stop_button.setEnabled(True)
        self.status.setText(f"Starting {self.strategy_box.currentText()} on {' '.join(DEFAULT_SERIES)}…")
        self.task = loop.create_task(self._run(str(self.strategy_box.currentData()), self.speed_box.value()))
        self.task.add_done_callback(self._done)
        self.started.emit()

    async def _run(self, strategy: str, speed: float) -> int:
        from workstation.exchanges.simulated.client import PaperExecutionClient
        from workstation.paper.session import ReplaySpec, candle_store_path, run_replay
        from workstation.wiring import build_kernel

        assert self.engine is not None
        rt = self.runtime
        paper = self.paper = PaperExecutionClient(cash=rt.settings.trading.paper_balance)
        kernel = build_kernel(rt, paper=paper, poll_interval_s=None)
        assert kernel is not None
        await kernel.start()
        old = self.engine.service.kernel
        self.kernel, self.engine.service.kernel = kernel, kernel  # the panels now read the replay's account
        if old is not None and old is not kernel and old is not self.engine._kernel_given:
            await old.stop()
        self.engine._set_state(self.engine.label, "paper replay")
        spec = ReplaySpec(*DEFAULT_SERIES, strategy)
        return await run_replay(kernel, paper, rt.gate, spec, candle_store_path(rt.home), bars_per_second=speed)

    def stop(self) -> None:
        if self.running:
            assert self.task is not None
            self.task.cancel()

    def _done(self, task: asyncio.Task[int]) -> None:
        self.start_button.setEnabled(self.engine is not None)
        self.strategy_box.setEnabled(True)
        self.stop_button.setEnabled(False)
        counts = f"{self.counts['fills']} fill(s), {self.counts['denied']} denied"
        if task.cancelled():
            text = f"Replay stopped: {counts}."
        elif task.exception() is not None:
            exc = task.exception()
            text = f"Replay failed: {exc}"
            log.error("paper replay failed", exc_info=exc)
        else:
            text = f"Replay finished: {task.result():,} bars, {counts}."
        self.status.setText(text)
        log.info("paper replay: %s", text)
        if self.engine is not None:
            self.engine._set_state(self.engine.label, "paper (replay idle)")
        self.finished.emit(text)

    def _on_fill(self, event: OrderFilled) -> None:
        if not self.running:
            return
        self.counts["fills"] += 1
        book = self.paper.account.books.get(event.symbol) if self.paper is not None else None
        bar = getattr(book, "bar", None) or getattr(book, "prev", None)
        ts = int(bar.ts) if bar is not None else int(event.ts)  # the replayed candle, not the wall clock
        side = 1 if event.side.value.lower() == "buy" else -1
        self.fill.emit({"ts": ts, "price": float(event.price), "kind": "entry", "side": side})  # up buy, down sell
        self._progress()

    def _on_denied(self, event: OrderDenied) -> None:
        if self.running:
            self.counts["denied"] += 1
            self._progress()

    def _progress(self) -> None:
        self.status.setText(f"Running: {self.counts['fills']} fill(s), {self.counts['denied']} denied so far…")
