"""A cheap grid: opaque one-pixel lines at the axes' major ticks, drawn in device pixels.

pyqtgraph's own grid (AxisItem grid, alpha-blended across the whole view at every tick level)
costs most of a pan frame; this one costs well under a millisecond.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QLineF, QRectF
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QStyleOptionGraphicsItem, QWidget

from workstation.ui.candles_item import Primitives

GRID_COLOR = "#262a33"


class GridLines(pg.GraphicsObject):
    def __init__(self, x_axis: pg.AxisItem | None, y_axis: pg.AxisItem | None, color: str = GRID_COLOR) -> None:
        super().__init__()
        self.x_axis, self.y_axis = x_axis, y_axis
        self._pen = QPen(QColor(color))
        self._pen.setCosmetic(True)
        self._lines = Primitives(QLineF)
        self._bounds: QRectF | None = None
        self.setZValue(-1000)

    def boundingRect(self) -> QRectF:
        if self._bounds is None:
            view = self.viewRect()
            self._bounds = QRectF() if view is None else QRectF(view)
        return self._bounds

    def viewTransformChanged(self) -> None:
        # like pg.InfiniteLine: the item spans the view, so its bounds follow the view
        self.prepareGeometryChange()
        self._bounds = None
        super().viewTransformChanged()

    @staticmethod
    def _major(axis: pg.AxisItem, lo: float, hi: float, pixels: float, levels_used: int) -> np.ndarray:
        if isinstance(axis, pg.DateAxisItem) and not hasattr(axis, "fontMetrics"):
            return np.empty(0)  # it measures its labels on its first paint; until then no ticks
        levels = axis.tickValues(lo, hi, pixels)
        values = [v for _, ticks in levels[:levels_used] for v in ticks]
        return np.asarray(values, dtype=np.float64)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        view = self.viewRect()
        if view is None or view.width() <= 0 or view.height() <= 0:
            return
        tr = painter.transform()
        device = tr.mapRect(view)
        painter.resetTransform()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        painter.setPen(self._pen)
        rows = []
        if self.x_axis is not None:
            xs = np.floor(self._major(self.x_axis, view.left(), view.right(), device.width(), 2) * tr.m11() + tr.m31())
            rows.append(np.column_stack((xs, np.full(len(xs), device.top()), xs, np.full(len(xs), device.bottom()))))
        if self.y_axis is not None:
            ys = np.floor(self._major(self.y_axis, view.top(), view.bottom(), device.height(), 1) * tr.m22() + tr.m32())
            rows.append(np.column_stack((np.full(len(ys), device.left()), ys, np.full(len(ys), device.right()), ys)))
        if rows:
            self._lines.draw(painter, np.concatenate(rows) + 0.5)
