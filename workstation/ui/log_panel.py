"""A log dock fed by a logging handler. Records may come from any thread; a Qt signal carries
them to the UI thread."""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QComboBox, QPlainTextEdit, QVBoxLayout, QWidget

from workstation.logs import OneLineUtcFormatter, RedactionFilter

LEVELS = ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]


class _Emitter(QObject):
    record = Signal(int, str)


class QtLogHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.emitter = _Emitter()
        self.setFormatter(OneLineUtcFormatter())
        self.addFilter(RedactionFilter())

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.emitter.record.emit(record.levelno, self.format(record))
        except RuntimeError:  # the panel is gone during shutdown
            pass


class LogPanel(QWidget):
    MAX_LINES = 5000

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.level = QComboBox(self)
        self.level.addItems(LEVELS)
        self.level.setCurrentText("INFO")
        self.view = QPlainTextEdit(self)
        self.view.setReadOnly(True)
        self.view.setMaximumBlockCount(self.MAX_LINES)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.level)
        layout.addWidget(self.view)
        self._records: list[tuple[int, str]] = []
        self.level.currentTextChanged.connect(self._refilter)
        self.handler = QtLogHandler()
        self.handler.emitter.record.connect(self.append)

    def append(self, levelno: int, line: str) -> None:
        self._records.append((levelno, line))
        del self._records[: -self.MAX_LINES]
        if levelno >= logging.getLevelName(self.level.currentText()):
            self.view.appendPlainText(line)

    def _refilter(self, _: str) -> None:
        threshold = logging.getLevelName(self.level.currentText())
        self.view.setPlainText("\n".join(line for lvl, line in self._records if lvl >= threshold))
