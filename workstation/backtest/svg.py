"""Small inline-SVG charts for the HTML report (no plotting library, no scripts, no network).

Long series are reduced to at most two points per horizontal pixel (the min and max of each
pixel column, in time order), so a million-bar curve stays a few kilobytes and keeps its spikes.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from html import escape

import numpy as np

W, H = 920, 260
PAD_L, PAD_R, PAD_T, PAD_B = 70, 16, 26, 30


@dataclass
class Line:
    x: np.ndarray
    y: np.ndarray
    color: str
    label: str = ""
    width: float = 1.4
    fill_to: float | None = None  # fill the area between the line and this y value


@dataclass
class Band:
    x: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    color: str
    opacity: float = 0.2
    label: str = ""


@dataclass
class Markers:
    x: np.ndarray
    y: np.ndarray
    color: str
    shape: str = "up"  # up / down triangles
    label: str = ""


@dataclass
class Chart:
    title: str
    lines: list[Line] = field(default_factory=list)
    bands: list[Band] = field(default_factory=list)
    markers: list[Markers] = field(default_factory=list)
    shades: list[tuple[float, float, str]] = field(default_factory=list)  # x ranges behind the data
    y_format: Callable[[float], str] = lambda v: f"{v:,.4g}"
    x_is_time: bool = True
    x_format: Callable[[float], str] = lambda v: f"{v:,.4g}"
    log_y: bool = False
    height: int = H


def reduce_xy(x: np.ndarray, y: np.ndarray, buckets: int) -> tuple[np.ndarray, np.ndarray]:
    """At most 2 points per bucket of the x range: each bucket's min and max in x order."""
    n = len(x)
    if n <= 2 * buckets:
        return x, y
    edges = np.linspace(0, n, buckets + 1).astype(np.int64)
    starts = edges[:-1][np.diff(edges) > 0]
    i_lo = np.array([s + int(np.argmin(y[s:e])) for s, e in zip(starts, [*starts[1:], n], strict=True)])
    i_hi = np.array([s + int(np.argmax(y[s:e])) for s, e in zip(starts, [*starts[1:], n], strict=True)])
    first = np.minimum(i_lo, i_hi)
    second = np.maximum(i_lo, i_hi)
    idx = np.empty(2 * len(starts), np.int64)
    idx[0::2], idx[1::2] = first, second
    return x[idx], y[idx]


def _nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [lo]
    raw = (hi - lo) / count
    mag = 10 ** math.floor(math.log10(raw))
    step = min((m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw), default=10 * mag)
    start = math.ceil(lo / step) * step
    return [start + k * step for k in range(int((hi - start) / step) + 1)]


def _log_ticks(lo: float, hi: float) -> list[float]:
    """Ticks for a log10 axis spanning 10**lo..10**hi: 1-2-5 steps, or plain ticks in a narrow range."""
    ticks = [m * 10.0**k for k in range(math.floor(lo), math.ceil(hi) + 1) for m in (1, 2, 5)]
    ticks = [t for t in ticks if lo <= math.log10(t) <= hi]
    if len(ticks) >= 3:
        return ticks if len(ticks) <= 8 else ticks[:: math.ceil(len(ticks) / 8)]
    return [t for t in _nice_ticks(10**lo, 10**hi) if t > 0]


def _time_label(ms: float, span_ms: float) -> str:
    t = dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC)
    return t.strftime("%Y-%m-%d" if span_ms > 3 * 86_400_000 else "%m-%d %H:%M")


def render(chart: Chart, width: int = W) -> str:
    """The chart as an <svg> element string."""
    h = chart.height
    xs = [a.x for a in chart.lines] + [b.x for b in chart.bands]
    ys = [a.y for a in chart.lines] + [b.lo for b in chart.bands] + [b.hi for b in chart.bands]
    xs = [np.asarray(v, dtype=float) for v in xs if len(v)]
    ys = [np.asarray(v, dtype=float) for v in ys if len(v)]
    if not xs:
        return f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="40"><text x="8" y="24">no data</text></svg>'
    x0, x1 = min(float(np.nanmin(v)) for v in xs), max(float(np.nanmax(v)) for v in xs)
    tr = np.log10 if chart.log_y else (lambda v: v)
    finite = [tr(v[np.isfinite(v) & ((v > 0) if chart.log_y else True)]) for v in ys]
    finite = [v for v in finite if len(v)]
    y0 = min(float(v.min()) for v in finite) if finite else 0.0
    y1 = max(float(v.max()) for v in finite) if finite else 1.0
    for line in chart.lines:
        if line.fill_to is not None:
            y0, y1 = min(y0, line.fill_to), max(y1, line.fill_to)
    if y1 <= y0:
        y0, y1 = y0 - 1, y1 + 1
    pad = (y1 - y0) * 0.04
    y0, y1 = y0 - pad, y1 + pad
    if x1 <= x0:
        x1 = x0 + 1
    pw, ph = width - PAD_L - PAD_R, h - PAD_T - PAD_B

    def px(v: np.ndarray) -> np.ndarray:
        return PAD_L + (np.asarray(v, dtype=float) - x0) / (x1 - x0) * pw

    def py(v: np.ndarray) -> np.ndarray:
        return PAD_T + (1 - (tr(np.asarray(v, dtype=float)) - y0) / (y1 - y0)) * ph

    def pts(x: np.ndarray, y: np.ndarray) -> str:
        ok = np.isfinite(y) & ((y > 0) if chart.log_y else True)
        return " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(px(x[ok]), py(y[ok]), strict=True))

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{h}" viewBox="0 0 {width} {h}" '
        f'font-family="sans-serif" font-size="11">',
        f'<text x="{PAD_L}" y="16" font-size="13" font-weight="bold">{escape(chart.title)}</text>',
    ]
    for a, b, color in chart.shades:
        xa, xb = px(np.array([a, b]))
        out.append(f'<rect x="{xa:.1f}" y="{PAD_T}" width="{max(xb - xa, 0.5):.1f}" height="{ph}" fill="{color}"/>')
    for value in _log_ticks(y0, y1) if chart.log_y else _nice_ticks(y0, y1):
        yy = float(py(np.array([value]))[0])
        label = chart.y_format(value)
        out.append(f'<line x1="{PAD_L}" x2="{width - PAD_R}" y1="{yy:.1f}" y2="{yy:.1f}" stroke="#e4e4e4"/>')
        out.append(f'<text x="{PAD_L - 6}" y="{yy + 4:.1f}" text-anchor="end" fill="#555">{escape(label)}</text>')
    for t in _nice_ticks(x0, x1, 6):
        xx = float(px(np.array([t]))[0])
        label = _time_label(t, x1 - x0) if chart.x_is_time else chart.x_format(t)
        out.append(f'<line x1="{xx:.1f}" x2="{xx:.1f}" y1="{PAD_T}" y2="{PAD_T + ph}" stroke="#f0f0f0"/>')
        out.append(f'<text x="{xx:.1f}" y="{h - 10}" text-anchor="middle" fill="#555">{label}</text>')
    out.append(f'<rect x="{PAD_L}" y="{PAD_T}" width="{pw}" height="{ph}" fill="none" stroke="#999"/>')
    buckets = pw
    for b in chart.bands:
        x, lo, hi = (np.asarray(v, dtype=float) for v in (b.x, b.lo, b.hi))
        if len(x) > 2 * buckets:
            step = math.ceil(len(x) / buckets)
            x, lo, hi = x[::step], lo[::step], hi[::step]
        poly = pts(x, hi) + " " + pts(x[::-1], lo[::-1])
        out.append(f'<polygon points="{poly}" fill="{b.color}" fill-opacity="{b.opacity}" stroke="none"/>')
    for line in chart.lines:
        x, y = reduce_xy(np.asarray(line.x, dtype=float), np.asarray(line.y, dtype=float), buckets)
        if line.fill_to is not None and len(x):
            base = float(py(np.array([line.fill_to]))[0])
            poly = f"{px(x[:1])[0]:.1f},{base:.1f} " + pts(x, y) + f" {px(x[-1:])[0]:.1f},{base:.1f}"
            out.append(f'<polygon points="{poly}" fill="{line.color}" fill-opacity="0.25" stroke="none"/>')
        out.append(f'<polyline points="{pts(x, y)}" fill="none" stroke="{line.color}" stroke-width="{line.width}"/>')
    for m in chart.markers:
        for a, b in zip(px(m.x), py(m.y), strict=True):
            d = 5 if m.shape == "up" else -5
            out.append(f'<path d="M{a:.1f},{b:.1f} l-4,{d} h8 z" fill="{m.color}" fill-opacity="0.85"/>')
    legend = [(x.label, x.color) for x in (*chart.lines, *chart.bands, *chart.markers) if x.label]
    lx = width - PAD_R
    for label, color in reversed(legend):
        lx -= 12 + 7 * len(label)
        out.append(f'<rect x="{lx}" y="7" width="10" height="10" fill="{color}"/>')
        out.append(f'<text x="{lx + 14}" y="16" fill="#333">{escape(label)}</text>')
        lx -= 8
    out.append("</svg>")
    return "\n".join(out)


def histogram(
    title: str, values: np.ndarray, marks: Sequence[tuple[float, str, str]], fmt: Callable[[float], str]
) -> str:
    """A histogram of `values` with vertical marker lines (value, color, label)."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if not len(v):
        return render(Chart(title))
    counts, edges = np.histogram(v, bins=40)
    x = np.repeat(edges, 2)[1:-1]
    y = np.repeat(counts.astype(float), 2)
    chart = Chart(title, [Line(x, y, "#4c72b0", "paths", fill_to=0.0)], x_is_time=False, height=200)
    chart.y_format = lambda c: f"{c:,.0f}"
    chart.x_format = fmt
    svg = render(chart)
    lo, hi = float(min(edges[0], *(m[0] for m in marks))), float(max(edges[-1], *(m[0] for m in marks)))
    extra = []
    pw = W - PAD_L - PAD_R
    for value, color, label in marks:
        if not math.isfinite(value) or hi <= lo:
            continue
        xx = PAD_L + (value - edges[0]) / (edges[-1] - edges[0] or 1) * pw
        xx = min(max(xx, PAD_L), PAD_L + pw)
        extra.append(
            f'<line x1="{xx:.1f}" x2="{xx:.1f}" y1="{PAD_T}" y2="{200 - PAD_B}" stroke="{color}" stroke-width="2"/>'
        )
        extra.append(
            f'<text x="{xx + 3:.1f}" y="{PAD_T + 12}" fill="{color}">{escape(label)} {escape(fmt(value))}</text>'
        )
    svg = svg.replace("</svg>", "\n".join(extra) + "\n</svg>")
    return svg
