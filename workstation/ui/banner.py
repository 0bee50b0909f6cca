"""The debug-mode banner: across the top, above every dock, and impossible to hide while on."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QWidget

from workstation.core.enums import Venue
from workstation.ui.theme import ACCENT, VENUE_BADGE


class EnvironmentBadge(QLabel):
    def __init__(self, venue: Venue, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("environmentBadge")
        self.set_venue(venue)

    def set_venue(self, venue: Venue | str) -> None:
        try:
            venue = Venue(venue)
        except ValueError:
            return
        text, background, foreground = VENUE_BADGE[venue]
        self.setText(text)
        weight = "900" if venue.is_real_money else "700"
        self.setStyleSheet(
            f"background: {background}; color: {foreground}; font-weight: {weight}; padding: 3px 10px;"
            "border-radius: 3px;"
        )


class DebugBanner(QWidget):
    """Shown whenever debug mode is on. `setVisible(False)` is refused while it is on, so no
    code path (or layout change) can hide it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("debugBanner")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setStyleSheet(
            f"#debugBanner {{ background: {ACCENT}; }} QLabel {{ color: #000; background: transparent; }}"
        )
        self._label = QLabel(self)
        self._label.setStyleSheet("font-weight: 700; font-size: 13px; padding: 6px;")
        self._remaining = QLabel(self)
        self._remaining.setStyleSheet("font-weight: 600; padding: 6px;")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 0, 8, 0)
        layout.addWidget(self._label, 1)
        layout.addWidget(self._remaining, 0)
        self._active = False
        self.set_active(False)

    @property
    def active(self) -> bool:
        return self._active

    def text(self) -> str:
        return f"{self._label.text()} {self._remaining.text()}".strip()

    def set_active(self, active: bool) -> None:
        self._active = active
        self._label.setText(
            "DEBUG MODE: every order is blocked at the safety gate (config/debug.yaml)" if active else ""
        )
        super().setVisible(active)

    def set_remaining(self, text: str) -> None:
        self._remaining.setText(text)

    def set_message(self, text: str) -> None:
        self._label.setText(text)

    def setVisible(self, visible: bool) -> None:
        super().setVisible(visible or self._active)
