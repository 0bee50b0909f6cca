"""Dark theme with the fire accent. Readable first."""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

from workstation.core.enums import Venue

ACCENT = "#FF6B35"
BACKGROUND = "#15171c"
SURFACE = "#1e2128"
TEXT = "#e6e6e6"
MUTED = "#9aa0aa"

VENUE_BADGE = {
    Venue.PAPER: ("PAPER", "#3b4252", "#e6e6e6"),
    Venue.BYBIT_TESTNET: ("TESTNET", "#1f7a4d", "#ffffff"),
    Venue.BYBIT_DEMO: ("DEMO", "#6a4c93", "#ffffff"),
    Venue.BYBIT_MAINNET: ("MAINNET · REAL MONEY", "#d00000", "#ffffff"),
}

STYLESHEET = f"""
QMainWindow, QWidget {{ background: {BACKGROUND}; color: {TEXT}; }}
QDockWidget::title {{ background: {SURFACE}; padding: 4px; }}
QMenuBar {{ background: {SURFACE}; }}
QMenuBar::item:selected, QMenu::item:selected {{ background: {ACCENT}; color: #000; }}
QStatusBar {{ background: {SURFACE}; color: {MUTED}; }}
QPlainTextEdit, QTableView {{ background: {SURFACE}; border: 1px solid #2c313a; }}
QPushButton {{ background: {SURFACE}; border: 1px solid {ACCENT}; padding: 4px 10px; }}
QPushButton:hover {{ background: {ACCENT}; color: #000; }}
QCheckBox::indicator {{ width: 11px; height: 11px; border: 1px solid {MUTED}; background: {SURFACE}; }}
QCheckBox::indicator:checked {{ background: {ACCENT}; border-color: {ACCENT}; }}
"""


def apply_theme(app: QApplication) -> None:
    app.setStyle("Fusion")
    palette = QPalette()
    palette.setColor(QPalette.ColorRole.Window, QColor(BACKGROUND))
    palette.setColor(QPalette.ColorRole.WindowText, QColor(TEXT))
    palette.setColor(QPalette.ColorRole.Base, QColor(SURFACE))
    palette.setColor(QPalette.ColorRole.Text, QColor(TEXT))
    palette.setColor(QPalette.ColorRole.Button, QColor(SURFACE))
    palette.setColor(QPalette.ColorRole.ButtonText, QColor(TEXT))
    palette.setColor(QPalette.ColorRole.Highlight, QColor(ACCENT))
    palette.setColor(QPalette.ColorRole.HighlightedText, QColor("#000000"))
    app.setPalette(palette)
    app.setStyleSheet(STYLESHEET)
