"""The backtest lab's metrics table: the run's figures beside buy-and-hold's."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHeaderView, QTableWidget, QTableWidgetItem, QWidget

from workstation.ui.panels.lab_inputs import SHOWN, fmt_metric


class MetricsTable(QTableWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(len(SHOWN), 3, parent)
        self.setHorizontalHeaderLabels(["Metric", "Strategy", "Buy & hold"])
        self.verticalHeader().hide()
        self.horizontalHeader().setStretchLastSection(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        for row, (_, title) in enumerate(SHOWN):
            self.setItem(row, 0, QTableWidgetItem(title))
        self.setMinimumHeight(60)

    def show_metrics(self, metrics: dict[str, Any], benchmark: dict[str, Any]) -> None:
        for row, (key, _) in enumerate(SHOWN):
            self.setItem(row, 1, QTableWidgetItem(fmt_metric(key, metrics.get(key))))
            self.setItem(row, 2, QTableWidgetItem(fmt_metric(key, benchmark.get(key))))

    def text(self, title: str) -> str:
        """The strategy's figure for the metric titled `title` (as shown)."""
        for row, (_, shown) in enumerate(SHOWN):
            if shown == title:
                item = self.item(row, 1)
                return item.text() if item else ""
        raise KeyError(title)
