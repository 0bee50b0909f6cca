"""A self-contained HTML report: metrics, equity and drawdown, trades on the price, walk-forward
windows and the Monte Carlo fan. Charts are inline SVG (see svg.py); nothing is fetched."""

from __future__ import annotations

import datetime as dt
import html
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from workstation import __version__
from workstation.backtest import metrics as M
from workstation.backtest import simulator as S
from workstation.backtest import svg
from workstation.backtest.montecarlo import MonteCarlo
from workstation.backtest.simulator import SimResult
from workstation.backtest.walkforward import WalkForward
from workstation.data.arrays import CandleArrays

BLUE, GREY, RED, GREEN, ORANGE = "#1f5fa8", "#8c8c8c", "#c0392b", "#1e8449", "#d35400"
PCT = {"total_return", "cagr", "max_drawdown", "win_rate", "exposure", "volatility", "average_trade_return", "alpha"}
ROWS = (
    "final_equity", "total_return", "cagr", "sharpe", "sortino", "calmar", "max_drawdown",
    "max_drawdown_duration_days", "volatility", "win_rate", "profit_factor", "expectancy", "average_trade_return",
    "exposure", "trade_count", "fees_paid", "funding_paid", "alpha", "beta",
)  # fmt: skip
CSS = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:24px auto;max-width:960px;color:#222}
h1{font-size:22px;margin-bottom:4px} h2{font-size:17px;margin-top:32px;border-bottom:1px solid #ddd}
.sub{color:#666;font-size:13px} table{border-collapse:collapse;font-size:13px;margin:8px 0}
td,th{padding:3px 10px;border-bottom:1px solid #eee;text-align:right} th{background:#f6f6f6}
td:first-child,th:first-child{text-align:left} .neg{color:#c0392b} .pos{color:#1e8449}
.note{color:#666;font-size:12px;max-width:900px} svg{display:block;margin:6px 0}
"""


def fmt(value: Any, key: str = "") -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        if not math.isfinite(value):
            return "-"
        return f"{value:.2%}" if key in PCT else f"{value:,.4g}" if abs(value) < 1e5 else f"{value:,.0f}"
    return html.escape(str(value))


def _cls(value: Any) -> str:
    return ' class="neg"' if isinstance(value, int | float) and value < 0 else ""


def table(header: Sequence[str], rows: Sequence[Sequence[Any]], keys: Sequence[str] | None = None) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = []
    for row in rows:
        cells = []
        for j, v in enumerate(row):
            key = keys[j] if keys else ""
            cells.append(f"<td{_cls(v)}>{v if isinstance(v, str) and j == 0 else fmt(v, key)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def _pct(v: float) -> str:
    return f"{v:.0%}" if abs(v) >= 0.1 else f"{v:.1%}"


def _curves(result: SimResult, bench: SimResult | None, title: str) -> str:
    lines = []
    if bench is not None:
        lines.append(svg.Line(bench.ts, bench.equity, GREY, "buy & hold", 1.0))
    lines.append(svg.Line(result.ts, result.equity, BLUE, "strategy"))
    chart = svg.Chart(f"{title}: equity (log scale)", lines, log_y=bool((result.equity > 0).all()))
    chart.y_format = lambda v: f"{v:,.0f}"
    eq = svg.render(chart)
    dd_lines = []
    if bench is not None:
        dd_lines.append(svg.Line(bench.ts, M.drawdown(bench.equity), GREY, "buy & hold", 1.0))
    dd_lines.append(svg.Line(result.ts, M.drawdown(result.equity), RED, "strategy", fill_to=0.0))
    dd = svg.render(svg.Chart("Drawdown", dd_lines, y_format=_pct, height=190))
    return eq + dd


def _price(candles: CandleArrays, result: SimResult, max_marks: int = 120) -> str:
    tr = result.trades
    chart = svg.Chart(
        "Price with trades (triangles: long entry up, short entry down, exit orange)",
        [svg.Line(candles.ts, candles.close, "#555", "close", 1.0)],
        y_format=lambda v: f"{v:,.6g}",
    )
    if len(tr):
        keep = tr if len(tr) <= max_marks else tr[np.linspace(0, len(tr) - 1, max_marks).astype(int)]
        ei = keep[:, S.T_ENTRY_I].astype(int)
        long = keep[:, S.T_SIDE] > 0
        chart.markers.append(svg.Markers(candles.ts[ei[long]], keep[long, S.T_ENTRY_PX], GREEN, "up", "long entry"))
        chart.markers.append(svg.Markers(candles.ts[ei[~long]], keep[~long, S.T_ENTRY_PX], RED, "down", "short entry"))
        xi = keep[:, S.T_EXIT_I].astype(int)
        ok = xi >= 0
        chart.markers.append(svg.Markers(candles.ts[xi[ok]], keep[ok, S.T_EXIT_PX], ORANGE, "down", "exit"))
        if len(tr) > max_marks:
            chart.title += f" — {max_marks} of {len(tr):,} trades marked"
    return svg.render(chart)


def _trades(result: SimResult, limit: int = 100) -> str:
    rows = M.trade_list(result)
    if not rows:
        return "<p>No trades.</p>"
    shown = rows if len(rows) <= 2 * limit else rows[:limit] + rows[-limit:]
    keys = (
        "entry_time",
        "exit_time",
        "side",
        "qty",
        "entry_price",
        "exit_price",
        "pnl",
        "fees",
        "funding",
        "exit_reason",
    )
    body = table(keys, [[r[k] for k in keys] for r in shown], keys)
    note = "" if len(rows) <= 2 * limit else f"<p class='note'>First and last {limit} of {len(rows):,} trades.</p>"
    return note + body


def _walkforward(wf: WalkForward) -> str:
    res = wf.result
    shades = []
    for k, w in enumerate(wf.windows):
        shades.append((w.test_start_ts, w.test_end_ts, "#eef3fa" if k % 2 else "#f9fbfd"))
    chart = svg.Chart(
        "Stitched out-of-sample equity (shaded: test windows)",
        [svg.Line(res.ts, res.equity, BLUE, "out of sample")],
        shades=shades,
    )
    names = sorted({k for w in wf.windows for k in (w.params or {})})
    header = [
        "#",
        "train",
        "test",
        *names,
        f"IS {wf.objective}",
        "IS return",
        "OOS return",
        "OOS sharpe",
        "OOS max DD",
        "OOS trades",
    ]
    rows = []
    for w in wf.windows:
        d = w.to_dict()
        ins, oos = w.in_sample or {}, w.out_of_sample or {}
        rows.append([
            str(w.window.index), f"{d['train_start'][:10]} → {d['train_end'][:10]}", f"{d['test_start'][:10]} → {d['test_end'][:10]}",
            *((w.params or {}).get(n, "-") for n in names), w.objective_value, ins.get("total_return"),
            oos.get("total_return"), oos.get("sharpe"), oos.get("max_drawdown"), oos.get("trade_count"),
        ])  # fmt: skip
    keys = ["", "", "", *names, "", "total_return", "total_return", "sharpe", "max_drawdown", ""]
    mode = "anchored" if wf.anchored else "rolling"
    intro = (
        f"<p class='note'>{len(wf.windows)} {mode} windows; each train window picks the parameters with the best "
        f"in-sample {html.escape(wf.objective)}, the next test window trades them out of sample. Training never "
        "sees a test bar.</p>"
    )
    return intro + svg.render(chart) + table(header, rows, keys)


def _montecarlo(mc: MonteCarlo) -> str:
    b = mc.band
    x = np.linspace(0, b.steps, mc.fan.shape[1])
    bands = [
        svg.Band(x, mc.fan[5], mc.fan[95], BLUE, 0.15, "5-95%"),
        svg.Band(x, mc.fan[25], mc.fan[75], BLUE, 0.3, "25-75%"),
    ]
    lines = [svg.Line(x, mc.fan[50], BLUE, "median", 1.2), svg.Line(x, mc.original_path, ORANGE, "original", 1.6)]
    unit = "days" if b.method == "block" else "trades"
    fan = svg.render(
        svg.Chart(
            f"Monte Carlo fan: equity multiple over {b.steps:,} {unit}",
            lines,
            bands,
            x_is_time=False,
            log_y=bool((mc.fan[0] > 0).all()),
        )
    )
    stats = (
        ("final_return", b.final_return, _pct),
        ("max_drawdown", b.max_drawdown, _pct),
        ("sharpe", b.sharpe, lambda v: f"{v:.2f}"),
    )
    hists = "".join(
        svg.histogram(f"{name} over {b.iterations:,} paths", mc.samples[:, k], [(band.original, ORANGE, "original")], f)
        for k, (name, band, f) in enumerate(stats)
    )
    rows = [[name, band.at(5), band.at(25), band.at(50), band.at(75), band.at(95), band.original, f"{band.rank(band.original):.0f}"]
            for name, band, _ in stats]  # fmt: skip
    intro = (
        f"<p class='note'>Method <b>{b.method}</b>, {b.iterations:,} paths, seed {b.seed}. Probability of ruin "
        f"(equity touching {b.ruin_level:.0%} of the start): <b>{b.ruin_probability:.2%}</b>.</p>"
    )
    return intro + _mc_table(rows) + fan + hists


def _mc_table(rows: list[list[Any]]) -> str:
    out = []
    for name, *vals, rank in rows:
        f = (lambda v: f"{v:.2f}") if name == "sharpe" else _pct
        out.append([name, *(f(v) if math.isfinite(v) else "-" for v in vals), rank])
    header = ["statistic", "p5", "p25", "p50", "p75", "p95", "original", "original's percentile"]
    head = "".join(f"<th>{h}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in r) + "</tr>" for r in out)
    return f"<table><tr>{head}</tr>{body}</table>"


def render_report(
    *,
    title: str,
    subtitle: str,
    candles: CandleArrays,
    result: SimResult,
    metrics: dict[str, Any],
    benchmark: SimResult | None = None,
    benchmark_metrics: dict[str, Any] | None = None,
    walkforward: WalkForward | None = None,
    montecarlo: MonteCarlo | None = None,
) -> str:
    bm = benchmark_metrics or {}
    rows = []
    for k in ROWS:
        if k in ("alpha", "beta"):  # the strategy's, measured against the benchmark
            rows.append((k, bm.get(k), None))
        elif k in metrics:
            rows.append((k, metrics.get(k), bm.get(k)))
    mt = (
        "<table><tr><th>metric</th><th>strategy</th><th>buy &amp; hold</th></tr>"
        + "".join(
            f"<tr><td>{k}</td><td{_cls(a)}>{fmt(a, k)}</td><td{_cls(b)}>{fmt(b, k)}</td></tr>" for k, a, b in rows
        )
        + "</table>"
    )
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title><style>{CSS}</style></head><body>",
        f"<h1>{html.escape(title)}</h1><div class='sub'>{html.escape(subtitle)}</div>",
        "<h2 id='metrics'>Metrics</h2>", mt,
        "<h2 id='equity'>Equity and drawdown</h2>", _curves(result, benchmark, "Strategy vs buy & hold"),
        "<h2 id='price'>Trades on the price</h2>", _price(candles, result),
    ]  # fmt: skip
    if walkforward is not None:
        parts += ["<h2 id='walkforward'>Walk-forward</h2>", _walkforward(walkforward)]
    if montecarlo is not None:
        parts += ["<h2 id='montecarlo'>Monte Carlo</h2>", _montecarlo(montecarlo)]
    parts += ["<h2 id='trades'>Trade list</h2>", _trades(result)]
    made = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    parts.append(
        f"<p class='note'>Open Alpha Workstation {__version__}, {made}. Past results do not predict future ones.</p>"
    )
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(path: str | Path, **kwargs: Any) -> Path:
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_report(**kwargs), encoding="utf-8")
    return out
