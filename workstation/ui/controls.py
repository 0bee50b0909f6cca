"""Pause, Resume, Emergency Stop, Close Positions, Cancel Orders, Wipe Data.

Destructive actions ask first (Wipe Data wants the word WIPE typed; the engine backs up before it
deletes). Dialogs are opened window-modal with `open()`, never `exec()`, so the qasync loop keeps
running behind them. Every outcome is shown next to the buttons, in the status bar and the log.
"""

from __future__ import annotations

import logging
from collections.abc import Coroutine
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from workstation.ui.engine_link import EngineLink
from workstation.ui.engine_model import spawn
from workstation.ui.theme import MUTED

log = logging.getLogger(__name__)
WIPE_WORD = "WIPE"


class ConfirmDialog(QDialog):
    """Yes/no, optionally with a reason, a checkbox, or a word that must be typed exactly."""

    def __init__(
        self,
        title: str,
        text: str,
        parent: QWidget | None = None,
        *,
        ok_text: str = "Confirm",
        word: str | None = None,
        reason: str | None = None,
        checkbox: str | None = None,
        reason_label: str = "Reason (kept in the log and the kill switch state):",
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setMinimumWidth(420)
        self.word = word
        self._needs_reason = reason is not None
        message = QLabel(text)
        message.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(message)
        self.typed = QLineEdit()
        self.reason = QLineEdit(reason or "")
        self.check = QCheckBox(checkbox or "")
        if word is not None:
            layout.addWidget(QLabel(f"Type {word} to confirm:"))
            self.typed.setPlaceholderText(word)
            layout.addWidget(self.typed)
        if reason is not None:
            layout.addWidget(QLabel(reason_label))
            layout.addWidget(self.reason)
        if checkbox is not None:
            layout.addWidget(self.check)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText(ok_text)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self.typed.textChanged.connect(self._sync)
        self.reason.textChanged.connect(self._sync)
        self._sync()

    def _sync(self, *_: object) -> None:
        word_ok = self.word is None or self.typed.text() == self.word
        reason_ok = not self._needs_reason or len(self.reason.text().strip()) >= 3
        self.ok_button.setEnabled(word_ok and reason_ok)

    def accept(self) -> None:
        if self.ok_button.isEnabled():
            super().accept()


class ControlBar(QWidget):
    outcome = Signal(str, bool)  # message, ok
    acted = Signal()  # an action finished: panels should refresh

    def __init__(self, link: EngineLink, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.link = link
        self.pending: ConfirmDialog | None = None
        self.buttons: dict[str, QPushButton] = {}
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 2, 6, 2)
        for name, handler in (
            ("Pause", self.pause),
            ("Resume", self.resume),
            ("Emergency Stop", self.emergency_stop),
            ("Close Positions", self.close_positions),
            ("Cancel Orders", self.cancel_orders),
            ("Wipe Data", self.wipe_data),
        ):
            button = QPushButton(name)
            button.setObjectName("control_" + name.lower().replace(" ", "_"))
            button.clicked.connect(handler)
            layout.addWidget(button)
            self.buttons[name] = button
        self.buttons["Emergency Stop"].setStyleSheet(
            "QPushButton { background: #b00020; color: #fff; font-weight: 700; border: 1px solid #ff5252; }"
            "QPushButton:hover { background: #d00000; }"
        )
        self.result = QLabel("")
        self.result.setStyleSheet(f"color: {MUTED};")
        layout.addWidget(self.result, 1)

    # --- actions ------------------------------------------------------------------------------
    def pause(self) -> None:
        self._run("Pause", self.link.pause())

    def resume(self) -> None:
        self._run("Resume", self.link.resume())

    def emergency_stop(self) -> None:
        dialog = self._ask(
            "Emergency stop",
            "Engage the kill switch: every strategy stops and all open orders are cancelled. "
            "It stays engaged across restarts until cleared with `workstation kill-switch clear`.",
            ok_text="Stop everything",
            reason="emergency stop from the desktop",
            checkbox="Also close every open position at market",
        )
        dialog.accepted.connect(
            lambda: self._run(
                "Emergency Stop", self.link.emergency_stop(dialog.reason.text().strip(), dialog.check.isChecked())
            )
        )

    def close_positions(self) -> None:
        dialog = self._ask("Close positions", "Close every open position at market now?", ok_text="Close all positions")
        dialog.accepted.connect(lambda: self._run("Close Positions", self.link.close_positions()))

    def cancel_orders(self) -> None:
        dialog = self._ask("Cancel orders", "Cancel every open order on the venue now?", ok_text="Cancel all orders")
        dialog.accepted.connect(lambda: self._run("Cancel Orders", self.link.cancel_orders()))

    def wipe_data(self) -> None:
        dialog = self._ask(
            "Wipe data",
            "Delete the order ledger and the candle store. A zip backup is written to <home>/backups first. "
            "The bot must be paused with no open orders or positions.",
            ok_text="Wipe data",
            word=WIPE_WORD,
        )
        dialog.accepted.connect(lambda: self._run("Wipe Data", self.link.wipe_data()))

    # --- plumbing -----------------------------------------------------------------------------
    def _ask(self, title: str, text: str, **kwargs: Any) -> ConfirmDialog:
        dialog = ConfirmDialog(title, text, self, **kwargs)
        dialog.rejected.connect(lambda: self._report(f"{title}: cancelled, nothing was done", True))
        dialog.finished.connect(lambda _: setattr(self, "pending", None))
        self.pending = dialog
        dialog.open()
        return dialog

    def _run(self, name: str, coro: Coroutine[Any, Any, dict[str, Any]]) -> None:
        button = self.buttons[name]
        button.setEnabled(False)
        self.result.setText(f"{name}…")

        def done(result: dict[str, Any]) -> None:
            button.setEnabled(True)
            ok = bool(result.get("ok", True))
            self._report(f"{name}: {result.get('detail', 'done')}", ok)
            self.acted.emit()

        def failed(text: str) -> None:
            button.setEnabled(True)
            self._report(f"{name} refused: {text}", False)
            self.acted.emit()

        spawn(coro, done, failed)

    def _report(self, text: str, ok: bool) -> None:
        color = "#26a69a" if ok else "#ef5350"
        self.result.setStyleSheet(f"color: {color};")
        self.result.setText(text)
        (log.warning if ok else log.error)("control: %s", text)
        self.outcome.emit(text, ok)
