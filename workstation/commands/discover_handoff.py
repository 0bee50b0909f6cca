"""Hand promoted discovery candidates to the graduation queue as CANDIDATE, with their evidence.

Lives in the composition root: discovery itself uses only backtest and data (DESIGN.md), and only
graduation changes where a strategy runs. A queued candidate's strategy + params rebuild exactly
the strategy discovery evaluated (`strategies.builtin.build`), ML ones included (`ml_classifier`).
The Monte Carlo band is derived from backtest.montecarlo's bootstrap of the out-of-sample trades.
"""

from __future__ import annotations

from typing import Any

from workstation.discovery.evaluate import Candidate
from workstation.graduation.models import Evidence, Performance
from workstation.graduation.pipeline import GraduationPipeline


def evidence(c: Candidate, source: str) -> Evidence:
    o = c.oos
    walk_forward = Performance(
        trades=int(o["trades"]),
        sharpe=o["sharpe"],
        max_drawdown=abs(o["max_drawdown"]),
        win_rate=o["win_rate"],
        total_return=o["total_return"],
        mean_trade_return=sum(c.mc_band) / 2 if o["trades"] >= c.mc_window else None,
    )
    return Evidence(
        backtest=Performance.from_backtest_metrics(c.trial.metrics),
        walk_forward=walk_forward,
        mc_band=c.mc_band,
        mc_window=c.mc_window,
        source=source,
    )


def submit(pipeline: GraduationPipeline, candidates: list[Candidate], *, source: str, by: str) -> list[dict[str, Any]]:
    """Add each candidate unless the same strategy, params, symbol and interval is already queued."""
    existing = {(x.strategy, repr(sorted(x.params.items())), x.symbol, x.interval) for x in pipeline.candidates()}
    out = []
    for c in candidates:
        t = c.trial
        key = (t.strategy, repr(sorted(t.params.items())), t.symbol, t.interval)
        if key in existing:
            out.append({"label": t.label, "symbol": t.symbol, "id": None, "note": "already queued"})
            continue
        reason = f"discovery: deflated Sharpe {c.dsr:.3f}, PBO {c.pbo:.2f}, P(profitable fold) {c.success.mean:.2f}"
        added = pipeline.add(
            strategy=t.strategy,
            params=t.params,
            symbol=t.symbol,
            interval=t.interval,
            evidence=evidence(c, source),
            by=by,
            reason=reason,
        )
        existing.add(key)
        out.append({"label": t.label, "symbol": t.symbol, "id": added.id, "note": "queued as CANDIDATE"})
    return out
