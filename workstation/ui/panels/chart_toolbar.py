"""The chart's header row: symbol and interval pickers, overlay toggles, "Fit all", the live last
price, a status text and a busy bar."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QComboBox, QHBoxLayout, QLabel, QProgressBar, QPushButton, QSizePolicy, QWidget

from workstation.ui.overlays import OVERLAYS
from workstation.ui.theme import MUTED


class ChartToolbar(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.symbol_box = QComboBox()
        self.symbol_box.setMinimumWidth(160)
        self.interval_box = QComboBox()
        self.overlay_boxes: dict[str, QCheckBox] = {}
        self.fit_button = QPushButton("Fit all")
        self.ticker_label = QLabel("")
        self.ticker_label.setTextFormat(Qt.TextFormat.RichText)
        self.ticker_label.setObjectName("chartTicker")
        self.ticker_label.setContentsMargins(8, 0, 8, 0)
        self.busy = QProgressBar()
        self.busy.setRange(0, 0)  # indeterminate: the importer does not report fractions
        self.busy.setMaximumWidth(140)
        self.busy.setTextVisible(False)
        self.status = QLabel("Opening the candle store…")
        self.status.setStyleSheet(f"color: {MUTED};")
        # A long status must not set the window's minimum width: it is cut instead.
        self.status.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)

        bar = QHBoxLayout(self)
        bar.setContentsMargins(4, 2, 4, 2)
        bar.addWidget(self.symbol_box)
        bar.addWidget(self.interval_box)
        for spec in OVERLAYS:
            box = QCheckBox(spec.label)
            box.setStyleSheet(f"QCheckBox {{ color: {spec.color}; spacing: 5px; margin: 0 8px 0 6px; }}")
            box.setChecked(spec.key != "bb")
            self.overlay_boxes[spec.key] = box
            bar.addWidget(box)
        bar.addWidget(self.fit_button)
        bar.addWidget(self.ticker_label)
        bar.addWidget(self.status, 1)  # takes the spare width (its Ignored policy would get none)
        bar.addWidget(self.busy)

    def set_busy(self, text: str) -> None:
        self.status.setText(text)
        self.busy.show()

    def set_idle(self, text: str) -> None:
        self.status.setText(text)
        self.busy.hide()
