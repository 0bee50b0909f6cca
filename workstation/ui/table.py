"""One generic table for every list of records (balances, positions, orders, trades).

A panel declares its columns (vnpy-style): which attribute, its title, how to format it, and
optionally how to colour it. Rows are any objects (frozen dataclasses from core.types); a row key
lets an update replace the row it belongs to instead of appending a duplicate.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, QSortFilterProxyModel, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QLabel, QTableView, QVBoxLayout, QWidget

from workstation.ui.theme import MUTED

Index = QModelIndex | QPersistentModelIndex
_ROOT = QModelIndex()


def plain(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, Decimal):
        return f"{value:,f}"
    if isinstance(value, float):
        return f"{value:,.8g}"
    return str(value)


def signed_color(value: Any) -> str | None:
    """Green for gains, red for losses (PnL columns)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return "#26a69a" if number > 0 else "#ef5350" if number < 0 else None


@dataclass(frozen=True, slots=True)
class Column:
    key: str  # attribute of the row object
    title: str
    fmt: Callable[[Any], str] = plain
    color: Callable[[Any], str | None] | None = None
    numeric: bool = False  # right-aligned, sorts by value
    fit: bool = False  # as wide as its contents (times), instead of an equal share of the width

    def value(self, row: object) -> Any:
        if isinstance(row, dict):  # engine rows arrive as the API's JSON
            return row.get(self.key)
        return getattr(row, self.key, None)


class RecordTableModel(QAbstractTableModel):
    def __init__(self, columns: Sequence[Column], key: Callable[[Any], Hashable]) -> None:
        super().__init__()
        self.columns = tuple(columns)
        self._key = key
        self._rows: list[Any] = []
        self._index: dict[Hashable, int] = {}

    # ---- data changes ------------------------------------------------------------------------

    def upsert(self, row: object) -> None:
        key = self._key(row)
        at = self._index.get(key)
        if at is None:
            self.beginInsertRows(_ROOT, len(self._rows), len(self._rows))
            self._index[key] = len(self._rows)
            self._rows.append(row)
            self.endInsertRows()
        else:
            self._rows[at] = row
            self.dataChanged.emit(self.index(at, 0), self.index(at, len(self.columns) - 1))

    def remove(self, key: Hashable) -> None:
        at = self._index.get(key)
        if at is None:
            return
        self.beginRemoveRows(_ROOT, at, at)
        del self._rows[at]
        self._index = {self._key(r): i for i, r in enumerate(self._rows)}
        self.endRemoveRows()

    def set_rows(self, rows: Iterable[object]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self._index = {self._key(r): i for i, r in enumerate(self._rows)}
        self.endResetModel()

    def rows(self) -> list[Any]:
        return list(self._rows)

    # ---- Qt model ----------------------------------------------------------------------------

    def rowCount(self, parent: Index = _ROOT) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = _ROOT) -> int:
        return 0 if parent.isValid() else len(self.columns)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.columns[section].title
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        column = self.columns[index.column()]
        value = column.value(self._rows[index.row()])
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):  # the tooltip: all of an elided cell
            return column.fmt(value)
        if role == Qt.ItemDataRole.UserRole:  # sort key
            if column.numeric and value is not None:
                try:
                    return float(value)
                except (TypeError, ValueError):
                    return 0.0
            return plain(value)
        if role == Qt.ItemDataRole.TextAlignmentRole:
            horizontal = Qt.AlignmentFlag.AlignRight if column.numeric else Qt.AlignmentFlag.AlignLeft
            return int(horizontal | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ForegroundRole and column.color is not None:
            name = column.color(value)
            return QColor(name) if name else None
        return None


class RecordTable(QWidget):
    """A sortable table of records; under its header, a message saying honestly why it is empty."""

    def __init__(
        self,
        columns: Sequence[Column],
        key: Callable[[Any], Hashable],
        empty_message: str = "Nothing to show.",
        parent: QWidget | None = None,
        *,
        newest_first: str | None = None,
    ) -> None:
        """`newest_first`: the key of a time column to sort by, descending, until a header is clicked."""
        super().__init__(parent)
        self.model = RecordTableModel(columns, key)
        proxy = QSortFilterProxyModel(self)
        proxy.setSourceModel(self.model)
        proxy.setSortRole(Qt.ItemDataRole.UserRole)
        self.view = QTableView()
        self.view.setModel(proxy)
        self.view.setSortingEnabled(True)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.verticalHeader().hide()
        header = self.view.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        header.setMinimumSectionSize(96)
        self.view.setAlternatingRowColors(False)
        self.view.setWordWrap(False)  # one line per row: long ids are elided (the tooltip has them)
        for i, column in enumerate(self.model.columns):
            if column.fit:
                header.setSectionResizeMode(i, QHeaderView.ResizeMode.ResizeToContents)
        if newest_first is not None:
            at = [c.key for c in self.model.columns].index(newest_first)
            self.view.sortByColumn(at, Qt.SortOrder.DescendingOrder)
        self.empty_label = QLabel(empty_message)
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setWordWrap(True)
        self.empty_label.setStyleSheet(f"color: {MUTED}; padding: 12px;")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.view)
        layout.addWidget(self.empty_label, 1)
        self.model.rowsInserted.connect(self._sync)
        self.model.rowsRemoved.connect(self._sync)
        self.model.modelReset.connect(self._sync)
        self._sync()

    def set_empty_message(self, text: str) -> None:
        self.empty_label.setText(text)

    def showing_empty_message(self) -> bool:
        return not self.empty_label.isHidden()

    def _sync(self, *_: object) -> None:
        empty = self.model.rowCount() == 0
        self.empty_label.setHidden(not empty)
        # When empty, keep only the header in view so the columns still say what will appear.
        self.view.setMaximumHeight(self.view.horizontalHeader().sizeHint().height() + 4 if empty else 16777215)
        policy = Qt.ScrollBarPolicy.ScrollBarAlwaysOff if empty else Qt.ScrollBarPolicy.ScrollBarAsNeeded
        self.view.setHorizontalScrollBarPolicy(policy)  # a scroll bar would cover the lone header
