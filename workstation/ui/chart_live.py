"""Live updates for the chart: klines from the public stream patch the last bar or append new
ones in memory (no store read, no reload), and the redraw runs on a throttle; tickers set the
last-price readout in the chart header."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QObject, QTimer

from workstation.core.enums import Venue
from workstation.core.types import Candle
from workstation.data.arrays import CandleArrays
from workstation.exchanges.bybit.public_stream import KlineUpdate, TickerUpdate
from workstation.ui.fmt import format_price
from workstation.ui.live_feed import LiveFeed, is_bybit_venue, public_stream_url
from workstation.ui.overlays import compute_overlays
from workstation.ui.store_worker import ChartData
from workstation.ui.theme import MUTED

if TYPE_CHECKING:
    from workstation.ui.panels.chart import ChartPanel

REDRAW_MS = 250  # at most four redraws a second however fast klines arrive


def merge_candles(c: CandleArrays, updates: list[Candle]) -> tuple[CandleArrays, int]:
    """Apply kline bars (sorted by ts) to the arrays: a bar at an existing ts replaces it, a newer
    one is appended. Returns the new arrays and how many bars were appended."""
    ts, cols = c.ts, [c.open, c.high, c.low, c.close, c.volume]
    newer = [u for u in updates if not len(ts) or u.ts > ts[-1]]
    known = [u for u in updates if len(ts) and u.ts <= ts[-1]]
    if known:
        cols = [a if a.flags.writeable else a.copy() for a in cols]
        for u in known:
            i = int(np.searchsorted(ts, u.ts))
            if i < len(ts) and ts[i] == u.ts:
                for a, v in zip(cols, (u.open, u.high, u.low, u.close, u.volume), strict=True):
                    a[i] = v
    if newer:
        ts = np.append(ts, np.array([u.ts for u in newer], dtype=np.int64))
        fields = ("open", "high", "low", "close", "volume")
        cols = [
            np.append(a, np.array([getattr(u, f) for u in newer], np.float64))
            for a, f in zip(cols, fields, strict=True)
        ]
    return CandleArrays(ts, *cols), len(newer)


class ChartLive(QObject):
    """Owned by a ChartPanel; follows the shown series when the venue is a Bybit venue."""

    def __init__(self, panel: ChartPanel, venue: Venue | str | None, url: str | None = None) -> None:
        super().__init__(panel)  # the panel is reached through Qt's parent, not a Python cycle
        self.enabled = is_bybit_venue(venue)
        self.feed = LiveFeed(public_stream_url(venue, url), self) if self.enabled and venue else None
        self.pending: dict[int, Candle] = {}
        self.last_price: float | None = None
        self.redraws = 0
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(REDRAW_MS)
        self._timer.timeout.connect(self.flush)
        if self.feed is not None:
            self.feed.kline.connect(self._on_kline)
            self.feed.ticker.connect(self._on_ticker)
            self.feed.connection.connect(self._on_connection)

    @property
    def panel(self) -> ChartPanel:
        return self.parent()  # type: ignore[return-value]

    def on_series(self, data: ChartData) -> None:
        """A series was drawn: follow it (or stop when Bybit has no such symbol/interval)."""
        self.pending.clear()
        self.last_price = None
        self.panel.ticker_label.setText("")
        if self.feed is None:
            return
        catalog = self.panel.catalog
        listed = catalog.bybit_linear if catalog is not None else None
        if self.feed.follow(data.key.symbol, data.interval, listed):
            self.panel.ticker_label.setText(f"<span style='color:{MUTED}'>Live: connecting…</span>")

    def stop(self) -> None:
        if self.feed is not None:
            self.feed.stop()

    def _on_kline(self, update: KlineUpdate) -> None:
        self.pending[update.candle.ts] = update.candle
        if not self._timer.isActive():
            self._timer.start()

    def _on_ticker(self, update: TickerUpdate) -> None:
        price = update.last_price if update.last_price is not None else update.mark_price
        if price is None:
            return
        previous, self.last_price = self.last_price, float(price)
        color = (
            MUTED
            if previous is None or previous == self.last_price
            else (self.panel.candles_color(self.last_price > previous))
        )
        self.panel.ticker_label.setText(
            f"Last <b style='color:{color}; font-family: monospace'>{format_price(self.last_price)}</b>"
        )

    def _on_connection(self, connected: bool, reason: str) -> None:
        if not connected:
            self.panel.ticker_label.setToolTip(f"Live stream down: {reason}")
            if self.last_price is None:
                self.panel.ticker_label.setText(f"<span style='color:{MUTED}'>Live: reconnecting…</span>")
        else:
            self.panel.ticker_label.setToolTip("Live from Bybit's public stream")

    def flush(self) -> None:
        """Patch the drawn series with the klines received since the last redraw."""
        panel, data = self.panel, self.panel.data
        if data is None or not self.pending:
            self.pending.clear()
            return
        updates = [self.pending[ts] for ts in sorted(self.pending)]
        self.pending.clear()
        candles, appended = merge_candles(data.candles, updates)
        vb = panel.price_plot.vb
        (x0, x1), old_last = vb.viewRange()[0], panel.candles.x[-1] if len(panel.candles.x) else None
        data = dataclasses.replace(data, candles=candles, overlays=compute_overlays(candles.close))
        panel.data = data
        c, w = candles, data.bar_seconds
        panel.candles.set_data(c.ts, c.open, c.high, c.low, c.close, w)
        panel.volume.set_data(c.ts, c.volume, c.close >= c.open, w)
        for key, lines in data.overlays.items():
            for curve, values in zip(panel.overlay_items[key], lines, strict=True):
                curve.set_data(c.ts, values, w)
        panel.set_limits()
        if appended and old_last is not None and x1 >= old_last:  # following the right edge
            vb.setXRange(x0 + appended * w, x1 + appended * w, padding=0)
        panel.fit_y()
        if not panel.vline.isVisible():
            panel.readout.setText(panel.readout_html(len(c) - 1))
        panel.status.setText(f"{len(c):,} bars · live")
        self.redraws += 1
        panel.data_updated.emit(int(c.ts[-1]))
