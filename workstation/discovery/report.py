"""A self-contained HTML report of a discovery run: ranked table, equity plots (inline SVG), PBO per
family, regime breakdowns. No JavaScript and no plotting library."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import numpy as np

from workstation.discovery.evaluate import Candidate, DiscoveryResult

CSS = """
body{font-family:system-ui,sans-serif;margin:24px;color:#222;max-width:1400px}
table{border-collapse:collapse;margin:8px 0 24px;font-size:13px}
th,td{border:1px solid #ccc;padding:3px 7px;text-align:right;vertical-align:top}
th{background:#f2f2f2} td.l,th.l{text-align:left} td{white-space:nowrap}
td.c{white-space:normal;min-width:16em} td.v{white-space:normal;min-width:18em}
.pass{color:#0a0;font-weight:bold} .fail{color:#a00}
.note{color:#555;font-size:13px}
"""


def _f(x: object, pct: bool = False) -> str:
    if x is None:
        return "-"
    if isinstance(x, float | np.floating):
        return f"{x:.1%}" if pct else f"{x:.3f}"
    return html.escape(str(x))


def equity_svg(curves: list[tuple[str, np.ndarray]], width: int = 900, height: int = 260) -> str:
    """Polylines of equity curves (each starting at 1), down-sampled to the plot width."""
    if not curves:
        return ""
    lo = min(float(c.min()) for _, c in curves)
    hi = max(float(c.max()) for _, c in curves)
    span = hi - lo or 1.0
    colours = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"]
    rows = (len(curves) + 2) // 3
    parts = [f'<svg width="{width}" height="{height + 8 + 14 * rows}" xmlns="http://www.w3.org/2000/svg">']
    y1 = height - (1.0 - lo) / span * height
    parts.append(f'<line x1="0" x2="{width}" y1="{y1:.1f}" y2="{y1:.1f}" stroke="#bbb" stroke-dasharray="4"/>')
    for k, (name, c) in enumerate(curves):
        idx = np.linspace(0, len(c) - 1, min(len(c), width)).astype(int)
        xs = np.linspace(0, width, len(idx))
        ys = height - (c[idx] - lo) / span * height
        pts = " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(xs, ys, strict=True))
        colour = colours[k % len(colours)]
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="1.3" points="{pts}"/>')
        x, y = 8 + (width // 3) * (k % 3), height + 15 + 14 * (k // 3)  # three legend entries a row
        parts.append(f'<text x="{x}" y="{y}" fill="{colour}" font-size="11">{html.escape(name)}</text>')
    parts.append(
        f'<text x="4" y="12" font-size="11">{hi:.2f}</text><text x="4" y="{height}" font-size="11">{lo:.2f}</text>'
    )
    parts.append("</svg>")
    return "".join(parts)


def _row(c: Candidate) -> str:
    o = c.oos
    cls = "pass" if c.passed else "fail"
    s = c.success
    return (
        f"<tr><td>{c.rank}</td><td class=l>{html.escape(c.trial.symbol)}</td><td class='l c'>{html.escape(c.trial.label).replace(',', ',<wbr>')}</td>"
        f"<td>{_f(o['sharpe'])}</td><td>{_f(o['total_return'], True)}</td><td>{_f(o['max_drawdown'], True)}</td>"
        f"<td>{o['trades']}</td><td>{_f(c.dsr)}</td><td>{_f(c.pbo)}</td>"
        f"<td>{s.mean:.2f} [{s.low:.2f}, {s.high:.2f}]</td><td>{_f(c.trial.metrics.get('total_return'), True)}</td>"
        f"<td class='l v {cls}'>{html.escape('; '.join(c.reasons)) or 'passed every gate'}</td></tr>"
    )


def ml_note(ml: dict[str, Any] | None) -> str:
    """The ML family's inputs (commands.discover.ml_settings) as a line of the report."""
    if not ml:
        return ""
    peer = ml.get("peer")
    return (
        f"<p class=note id=ml-inputs>ML classifier inputs: feature set <b>{html.escape(str(ml['features']))}</b>"
        f" (features={ml['features_level']}), peer <b>{html.escape(peer) if peer else 'none'}</b>"
        " (a market is never its own peer).</p>"
    )


def render(
    result: DiscoveryResult, *, title: str = "Strategy discovery", top: int = 30, ml: dict[str, Any] | None = None
) -> str:
    shown = result.candidates[:top]
    curves = [(f"#{c.rank} {c.trial.symbol} {c.trial.strategy}", c.equity) for c in shown[:6] if len(c.equity)]
    groups = "".join(
        f"<tr><td class=l>{html.escape(g['symbol'])}</td><td class=l>{html.escape(g['family'])}</td><td>{g['candidates']}</td>"
        f"<td>{_f(g.get('pbo'))}</td><td>{_f(g.get('prob_oos_loss'))}</td><td>{_f(g.get('degradation_slope'))}</td>"
        f"<td>{_f((g.get('walk_forward_selection') or {}).get('sharpe'))}</td>"
        f"<td>{_f((g.get('walk_forward_selection') or {}).get('total_return'), True)}</td></tr>"
        for g in result.groups
    )
    regime_rows = []
    for c in shown[:10]:
        for name, r in c.regimes.items():
            regime_rows.append(
                f"<tr><td>{c.rank}</td><td class=l>{html.escape(c.trial.symbol)}</td><td class=l>{html.escape(name)}</td>"
                f"<td>{r['bars']}</td><td>{_f(r['total_return'], True)}</td><td>{_f(r['sharpe'])}</td></tr>"
            )
    g = result.gates
    oos_bars = html.escape(", ".join(f"{sym} {n:,} bars" for sym, n in result.oos_bars.items()))
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>{html.escape(title)}</title><style>{CSS}</style></head><body>
<h1>{html.escape(title)}</h1>
<p class=note>{result.trials} variants tried in {result.elapsed_s:.1f} s; {len(result.passed)} passed every gate
(deflated Sharpe &ge; {g.min_dsr}, PBO &le; {g.max_pbo}, P(profitable fold) 5th percentile &ge; {g.min_success_p05},
&ge; {g.min_oos_trades} out-of-sample trades, positive out-of-sample return after costs).
Out of sample = the bars after the first training window ({oos_bars}); ML models only ever
predict bars they were not trained on (purged, embargoed walk-forward). The deflated Sharpe compares each candidate with
the best Sharpe {result.trials} zero-skill variants would show (per bar: {result.expected_max_sharpe:.4f}).</p>
{ml_note(ml)}
<h2>Out-of-sample equity of the top candidates</h2>{equity_svg(curves)}
<h2>Ranked candidates</h2>
<table><tr><th>#</th><th class=l>symbol</th><th class=l>candidate</th><th>OOS Sharpe</th><th>OOS return</th><th>OOS max DD</th>
<th>OOS trades</th><th>deflated Sharpe</th><th>PBO</th><th>P(profitable fold) [90%]</th><th>full-history return</th><th class=l>verdict</th></tr>
{"".join(_row(c) for c in shown)}</table>
<h2>Families: overfitting and walk-forward selection</h2>
<p class=note>PBO: how often the in-sample best variant of the family ranks at or below the median out of sample (CSCV).
Walk-forward selection: each fold, trade the variant with the best Sharpe so far.</p>
<table><tr><th>symbol</th><th>family</th><th>variants</th><th>PBO</th><th>P(OOS loss)</th><th>degradation</th>
<th>WF-selection Sharpe</th><th>WF-selection return</th></tr>{groups}</table>
<h2>Results by regime (top 10)</h2>
<table><tr><th>#</th><th>symbol</th><th>regime</th><th>bars</th><th>return</th><th>Sharpe</th></tr>{"".join(regime_rows)}</table>
</body></html>"""


def write(result: DiscoveryResult, path: Path, **kwargs: object) -> Path:
    path.write_text(render(result, **kwargs), encoding="utf-8")  # type: ignore[arg-type]
    return path
