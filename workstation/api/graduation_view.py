"""The graduation queue as plain JSON for the panel: candidates, stage, evidence, the criteria for
the next stage with progress on each, history; and the LIVE approval (a human decision)."""

from __future__ import annotations

from typing import Any

from workstation.core.clock import SystemClock
from workstation.graduation.models import Candidate, Performance, Stage
from workstation.graduation.pipeline import DoctorVerdict, GraduationPipeline
from workstation.graduation.store import GraduationStore, store_path
from workstation.runtime import Runtime
from workstation.settings.models import StageCriteria

DAY_MS = 86_400_000


def _progress(criteria: StageCriteria, perf: Performance, days: float) -> list[dict[str, Any]]:
    """One row per criterion: its bound, the value now and a 0..1 fraction of the way there."""
    rows: list[dict[str, Any]] = []

    def add(name: str, value: float | None, bound: float, *, lower_is_better: bool = False) -> None:
        if value is None:
            fraction = 0.0
        elif lower_is_better:
            fraction = 1.0 if value <= bound else max(0.0, bound / value) if value > 0 else 1.0
        else:
            fraction = 1.0 if bound <= 0 else max(0.0, min(1.0, value / bound))
        rows.append({"name": name, "value": value, "bound": bound, "fraction": fraction, "met": fraction >= 1.0})

    if criteria.min_days:
        add("days in stage", days, criteria.min_days)
    if criteria.min_trades:
        add("trades", perf.trades, criteria.min_trades)
    if criteria.min_sharpe is not None:
        add("Sharpe", perf.sharpe, criteria.min_sharpe)
    if criteria.max_drawdown is not None:
        add("max drawdown (limit)", perf.max_drawdown, criteria.max_drawdown, lower_is_better=True)
    if criteria.min_profit_factor is not None:
        add("profit factor", perf.profit_factor, criteria.min_profit_factor)
    if criteria.min_win_rate is not None:
        add("win rate", perf.win_rate, criteria.min_win_rate)
    return rows


def _candidate(pipeline: GraduationPipeline, cand: Candidate, now_ms: int) -> dict[str, Any]:
    evaluations = pipeline.evaluations(cand.id)
    latest = evaluations[-1] if evaluations else None
    days = (now_ms - cand.stage_since_ms) / DAY_MS
    perf = cand.evidence.backtest if cand.stage is Stage.CANDIDATE or latest is None else latest.performance
    criteria = pipeline.criteria(cand.stage)
    return {
        "id": cand.id,
        "strategy_id": cand.strategy_id,
        "strategy": cand.strategy,
        "params": cand.params,
        "symbol": cand.symbol,
        "interval": cand.interval,
        "stage": cand.stage.value,
        "next_stage": None if cand.stage.next is None else cand.stage.next.value,
        "stage_since_ms": cand.stage_since_ms,
        "evidence": cand.evidence.to_json(),
        "criteria": [] if criteria is None else _progress(criteria, perf, days),
        "latest_evaluation": None
        if latest is None
        else {
            "ts": latest.ts,
            "stage": latest.stage.value,
            "met": latest.met,
            "shortfalls": list(latest.shortfalls),
            "breaches": list(latest.breaches),
        },
        "history": [
            {
                "ts": t.ts,
                "from": None if t.from_stage is None else t.from_stage.value,
                "to": t.to_stage.value,
                "by": t.by,
                "reason": t.reason,
            }
            for t in pipeline.history(cand.id)
        ],
    }


def _open(runtime: Runtime) -> tuple[GraduationStore, GraduationPipeline]:
    store = GraduationStore.open(store_path(runtime.home))
    return store, GraduationPipeline(store, runtime.settings.graduation, bus=runtime.bus, clock=SystemClock())


def graduation_snapshot(runtime: Runtime) -> dict[str, Any]:
    """Blocking (SQLite): run it in a thread."""
    store, pipeline = _open(runtime)
    try:
        now = SystemClock().now_ms()
        return {"available": True, "candidates": [_candidate(pipeline, c, now) for c in pipeline.candidates()]}
    finally:
        store.close()


def approve_live(runtime: Runtime, candidate_id: int, by: str) -> dict[str, Any]:
    """TESTNET -> LIVE after the user confirmed real money in the dialog. The pipeline refuses
    (ApprovalRefused, with every reason) in debug mode; doctor is not even run then."""
    debug = runtime.debug_switch.enabled
    if debug:
        doctor = DoctorVerdict(False, ("not run while debug mode is on",))
    else:
        from workstation.commands.graduation import mainnet_doctor

        doctor = mainnet_doctor(runtime, confirm_mainnet=True)
    store, pipeline = _open(runtime)
    try:
        cand = pipeline.approve(candidate_id, by=by, debug_mode=debug, doctor=doctor, mainnet_confirmed=True)
    finally:
        store.close()
    return {"action": "approve-live", "ok": True, "detail": f"candidate {cand.id} {cand.strategy_id} is LIVE"}
