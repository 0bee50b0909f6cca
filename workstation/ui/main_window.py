"""The main window: debug banner across the top, environment badge, docks, status bar."""

from __future__ import annotations

import logging

from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent
from PySide6.QtWidgets import QDockWidget, QLabel, QMainWindow, QMenuBar, QVBoxLayout, QWidget

from workstation import APP_NAME, __version__
from workstation.core.events import DebugModeChanged, DebugSessionExpired, TradingStateChanged
from workstation.runtime import Runtime
from workstation.safety.session import format_countdown
from workstation.ui.banner import DebugBanner, EnvironmentBadge
from workstation.ui.log_panel import LogPanel

log = logging.getLogger(__name__)


class MainWindow(QMainWindow):
    session_expired = Signal(str)

    def __init__(self, runtime: Runtime) -> None:
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
        self.log_panel = LogPanel()
        self.log_dock = self._add_dock("Log", self.log_panel, Qt.DockWidgetArea.BottomDockWidgetArea)
        logging.getLogger().addHandler(self.log_panel.handler)

        center = QLabel(
            f"{APP_NAME}\n\nVenue: {runtime.settings.trading.venue.value}    "
            f"Environment: {runtime.settings.environment.value}\nHome: {runtime.home}"
        )
        center.setAlignment(Qt.AlignmentFlag.AlignCenter)
        center.setObjectName("welcome")
        self.setCentralWidget(center)

        self.state_label = QLabel()
        self.statusBar().addPermanentWidget(self.state_label)
        self._show_trading_state()

        self.banner.set_active(runtime.debug_switch.enabled)
        runtime.bus.subscribe(DebugModeChanged, self._on_debug_mode)
        runtime.bus.subscribe(TradingStateChanged, self._on_trading_state)
        self._session_timer = QTimer(self)
        self._session_timer.setInterval(1000)
        self._session_timer.timeout.connect(self._tick_debug_session)
        self._session_timer.start()
        self._tick_debug_session()
        self._restore_layout()

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

    def closeEvent(self, event: QCloseEvent) -> None:
        self._settings.setValue("geometry", self.saveGeometry())
        self._settings.setValue("state", self.saveState())
        self._settings.sync()
        logging.getLogger().removeHandler(self.log_panel.handler)
        super().closeEvent(event)


def build_view_action(window: MainWindow, name: str) -> QAction | None:
    for action in window.view_menu.actions():
        if action.text() == name:
            return action
    return None
