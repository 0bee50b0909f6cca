"""Paper replay from the desktop: a strategy on a stored series (picked from the candle store as the
chart picks it: symbol · venue, then a stored interval; the shipped sample by default) through the risk manager, the
engine's OMS and the gated paper venue, on the qasync loop, into the home's journalled paper
account exactly as `workstation trade --env paper` trades it (paper.account_session): a second replay
resumes after the last candle the account finished. The panels read the replay's kernel; fills
become markers on the chart; the risk engine's decisions and denials are listed here. In debug
mode the gate denies every order, so the replay runs and every order shows as DENIED."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from workstation.core.events import OrderDenied, OrderFilled, OrderSizeReduced, RiskDecision, RiskDenied
from workstation.paper.account_session import PaperSession
from workstation.paper.session import ReplaySpec, parse_params
from workstation.runtime import Runtime
from workstation.strategies.builtin import REGISTRY
from workstation.ui.candles_item import DOWN_COLOR
from workstation.ui.local_engine import LocalEngine
from workstation.ui.store_worker import Catalog, SeriesKey, StoreWorker, read_catalog
from workstation.ui.theme import ACCENT, MUTED

log = logging.getLogger(__name__)
DEFAULT_SERIES = ("BTCUSDT", "1m")
MAX_RISK_LINES = 200


def utc(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M")


def risk_line(event: RiskDecision) -> str:
    kind = "DENIED" if isinstance(event, RiskDenied) else "REDUCED" if isinstance(event, OrderSizeReduced) else "sized"
    asked = f"{float(event.requested_qty):.6g}"
    qty = f"asked {asked}" if isinstance(event, RiskDenied) else f"{float(event.qty):.6g} (asked {asked})"
    return f"{kind} {event.side.value} {event.symbol} {qty} [{event.state.value}]: {event.reason}"


class PaperReplayPanel(QWidget):
    """Strategy picker, speed, risk on/off, Start/Stop, a running count of bars, fills, denials and
    risk decisions, and the risk engine's latest denials and reductions."""

    started = Signal()
    finished = Signal(str)  # outcome text
    fill = Signal(object)  # chart marker {ts, price, kind, side}

    def __init__(self, runtime: Runtime, engine: LocalEngine | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.runtime = runtime
        self.engine = engine
        self.task: asyncio.Task[int] | None = None
        self.session: PaperSession | None = None
        self.counts = {"fills": 0, "denied": 0, "risk_sized": 0, "risk_reduced": 0, "risk_denied": 0}
        self.resumed_after: int | None = None
        self._reconcile: asyncio.Task[object] | None = None
        self.strategy_box = QComboBox()
        for name, cls in REGISTRY.items():
            self.strategy_box.addItem(name, name)
            self.strategy_box.setItemData(self.strategy_box.count() - 1, cls.description, Qt.ItemDataRole.ToolTipRole)
        self.strategy_box.setCurrentText("sma_cross")
        self.params_edit = QLineEdit()  # the strategy's parameters, as in --replay ...:STRATEGY:NAME=VALUE,...
        self.params_edit.setPlaceholderText("defaults, or name=value,name=value")
        self.params_edit.setToolTip("The strategy's parameters (e.g. fast=5,slow=20); the others keep their defaults")
        self.worker: StoreWorker | None = None
        self.catalog: Catalog | None = None
        self.series_box = QComboBox()  # symbol · venue, filled from the store (load_catalog)
        self.series_box.setToolTip("A stored series; import more with `workstation data import`")
        self.interval_box = QComboBox()  # the intervals stored for that series (replayed as stored)
        self.refresh_button = QPushButton("↻")
        self.refresh_button.setToolTip("Re-read the candle store's series")
        self.series_box.currentIndexChanged.connect(self._fill_intervals)
        self.refresh_button.clicked.connect(lambda: self.load_catalog())
        self.speed_box = QDoubleSpinBox()
        self.speed_box.setRange(0, 100_000)
        self.speed_box.setDecimals(0)
        self.speed_box.setValue(500)
        self.speed_box.setSuffix(" bars/s")
        self.speed_box.setSpecialValueText("as fast as possible")
        self.risk_box = QCheckBox("risk manager sizes and limits every order")
        self.risk_box.setToolTip(
            "As `workstation trade --env paper`: the settings' risk limits and the saved risk state"
        )
        self.risk_box.setChecked(True)
        self.start_button = QPushButton("Start paper replay")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setEnabled(False)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.status.setStyleSheet(f"color: {MUTED};")
        self.risk_label = QLabel("Risk: no decisions yet")
        self.risk_label.setWordWrap(True)
        self.risk_list = QListWidget()
        self.risk_list.setWordWrap(True)  # a reason is read whole, not cut at the edge
        self.risk_list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.risk_list.setToolTip("The risk engine's latest decisions, newest first (denials red, reductions orange)")
        layout = QHBoxLayout(self)  # controls left, risk decisions right: short enough for a bottom tab
        form = QFormLayout()
        layout.addLayout(form, 1)
        risk_column = QVBoxLayout()
        layout.addLayout(risk_column, 1)
        series = QHBoxLayout()
        series.addWidget(self.series_box, 1)
        series.addWidget(self.interval_box)
        series.addWidget(self.refresh_button)
        form.addRow("Series", series)
        form.addRow("Strategy", self.strategy_box)
        form.addRow("Parameters", self.params_edit)
        form.addRow("Speed", self.speed_box)
        form.addRow("Risk", self.risk_box)
        buttons = QHBoxLayout()
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.stop_button)
        buttons.addStretch(1)
        form.addRow(buttons)
        form.addRow(self.status)
        risk_column.addWidget(self.risk_label)
        risk_column.addWidget(self.risk_list, 1)
        self.start_button.clicked.connect(self.start)
        self.stop_button.clicked.connect(self.stop)
        runtime.bus.subscribe(OrderFilled, self._on_fill)  # weakly held: lives as long as the panel
        runtime.bus.subscribe(OrderDenied, self._on_denied)
        runtime.bus.subscribe(RiskDecision, self._on_risk)
        self._idle_text()
        if engine is None:
            self.start_button.setEnabled(False)
            self.status.setText("Paper replays run in the desktop's own engine, not on a remote one.")

    # --- the series picker ----------------------------------------------------------------------
    def load_catalog(self, worker: StoreWorker | None = None) -> None:
        """Read the store's series on the store thread (queued behind the chart's first read, which
        imports the sample on a fresh home), then fill the pickers."""
        self.worker = worker or self.worker
        if self.worker is not None:
            self.worker.submit(read_catalog, self.show_catalog)

    def show_catalog(self, catalog: Catalog) -> None:
        chosen = self.series()  # kept across a refresh when the store still holds it
        self.catalog = catalog
        self.series_box.blockSignals(True)
        self.series_box.clear()
        for key in catalog.keys():
            if catalog.stored.get(key):
                self.series_box.addItem(key.label(), key)
        keys = [self.series_box.itemData(i) for i in range(self.series_box.count())]
        index = keys.index(chosen[0]) if chosen is not None and chosen[0] in keys else -1
        self.series_box.setCurrentIndex(max(index, 0))
        self.series_box.blockSignals(False)
        self._fill_intervals()
        if chosen is not None and index >= 0:
            self.interval_box.setCurrentText(chosen[1])

    def _fill_intervals(self, *_: object) -> None:
        key = self.series_box.currentData()
        self.interval_box.clear()
        if self.catalog is None or not isinstance(key, SeriesKey):
            return
        stored = list(self.catalog.stored.get(key, ()))
        self.interval_box.addItems(stored)
        self.interval_box.setCurrentText(DEFAULT_SERIES[1] if DEFAULT_SERIES[1] in stored else stored[-1])

    def series(self) -> tuple[SeriesKey, str] | None:
        """The picked (series, interval); None before the store was read."""
        key = self.series_box.currentData()
        return (
            (key, self.interval_box.currentText())
            if isinstance(key, SeriesKey) and self.interval_box.currentText()
            else None
        )

    def spec(self) -> ReplaySpec:
        """The picked replay; ValueError naming a bad parameter."""
        strategy = str(self.strategy_box.currentData())
        params = parse_params(strategy, self.params_edit.text())
        picked = self.series()
        if picked is None:  # the store was not read yet: the shipped sample (imported if missing)
            return ReplaySpec(*DEFAULT_SERIES, strategy, params=params)
        key, interval = picked
        return ReplaySpec(key.symbol, interval, strategy, venue=key.venue, params=params)

    @property
    def running(self) -> bool:
        return self.task is not None and not self.task.done()

    def _idle_text(self) -> None:
        debug = self.runtime.debug_switch.enabled
        self.status.setText(
            "Debug mode is on: the replay runs and every order is DENIED (shown in the log and the orders)."
            if debug
            else "Replays the series through the strategy, the risk manager, the OMS and the home's paper "
            "account (saved; a new replay resumes where the last one stopped); fills land on the chart."
        )

    def start(self) -> None:
        if self.running or self.engine is None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError as exc:
            self.status.setText(f"the engine loop is not running ({exc})")
            return
        try:
            spec = self.spec()
        except ValueError as exc:
            self.status.setText(f"Parameters: {exc}")
            return
        self.counts = dict.fromkeys(self.counts, 0)
        self.resumed_after = None
        self.risk_list.clear()
        self._risk_text()
        for widget in self._pickers():
            widget.setEnabled(False)
        self.stop_button.setEnabled(True)
        where = f" · {spec.venue}" if spec.venue else ""
        self.status.setText(f"Starting {spec.strategy} on {spec.symbol}{where} {spec.interval}…")
        self.task = loop.create_task(self._run(spec, self.speed_box.value(), self.risk_box.isChecked()))
        self.task.add_done_callback(self._done)
        self.started.emit()

    async def _run(self, spec: ReplaySpec, speed: float, risk: bool) -> int:
        assert self.engine is not None
        await self._close_session()  # the previous replay's account lock, before reopening it
        session = self.session = await PaperSession.open(self.runtime, spec, risk=risk)
        old = self.engine.service.kernel
        self.engine.service.kernel = session.kernel  # the panels now read the replay's account
        if old is not None and old is not session.kernel and old is not self.engine._kernel_given:
            await old.stop()
        self.engine._set_state(self.engine.label, "paper replay")
        self.resumed_after = session.last_candle_ms()
        if self.resumed_after is not None:
            log.info("paper replay resumes the saved account after the candle of %s UTC", utc(self.resumed_after))
        if session.risk is not None:
            view = session.risk.engine.store.view()
            log.info("paper replay risk state %s%s", view.state.value, f": {view.reason}" if view.reason else "")
        return await session.run(speed)

    async def _close_session(self) -> None:
        session, self.session = self.session, None
        if session is None:
            return
        if self._reconcile is not None:
            await asyncio.gather(self._reconcile, return_exceptions=True)
            self._reconcile = None
        if self.engine is not None and self.engine.service.kernel is session.kernel:
            self.engine.service.kernel = None
        await session.close()

    async def shutdown(self) -> None:
        """Stop a running replay, stop its kernel and release the paper account (the window is
        closing). The engine lets go of the kernel at once, so it does not stop it a second time."""
        task = self.task if self.running else None
        if task is not None:
            task.cancel()
        if self.engine is not None and self.session is not None and self.engine.service.kernel is self.session.kernel:
            self.engine.service.kernel = None
        if task is not None:
            await asyncio.gather(task, return_exceptions=True)
        await self._close_session()

    def stop(self) -> None:
        if self.running:
            assert self.task is not None
            self.task.cancel()

    def _pickers(self) -> tuple[QWidget, ...]:
        return (
            self.start_button,
            self.series_box,
            self.interval_box,
            self.refresh_button,
            self.strategy_box,
            self.params_edit,
            self.risk_box,
        )

    def _done(self, task: asyncio.Task[int]) -> None:
        for widget in self._pickers():
            widget.setEnabled(True)
        self.start_button.setEnabled(self.engine is not None)
        self.stop_button.setEnabled(False)
        counts = f"{self.counts['fills']} fill(s), {self.counts['denied']} denied"
        if self.session is not None and self.session.risk is not None:
            counts += f", risk denied {self.counts['risk_denied']}"
        resumed = f" (resumed after {utc(self.resumed_after)} UTC)" if self.resumed_after is not None else ""
        if task.cancelled():
            text = f"Replay stopped{resumed}: {counts}; the paper account is saved."
            session = self.session
            if session is not None:  # the ledger catches up with the fills the stop left unpulled
                self._reconcile = asyncio.get_event_loop().create_task(session.kernel.reconcile())
        elif task.exception() is not None:
            exc = task.exception()
            text = f"Replay failed: {exc}"
            log.error("paper replay failed", exc_info=exc)
        elif task.result() == 0 and resumed:
            text = f"Nothing new to replay: the saved paper account already traded the series{resumed}."
        else:
            text = f"Replay finished{resumed}: {task.result():,} bars, {counts}."
        self.status.setText(text)
        log.info("paper replay: %s", text)
        if self.engine is not None:
            self.engine._set_state(self.engine.label, "paper (replay idle)")
        self.finished.emit(text)

    def _on_fill(self, event: OrderFilled) -> None:
        if not self.running:
            return
        self.counts["fills"] += 1
        paper = self.session.paper if self.session is not None else None
        book = paper.account.books.get(event.symbol) if paper is not None else None
        bar = getattr(book, "bar", None) or getattr(book, "prev", None)
        ts = int(bar.ts) if bar is not None else int(event.ts)  # the replayed candle, not the wall clock
        side = 1 if event.side.value.lower() == "buy" else -1
        self.fill.emit({"ts": ts, "price": float(event.price), "kind": "entry", "side": side})  # up buy, down sell
        self._progress()

    def _on_denied(self, event: OrderDenied) -> None:
        if self.running:
            self.counts["denied"] += 1
            self._progress()

    def _on_risk(self, event: RiskDecision) -> None:
        if not self.running:
            return
        key = (
            "risk_denied"
            if isinstance(event, RiskDenied)
            else "risk_reduced"
            if isinstance(event, OrderSizeReduced)
            else "risk_sized"
        )
        self.counts[key] += 1
        self.risk_list.insertItem(0, risk_line(event))
        if key != "risk_sized":  # denials and reductions stand out
            self.risk_list.item(0).setForeground(QColor(DOWN_COLOR if key == "risk_denied" else ACCENT))
        while self.risk_list.count() > MAX_RISK_LINES:
            self.risk_list.takeItem(self.risk_list.count() - 1)
        self._risk_text(event)

    def _risk_text(self, last: RiskDecision | None = None) -> None:
        c = self.counts
        text = f"Risk: {c['risk_sized']} sized, {c['risk_reduced']} reduced, {c['risk_denied']} denied"
        if last is not None:
            text += f" · state {last.state.value} · equity {float(last.equity):,.2f}"
        self.risk_label.setText(text)

    def _progress(self) -> None:
        self.status.setText(f"Running: {self.counts['fills']} fill(s), {self.counts['denied']} denied so far…")
