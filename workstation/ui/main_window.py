"""The main window: debug banner across the top, environment badge, docks, status bar."""

from __future__ import annotations

import asyncio
import logging

from PySide6.QtCore import QByteArray, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent
from PySide6.QtWidgets import QDockWidget, QLabel, QMainWindow, QMenuBar, QVBoxLayout, QWidget

from workstation import APP_NAME, __version__
from workstation.core.events import DebugModeChanged, DebugSessionExpired, TradingStateChanged
from workstation.runtime import Runtime
from workstation.safety.session import format_countdown
from workstation.ui.banner import DebugBanner, EnvironmentBadge
from workstation.ui.log_panel import LogPanel
from workstation.ui.panels.account import balances_table, orders_table, positions_table
from workstation.ui.panels.chart import ChartPanel
from workstation.ui.status import StatusReadings
from workstation.ui.store_worker import StoreWorker

log = logging.getLogger(__name__)


class MainWindow(QMainWindow):
    session_expired = Signal(str)

    def __init__(self, runtime: Runtime, loop: asyncio.AbstractEventLoop | None = None) -> None:
        super().__init__()
        self.runtime = runtime
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

        self.view_menu = menu_bar.addMenu("&View")
        self.store_worker = StoreWorker(runtime.home / "candles.db", self)
        self.chart = ChartPanel(self.store_worker, self._settings)
        self.chart.setObjectName("chart")
        self.setCentralWidget(self.chart)  # the one panel that is always there

        bottom = Qt.DockWidgetArea.BottomDockWidgetArea
        self.positions = positions_table()
        self.orders = orders_table()
        self.balances = balances_table()
        self.log_panel = LogPanel()
        self.positions_dock = self._add_dock("Positions", self.positions, bottom)
        self.orders_dock = self._add_dock("Orders", self.orders, bottom)
        self.balances_dock = self._add_dock("Balances", self.balances, bottom)
        self.log_dock = self._add_dock("Log", self.log_panel, bottom)
        for dock in (self.orders_dock, self.balances_dock, self.log_dock):
            self.tabifyDockWidget(self.positions_dock, dock)
        self.positions_dock.raise_()
        self.resizeDocks([self.positions_dock], [210], Qt.Orientation.Vertical)
        logging.getLogger().addHandler(self.log_panel.handler)
        self.view_menu.addSeparator()
        self.view_menu.addAction("Reset layout", self.reset_layout)

        self.state_label = QLabel()
        self.statusBar().addPermanentWidget(self.state_label)
        self._show_trading_state()
        self.status = StatusReadings(self.statusBar(), loop)
        self.chart.data_updated.connect(self.status.show_data_update)

        self.banner.set_active(runtime.debug_switch.enabled)
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
        self._settings.setValue("geometry", self.saveGeometry())
        self._settings.setValue("state", self.saveState())
        self._settings.sync()
        logging.getLogger().removeHandler(self.log_panel.handler)
        self.status.stop()
        self.store_worker.shutdown()
        super().closeEvent(event)


def build_view_action(window: MainWindow, name: str) -> QAction | None:
    for action in window.view_menu.actions():
        if action.text() == name:
            return action
    return None
