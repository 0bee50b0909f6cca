"""Candlestick and volume items that stay fast with a year of 1-minute bars.

Each paint draws only the bars inside the view. When bars are narrower than a few pixels they are
merged to one per pixel column (highest high, lowest low, first open, last close), so the drawn
envelope is exactly the data's range in every column while the cost stays tied to the width of
the screen, not to the number of bars. Drawing happens in device pixels (the painter transform is
reset): coordinates stay small and crisp even though x is epoch seconds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QLineF, QRectF
from PySide6.QtGui import QColor, QPainter, QPen, QTransform
from PySide6.QtWidgets import QStyleOptionGraphicsItem, QWidget

try:  # packs numpy rows straight into QPainter's array calls (no Python object per line)
    from pyqtgraph.Qt.internals import PrimitiveArray
except ImportError:  # pragma: no cover - older or newer pyqtgraph
    PrimitiveArray = None

UP_COLOR = "#26a69a"
DOWN_COLOR = "#ef5350"
VOLUME_ALPHA = 110
# Below this many pixels per bar, bodies are indistinguishable from wicks: merge per pixel.
MERGE_BELOW_PX = 3.0


@dataclass(frozen=True, slots=True)
class Frame:
    """What the last paint drew, in data units (kept for tests and the bench)."""

    merged: bool
    first: int  # index of the first visible bar
    last: int  # one past the last visible bar
    starts: np.ndarray  # offset (from `first`) of the first bar in each drawn column
    columns: np.ndarray  # device x of each drawn column (merged) or bar (not merged)
    high: np.ndarray
    low: np.ndarray


class Primitives:
    """A reusable float64 buffer drawn with one drawLines/drawRects call."""

    def __init__(self, klass: type) -> None:
        self._klass = klass
        self._array = PrimitiveArray(klass, 4) if PrimitiveArray is not None else None

    def draw(self, painter: QPainter, rows: np.ndarray) -> None:
        if len(rows) == 0:
            return
        if self._array is None:
            objs = [self._klass(*r) for r in rows.tolist()]
            (painter.drawLines if self._klass is QLineF else painter.drawRects)(objs)
            return
        self._array.resize(len(rows))
        self._array.ndarray()[:] = rows
        args = self._array.drawargs()
        (painter.drawLines if self._klass is QLineF else painter.drawRects)(*args)


class _BarSeriesItem(pg.GraphicsObject):
    """Shared slicing and per-pixel bucketing for items with one bar per timestamp."""

    def __init__(self) -> None:
        super().__init__()
        self.x = np.empty(0)  # bar centre, epoch seconds
        self.bar_width = 60.0
        self._bounds = QRectF()
        self.last_frame: Frame | None = None
        self.setFlag(self.GraphicsItemFlag.ItemUsesExtendedStyleOption)

    def _set_x(self, ts_ms: np.ndarray, bar_width_s: float) -> None:
        self.prepareGeometryChange()
        self.bar_width = float(bar_width_s)
        self.x = ts_ms.astype(np.float64) / 1000.0 + self.bar_width / 2

    def boundingRect(self) -> QRectF:
        return self._bounds

    def visible_range(self, x0: float, x1: float) -> tuple[int, int]:
        half = self.bar_width / 2
        lo = int(np.searchsorted(self.x, x0 - half, side="left"))
        hi = int(np.searchsorted(self.x, x1 + half, side="right"))
        return lo, hi

    def _device_columns(self, tr: QTransform, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray] | None:
        """Start index (absolute) of each non-empty pixel column, and its device x, or None when
        bars are wide enough to draw one by one."""
        sx, ox = tr.m11(), tr.m31()
        if self.bar_width * abs(sx) >= MERGE_BELOW_PX or hi - lo < 2:
            return None
        px_first = np.floor(self.x[lo] * sx + ox)
        px_last = np.floor(self.x[hi - 1] * sx + ox)
        edges = (np.arange(px_first + 1, px_last + 1) - ox) / sx  # data x where each new column starts
        starts = np.searchsorted(self.x[lo:hi], edges, side="left")
        starts = np.unique(np.concatenate(([0], starts)))
        starts = starts[starts < hi - lo]
        columns = np.floor(self.x[lo:hi][starts] * sx + ox) + 0.5
        return starts, columns

    def _begin(self, painter: QPainter) -> tuple[QTransform, int, int] | None:
        if len(self.x) == 0:
            return None
        view = self.viewRect()
        if view is None:
            return None
        lo, hi = self.visible_range(view.left(), view.right())
        if hi <= lo:
            self.last_frame = None
            return None
        tr = painter.transform()
        painter.resetTransform()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        return tr, lo, hi


class CandlesItem(_BarSeriesItem):
    def __init__(self, up: str = UP_COLOR, down: str = DOWN_COLOR) -> None:
        super().__init__()
        self.open = self.high = self.low = self.close = np.empty(0)
        self._pens = (QPen(QColor(up)), QPen(QColor(down)))
        for pen in self._pens:
            pen.setCosmetic(True)
            pen.setWidth(1)
        self._brushes = (pg.mkBrush(up), pg.mkBrush(down))
        self._lines = (Primitives(QLineF), Primitives(QLineF))
        self._rects = (Primitives(QRectF), Primitives(QRectF))

    def set_data(
        self,
        ts_ms: np.ndarray,
        open_: np.ndarray,
        high: np.ndarray,
        low: np.ndarray,
        close: np.ndarray,
        bar_width_s: float,
    ) -> None:
        self._set_x(ts_ms, bar_width_s)
        self.open, self.high, self.low, self.close = open_, high, low, close
        if len(self.x):
            half = self.bar_width / 2
            lo, hi = float(np.nanmin(low)), float(np.nanmax(high))
            self._bounds = QRectF(self.x[0] - half, lo, self.x[-1] - self.x[0] + 2 * half, hi - lo)
        else:
            self._bounds = QRectF()
        self.update()

    def y_range(self, x0: float, x1: float) -> tuple[float, float] | None:
        lo, hi = self.visible_range(x0, x1)
        if hi <= lo:
            return None
        return float(np.nanmin(self.low[lo:hi])), float(np.nanmax(self.high[lo:hi]))

    def dataBounds(self, ax: int, frac: float = 1.0, orthoRange: tuple[float, float] | None = None) -> tuple:
        if len(self.x) == 0:
            return (None, None)
        if ax == 0:
            return (self._bounds.left(), self._bounds.right())
        span = self.y_range(*orthoRange) if orthoRange is not None else None
        return span if span is not None else (self._bounds.top(), self._bounds.bottom())

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        begun = self._begin(painter)
        if begun is None:
            return
        tr, lo, hi = begun
        sy, oy = tr.m22(), tr.m32()
        buckets = self._device_columns(tr, lo, hi)
        if buckets is not None:
            starts, xs = buckets
            absolute = starts + lo
            ends = np.append(absolute[1:], hi)
            high = np.maximum.reduceat(self.high[lo:hi], starts)
            low = np.minimum.reduceat(self.low[lo:hi], starts)
            up = self.close[ends - 1] >= self.open[absolute]
            self._draw_wicks(painter, xs, high * sy + oy, low * sy + oy, up)
            self.last_frame = Frame(True, lo, hi, starts, xs, high, low)
            return
        sx, ox = tr.m11(), tr.m31()
        xs = np.floor(self.x[lo:hi] * sx + ox) + 0.5
        high, low = self.high[lo:hi], self.low[lo:hi]
        up = self.close[lo:hi] >= self.open[lo:hi]
        self._draw_wicks(painter, xs, high * sy + oy, low * sy + oy, up)
        body_w = max(1.0, round(self.bar_width * abs(sx) * 0.7))
        if body_w > 1.0:
            top = np.maximum(self.open[lo:hi], self.close[lo:hi]) * sy + oy
            bottom = np.minimum(self.open[lo:hi], self.close[lo:hi]) * sy + oy
            y0 = np.minimum(top, bottom)
            height = np.maximum(np.abs(bottom - top), 1.0)
            rects = np.column_stack((np.floor(xs - body_w / 2), np.floor(y0), np.full(len(xs), body_w), height))
            for i, mask in enumerate((up, ~up)):
                painter.setPen(self._pens[i])
                painter.setBrush(self._brushes[i])
                self._rects[i].draw(painter, rects[mask])
        self.last_frame = Frame(False, lo, hi, np.arange(hi - lo), xs, high, low)

    def _draw_wicks(self, painter: QPainter, xs: np.ndarray, y_high: np.ndarray, y_low: np.ndarray, up: np.ndarray):
        lines = np.column_stack((xs, y_high, xs, y_low))
        for i, mask in enumerate((up, ~up)):
            painter.setPen(self._pens[i])
            self._lines[i].draw(painter, lines[mask])


class VolumeItem(_BarSeriesItem):
    """Volume bars coloured by candle direction. Merged columns show the tallest bar in the
    pixel, so the axis keeps meaning "volume per bar" at every zoom."""

    def __init__(self, up: str = UP_COLOR, down: str = DOWN_COLOR) -> None:
        super().__init__()
        self.volume = self.up = np.empty(0)
        colors = []
        for name in (up, down):
            color = QColor(name)
            color.setAlpha(VOLUME_ALPHA)
            colors.append(color)
        self._pens = tuple(QPen(c) for c in colors)
        self._brushes = tuple(pg.mkBrush(c) for c in colors)
        self._lines = (Primitives(QLineF), Primitives(QLineF))
        self._rects = (Primitives(QRectF), Primitives(QRectF))

    def set_data(self, ts_ms: np.ndarray, volume: np.ndarray, up: np.ndarray, bar_width_s: float) -> None:
        self._set_x(ts_ms, bar_width_s)
        self.volume = np.nan_to_num(volume)
        self.up = up
        if len(self.x):
            half = self.bar_width / 2
            top = float(self.volume.max()) if len(self.volume) else 1.0
            self._bounds = QRectF(self.x[0] - half, 0.0, self.x[-1] - self.x[0] + 2 * half, top or 1.0)
        else:
            self._bounds = QRectF()
        self.update()

    def max_volume(self, x0: float, x1: float) -> float:
        lo, hi = self.visible_range(x0, x1)
        return float(self.volume[lo:hi].max()) if hi > lo else 0.0

    def dataBounds(self, ax: int, frac: float = 1.0, orthoRange: tuple[float, float] | None = None) -> tuple:
        if len(self.x) == 0:
            return (None, None)
        if ax == 0:
            return (self._bounds.left(), self._bounds.right())
        top = self.max_volume(*orthoRange) if orthoRange is not None else self._bounds.bottom()
        return (0.0, top)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        begun = self._begin(painter)
        if begun is None:
            return
        tr, lo, hi = begun
        sy, oy = tr.m22(), tr.m32()
        base = oy
        buckets = self._device_columns(tr, lo, hi)
        if buckets is not None:
            starts, xs = buckets
            vol = np.maximum.reduceat(self.volume[lo:hi], starts)
            up = self.up[starts + lo]
            lines = np.column_stack((xs, np.full(len(xs), base), xs, vol * sy + oy))
            for i, mask in enumerate((up, ~up)):
                painter.setPen(self._pens[i])
                self._lines[i].draw(painter, lines[mask])
            return
        sx, ox = tr.m11(), tr.m31()
        xs = np.floor(self.x[lo:hi] * sx + ox) + 0.5
        width = max(1.0, round(self.bar_width * abs(sx) * 0.7))
        top = self.volume[lo:hi] * sy + oy
        rects = np.column_stack((np.floor(xs - width / 2), top, np.full(len(xs), width), base - top))
        painter.setPen(pg.mkPen(None))
        for i, mask in enumerate((self.up[lo:hi], ~self.up[lo:hi])):
            painter.setBrush(self._brushes[i])
            self._rects[i].draw(painter, rects[mask])


class LineItem(_BarSeriesItem):
    """A line over the bars (moving averages, bands), drawn like the candles: only the visible
    slice, and when zoomed out one vertical min-max stroke per pixel column joined to the next,
    so spikes survive. NaN values (an average's warm-up) leave gaps."""

    def __init__(self, color: str) -> None:
        super().__init__()
        self.y = np.empty(0)
        self._pen = QPen(QColor(color))
        self._pen.setCosmetic(True)
        self._lines = Primitives(QLineF)

    def set_data(self, ts_ms: np.ndarray, y: np.ndarray, bar_width_s: float) -> None:
        self._set_x(ts_ms, bar_width_s)
        self.y = y
        finite = y[np.isfinite(y)]
        if len(finite):
            half = self.bar_width / 2
            lo, hi = float(finite.min()), float(finite.max())
            self._bounds = QRectF(self.x[0] - half, lo, self.x[-1] - self.x[0] + 2 * half, hi - lo)
        else:
            self._bounds = QRectF()
        self.update()

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        begun = self._begin(painter)
        if begun is None:
            return
        tr, lo, hi = begun
        sy, oy = tr.m22(), tr.m32()
        # one bar beyond each edge so the line reaches the border of the view
        lo, hi = max(lo - 1, 0), min(hi + 1, len(self.x))
        buckets = self._device_columns(tr, lo, hi)
        y = self.y[lo:hi]
        if buckets is not None:
            starts, xs = buckets
            with np.errstate(invalid="ignore"):
                top = np.fmin.reduceat(y, starts)
                bottom = np.fmax.reduceat(y, starts)
            px = np.repeat(xs, 2)
            py = np.column_stack((top, bottom)).ravel()
        else:
            px = np.floor(self.x[lo:hi] * tr.m11() + tr.m31()) + 0.5
            py = y
        segments = np.column_stack((px[:-1], py[:-1] * sy + oy, px[1:], py[1:] * sy + oy))
        segments = segments[np.isfinite(segments).all(axis=1)]
        painter.setPen(self._pen)
        self._lines.draw(painter, segments)
