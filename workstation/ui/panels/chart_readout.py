"""The chart's OHLC readout: one bar's time, open, high, low, close, change and volume as a line of
rich text, coloured by the bar's direction."""

from __future__ import annotations

from workstation.ui.candles_item import DOWN_COLOR, UP_COLOR
from workstation.ui.fmt import format_price, format_ts
from workstation.ui.store_worker import ChartData


def candles_color(up: bool) -> str:
    return UP_COLOR if up else DOWN_COLOR


def readout_html(data: ChartData, index: int) -> str:
    c = data.candles
    o, h, lo, cl, v = (float(a[index]) for a in (c.open, c.high, c.low, c.close, c.volume))
    change = (cl / o - 1) * 100 if o else 0.0
    color = candles_color(cl >= o)
    cells = [
        f"<b>{data.key.symbol}</b> {data.interval}",
        format_ts(int(c.ts[index])),
        f"O <b>{format_price(o)}</b>",
        f"H <b>{format_price(h)}</b>",
        f"L <b>{format_price(lo)}</b>",
        f"C <b style='color:{color}'>{format_price(cl)}</b>",
        f"<span style='color:{color}'>{change:+.2f}%</span>",
        f"V {v:,.2f}",
    ]
    return "<span style='font-family: monospace'>" + "&nbsp;&nbsp;".join(cells) + "</span>"
