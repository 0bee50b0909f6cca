"""The backtest lab's inputs: stored series and interval (from the store's catalog), strategy and
its parameters (widgets generated from its declared specs), cash, the run mode and its settings
(sweep grids, walk-forward windows, Monte Carlo paths); `request()` turns them into a LabRequest."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from workstation.strategies.builtin import REGISTRY
from workstation.ui.lab_job import MODES, LabRequest, parse_grid
from workstation.ui.panels.lab_inputs import default_grid, param_widget
from workstation.ui.store_worker import Catalog, SeriesKey

MODE_TITLES = ("Backtest", "Sweep (2 params)", "Walk-forward", "Monte Carlo")


class LabForm(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.catalog: Catalog | None = None
        self.param_boxes: dict[str, QAbstractSpinBox] = {}
        self.series_box = QComboBox()
        self.interval_box = QComboBox()
        self.strategy_box = QComboBox()
        for name, cls in REGISTRY.items():
            self.strategy_box.addItem(name, name)
            self.strategy_box.setItemData(self.strategy_box.count() - 1, cls.description, Qt.ItemDataRole.ToolTipRole)
        self.cash_box = QDoubleSpinBox()
        self.cash_box.setRange(100, 1e9)
        self.cash_box.setDecimals(0)
        self.cash_box.setValue(10_000)
        self.params_form = QFormLayout()
        self.mode_box = QComboBox()
        for mode, title in zip(MODES, MODE_TITLES, strict=True):
            self.mode_box.addItem(title, mode)
        self.grid_x = QLineEdit()
        self.grid_y = QLineEdit()
        for box in (self.grid_x, self.grid_y):
            box.setToolTip("name=low:high:step or name=v1,v2,... (sweep and walk-forward)")
        self.train_box = QSpinBox()
        self.train_box.setRange(1, 3650)
        self.train_box.setValue(20)
        self.train_box.setSuffix(" d train")
        self.test_box = QSpinBox()
        self.test_box.setRange(1, 3650)
        self.test_box.setValue(7)
        self.test_box.setSuffix(" d test")
        self.iterations_box = QSpinBox()
        self.iterations_box.setRange(100, 100_000)
        self.iterations_box.setSingleStep(1000)
        self.iterations_box.setValue(2_000)

        form = QFormLayout()
        form.addRow("Data", self.series_box)
        form.addRow("Interval", self.interval_box)
        form.addRow("Strategy", self.strategy_box)
        form.addRow("Cash", self.cash_box)
        form.addRow("Run", self.mode_box)
        form.addRow("Grid X", self.grid_x)
        form.addRow("Grid Y", self.grid_y)
        wf_row = QHBoxLayout()
        wf_row.addWidget(self.train_box)
        wf_row.addWidget(self.test_box)
        form.addRow("Walk-forward", wf_row)
        form.addRow("MC paths", self.iterations_box)
        params_group = QGroupBox("Parameters")
        params_group.setLayout(self.params_form)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(form)
        layout.addWidget(params_group)

        self.strategy_box.currentIndexChanged.connect(self._build_params)
        self.series_box.currentIndexChanged.connect(self._fill_intervals)
        self.strategy_box.setCurrentText("sma_cross")
        self._build_params()

    def show_catalog(self, catalog: Catalog) -> bool:
        """Fill the series picker; False if the store has no series."""
        self.catalog = catalog
        self.series_box.clear()
        for key in catalog.keys():
            self.series_box.addItem(key.label(), key)
        return bool(catalog.keys())

    def _fill_intervals(self, *_: object) -> None:
        key = self.series_box.currentData()
        self.interval_box.clear()
        if self.catalog is not None and isinstance(key, SeriesKey):
            self.interval_box.addItems(self.catalog.intervals(key))
            self.interval_box.setCurrentText("1h")

    def _build_params(self, *_: object) -> None:
        while self.params_form.rowCount():
            self.params_form.removeRow(0)
        self.param_boxes = {}
        cls = REGISTRY[self.strategy_box.currentData() or "sma_cross"]
        for spec in cls.params():
            box = param_widget(spec)
            self.param_boxes[spec.name] = box
            self.params_form.addRow(spec.name, box)
        if not self.param_boxes:
            self.params_form.addRow(QLabel("no parameters"))
        grids = [default_grid(spec) for spec in cls.params()]
        self.grid_x.setText(grids[0] if grids else "")
        self.grid_y.setText(grids[1] if len(grids) > 1 else "")

    def params(self) -> dict[str, Any]:
        return {name: box.value() for name, box in self.param_boxes.items()}  # type: ignore[attr-defined]

    def request(self, db: Path) -> LabRequest:
        """What to run on the candle store at `db`; ValueError with a readable reason if incomplete."""
        key = self.series_box.currentData()
        if not isinstance(key, SeriesKey):
            raise ValueError("no data picked (the candle store is empty?)")
        return LabRequest(
            db=db,
            venue=key.venue,
            symbol=key.symbol,
            interval=self.interval_box.currentText(),
            strategy=str(self.strategy_box.currentData()),
            params=self.params(),
            cash=self.cash_box.value(),
            mode=str(self.mode_box.currentData()),
            grid=self.grid() if self.mode_box.currentData() in ("sweep", "walkforward") else (),
            train_days=self.train_box.value(),
            test_days=self.test_box.value(),
            iterations=self.iterations_box.value(),
        )

    def grid(self) -> tuple[tuple[str, tuple[float, ...]], ...]:
        out = []
        for box in (self.grid_x, self.grid_y):
            if box.text().strip():
                name, values = parse_grid(box.text())
                if name not in self.param_boxes:
                    raise ValueError(f"{name!r} is not a parameter of {self.strategy_box.currentData()}")
                out.append((name, tuple(float(v) for v in values)))
        if not out:
            raise ValueError("give at least one grid (Grid X), e.g. fast=5:30:5")
        return tuple(out)
