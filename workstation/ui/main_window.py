"""The main window: debug banner across the top, environment badge, docks, status bar."""

from __future__ import annotations

import asyncio
import logging

from PySide6.QtCore import QByteArray, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent
from PySide6.QtWidgets import QDockWidget, QLabel, QMainWindow, QMenuBar, QScrollArea, QVBoxLayout, QWidget

from workstation import APP_NAME, __version__
from workstation.core.events import DebugModeChanged, DebugSessionExpired, TradingStateChanged
from workstation.runtime import Runtime
from workstation.safety.session import format_countdown
from workstation.ui.banner import DebugBanner, EnvironmentBadge
from workstation.ui.controls import ControlBar
from workstation.ui.engine_link import EngineLink
from workstation.ui.engine_model import EngineModel, spawn
from workstation.ui.fx import Converter
from workstation.ui.log_panel import LogPanel
from workstation.ui.panels.account import BalancesPanel, orders_table, positions_table, trades_table
from workstation.ui.panels.backtest_lab import BacktestLab
from workstation.ui.panels.chart import ChartPanel
from workstation.ui.panels.graduation import GraduationPanel
from workstation.ui.panels.risk import RiskPanel
from workstation.ui.status import StatusReadings
from workstation.ui.store_worker import SeriesKey, StoreWorker

log = logging.getLogger(__name__)


class MainWindow(QMainWindow):
    session_expired = Signal(str)
    save_layout = True

    def __init__(
        self, runtime: Runtime, loop: asyncio.AbstractEventLoop | None = None, engine: EngineLink | None = None
    ) -> None:
        super().__init__()
        self.runtime = runtime
        if engine is None:
            from workstation.ui.local_engine import LocalEngine

            engine = LocalEngine(runtime, self)
        self.engine = engine
        self.model = EngineModel(engine, self)
        self.setWindowTitle(f"{APP_NAME} {__version__}")
        self.resize(1280, 800)
        self._settings = QSettings(str(runtime.home / "ui.ini"), QSettings.Format.IniFormat)

        self.banner = DebugBanner()
        self.badge = EnvironmentBadge(runtime.settings.trading.venue)
        menu_bar = QMenuBar()
        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.setSpacing(0)
        top_layout.addWidget(menu_bar)
        top_layout.addWidget(self.banner)
        self.setMenuWidget(top)  # above every dock: cannot be docked away or closed
        menu_bar.setCornerWidget(self.badge, Qt.Corner.TopRightCorner)

        file_menu = menu_bar.addMenu("&File")
        file_menu.addAction("&Settings…", self.open_settings)
        file_menu.addAction("&Quit", self.close)
        self.view_menu = menu_bar.addMenu("&View")
        self.store_worker = StoreWorker(runtime.home / "candles.db", self)
        self.chart = ChartPanel(self.store_worker, self._settings, venue=runtime.settings.trading.venue)
        self.chart.setObjectName("chart")
        self.setCentralWidget(self.chart)  # the one panel that is always there

        self.controls = ControlBar(engine)
        toolbar = self.addToolBar("Controls")
        toolbar.setObjectName("controls")
        toolbar.setMovable(False)
        toolbar.addWidget(self.controls)

        bottom, right = Qt.DockWidgetArea.BottomDockWidgetArea, Qt.DockWidgetArea.RightDockWidgetArea
        self.positions = positions_table()
        self.orders = orders_table()
        self.trades = trades_table()
        self.balances_panel = BalancesPanel(Converter(runtime.settings.risk.growth))
        self.balances = self.balances_panel.table
        self.risk_panel = RiskPanel()
        self.graduation_panel = GraduationPanel(engine)
        self.lab = BacktestLab(self.store_worker, engine)
        self.log_panel = LogPanel()
        from workstation.ui.local_engine import LocalEngine
        from workstation.ui.paper_replay import PaperReplayPanel

        self.paper_panel = PaperReplayPanel(runtime, engine if isinstance(engine, LocalEngine) else None)
        self.positions_dock = self._add_dock("Positions", self.positions, bottom)
        self.orders_dock = self._add_dock("Orders", self.orders, bottom)
        self.trades_dock = self._add_dock("Trades", self.trades, bottom)
        self.balances_dock = self._add_dock("Balances", self.balances_panel, bottom)
        self.graduation_dock = self._add_dock("Graduation", self.graduation_panel, bottom)
        self.lab_dock = self._add_dock("Backtest Lab", self.lab, bottom)
        self.log_dock = self._add_dock("Log", self.log_panel, bottom)
        self.paper_dock = self._add_dock("Paper", self.paper_panel, bottom)
        risk_scroll = QScrollArea()  # a narrow dock scrolls instead of widening the window
        risk_scroll.setWidget(self.risk_panel)
        risk_scroll.setWidgetResizable(True)
        risk_scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        risk_scroll.setMinimumWidth(330)
        risk_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.risk_dock = self._add_dock("Risk", risk_scroll, right)
        for dock in (
            self.orders_dock,
            self.trades_dock,
            self.balances_dock,
            self.graduation_dock,
            self.lab_dock,
            self.log_dock,
            self.paper_dock,
        ):
            self.tabifyDockWidget(self.positions_dock, dock)
        self.positions_dock.raise_()
        self.resizeDocks([self.positions_dock], [250], Qt.Orientation.Vertical)
        self.resizeDocks([self.risk_dock], [330], Qt.Orientation.Horizontal)
        logging.getLogger().addHandler(self.log_panel.handler)
        self.view_menu.addSeparator()
        self.view_menu.addAction("Reset layout", self.reset_layout)

        self.state_label = QLabel()
        self.statusBar().addPermanentWidget(self.state_label)
        self._show_trading_state()
        self.status = StatusReadings(self.statusBar(), loop)
        self.chart.data_updated.connect(self.status.show_data_update)
        self._wire_engine()

        self.banner.set_active(runtime.debug_switch.enabled)
        self._pending_markers: list = []
        runtime.bus.subscribe(DebugModeChanged, self._on_debug_mode)
        runtime.bus.subscribe(TradingStateChanged, self._on_trading_state)
        self._session_timer = QTimer(self)
        self._session_timer.setInterval(1000)
        self._session_timer.timeout.connect(self._tick_debug_session)
        self._session_timer.start()
        self._tick_debug_session()
        self._default_state = self.saveState()
        self._restore_layout()
        self.status.start()
        self.chart.start()
        self.lab.load_catalog()  # queued behind the chart's first read (which imports the sample)
        self.paper_panel.load_catalog(self.store_worker)
        if loop is not None:
            self.model.start(loop)

    def _wire_engine(self) -> None:
        m = self.model
        m.positions.connect(self.positions.model.set_rows)
        m.orders.connect(self.orders.model.set_rows)
        m.trades.connect(self.trades.model.set_rows)
        m.balances.connect(self.balances_panel.show_balances)
        m.risk.connect(self.risk_panel.show_risk)
        m.risk.connect(lambda r: self._on_remote_debug(bool(r.get("debug_mode"))))
        m.graduation.connect(self.graduation_panel.show_queue)
        m.health.connect(self._on_health)
        m.failed.connect(lambda text: self.statusBar().showMessage(f"Engine: {text}", 10_000))
        self.engine.event.connect(self.risk_panel.on_event)
        self.engine.connection.connect(self.status.show_connection)
        self.engine.connection.connect(self._on_connection)
        self.controls.outcome.connect(lambda text, ok: self.statusBar().showMessage(text, 15_000))
        self.controls.acted.connect(self.model.refresh)
        self.graduation_panel.outcome.connect(lambda text, ok: self.statusBar().showMessage(text, 15_000))
        self.graduation_panel.outcome.connect(lambda text, ok: self.model.refresh("graduation"))
        self.lab.finished.connect(self._show_lab_trades)
        self.lab.jump_to.connect(self.chart.jump_to)
        self._fills: list[dict] = []
        self._fill_timer = QTimer(self)
        self._fill_timer.setSingleShot(True)
        self._fill_timer.setInterval(250)  # markers redraw on a throttle, not per fill
        self._fill_timer.timeout.connect(lambda: self.chart.show_trades(self._fills))
        self.paper_panel.started.connect(self._fills.clear)
        self.paper_panel.fill.connect(self._on_paper_fill)
        self.paper_panel.finished.connect(lambda text: self.statusBar().showMessage(text, 15_000))
        self.paper_panel.finished.connect(lambda _: self.model.refresh())
        self.lab.sent.connect(lambda text, ok: self.statusBar().showMessage(f"Graduation: {text}", 15_000))
        self.lab.sent.connect(lambda text, ok: self.model.refresh("graduation"))
        self.graduation_panel.set_debug_mode(self.runtime.debug_switch.enabled)

    def _on_connection(self, _: str, state: str) -> None:
        """Empty tables say why: flat on a connected venue (a paper replay's too), or nothing connected."""
        from workstation.ui.engine_link import CONNECTED
        from workstation.ui.panels.account import empty_message

        connected = state == CONNECTED or state.startswith("paper")
        for name, table in (("positions", self.positions), ("orders", self.orders), ("trades", self.trades)):
            table.set_empty_message(empty_message(name, connected))

    def _on_paper_fill(self, marker: dict) -> None:
        self._fills.append(marker)
        if not self._fill_timer.isActive():
            self._fill_timer.start()

    def _on_health(self, health: dict) -> None:
        if self.engine.remote:
            self.badge.set_venue(str(health.get("venue", "")))
        self._on_remote_debug(bool(health.get("debug_mode")))

    def _on_remote_debug(self, engine_debug: bool) -> None:
        """The banner and the approval lock follow the engine too: on if either side is in debug mode."""
        on = engine_debug or self.runtime.debug_switch.enabled
        self.banner.set_active(on)
        self.graduation_panel.set_debug_mode(on)

    def _show_lab_trades(self, result: object) -> None:
        request = result.request  # type: ignore[attr-defined]
        key = SeriesKey(request.venue, request.symbol)
        current = self.chart.data
        if current is not None and (current.key != key or current.interval != request.interval):
            self.chart.loaded.connect(self._markers_after_load)
            self._pending_markers = result.markers  # type: ignore[attr-defined]
            try:
                self.chart.set_series(key, request.interval)
            except ValueError:
                pass
            return
        self.chart.show_trades(result.markers)  # type: ignore[attr-defined]

    def _markers_after_load(self, _: object) -> None:
        self.chart.loaded.disconnect(self._markers_after_load)
        self.chart.show_trades(self._pending_markers)

    def open_settings(self) -> None:
        from workstation.ui.settings_dialog import SettingsDialog

        self.settings_dialog = SettingsDialog(self.runtime, self)
        self.settings_dialog.open()

    def _add_dock(self, title: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(f"dock_{title.lower().replace(' ', '_')}")
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        self.view_menu.addAction(dock.toggleViewAction())
        return dock

    def _show_trading_state(self) -> None:
        ks = self.runtime.kill_switch
        self.state_label.setText(f"Trading state: {ks.trading_state.value}" + (" (kill switch)" if ks.engaged else ""))

    def _on_trading_state(self, _: TradingStateChanged) -> None:
        self._show_trading_state()

    def _on_debug_mode(self, event: DebugModeChanged) -> None:
        self.banner.set_active(event.enabled)

    def _tick_debug_session(self) -> None:
        if not self.runtime.debug_switch.enabled:
            self.banner.set_remaining("")
            return
        session = self.runtime.debug_session
        if not session.expired():
            self.banner.set_remaining(f"debug session ends in {format_countdown(session.remaining_s())}")
            return
        self._session_timer.stop()
        message = session.expiry_message()
        log.warning(message)
        self.banner.set_message(message)
        self.banner.set_remaining("")
        self.statusBar().showMessage(message)
        self.runtime.bus.publish(DebugSessionExpired(limit_s=session.limit_s, message=message))
        self.session_expired.emit(message)
        QTimer.singleShot(3000, self.close)

    def _restore_layout(self) -> None:
        geometry = self._settings.value("geometry")
        state = self._settings.value("state")
        if geometry is not None:
            self.restoreGeometry(geometry)
        if state is not None:
            self.restoreState(state)

    def reset_layout(self) -> None:
        """Every dock back where a first launch puts it (and visible)."""
        self.restoreState(QByteArray(self._default_state))
        for dock in self.findChildren(QDockWidget):
            dock.show()
        self.positions_dock.raise_()

    def docks(self) -> list[QDockWidget]:
        return self.findChildren(QDockWidget)

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.save_layout:
            self._settings.setValue("geometry", self.saveGeometry())
            self._settings.setValue("state", self.saveState())
            self._settings.sync()
        logging.getLogger().removeHandler(self.log_panel.handler)
        self.status.stop()
        self.lab.shutdown()
        spawn(self.paper_panel.shutdown())  # releases the home's paper account
        if self.model.started:
            spawn(self.model.stop())
        self.chart.live.stop()
        self.store_worker.shutdown()
        super().closeEvent(event)


def build_view_action(window: MainWindow, name: str) -> QAction | None:
    for action in window.view_menu.actions():
        if action.text() == name:
            return action
    return None
