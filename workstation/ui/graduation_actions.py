"""Graduation queue changes the desktop makes on its own store (blocking SQLite: run in a thread):
add a CANDIDATE from the backtest lab with its evidence, demote, retire. The pipeline decides and
refuses (GraduationError, with its reason) exactly as `workstation graduation ...` does."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from workstation.api.graduation_view import _open
from workstation.graduation.models import Candidate, Evidence
from workstation.graduation.pipeline import GraduationPipeline
from workstation.runtime import Runtime

T = TypeVar("T")


def _with_pipeline(runtime: Runtime, work: Callable[[GraduationPipeline], T]) -> T:
    store, pipeline = _open(runtime)
    try:
        return work(pipeline)
    finally:
        store.close()


def _same(c: Candidate, spec: dict[str, Any]) -> bool:
    return (c.strategy, c.params, c.symbol, c.interval) == (
        spec["strategy"],
        dict(spec["params"]),
        spec["symbol"],
        spec["interval"],
    )


def add_candidate(runtime: Runtime, spec: dict[str, Any], by: str) -> dict[str, Any]:
    """spec: strategy, params, symbol, interval, evidence (Evidence.to_json()). A strategy already
    queued with the same params, symbol and interval (and not retired) is not added twice."""

    def work(pipeline: GraduationPipeline) -> dict[str, Any]:
        for c in pipeline.candidates():
            if _same(c, spec) and c.stage.value != "RETIRED":
                return {"action": "add", "ok": False, "detail": f"already queued as #{c.id} ({c.stage.value})"}
        cand = pipeline.add(
            strategy=spec["strategy"],
            params=dict(spec["params"]),
            symbol=spec["symbol"],
            interval=spec["interval"],
            evidence=Evidence.from_json(spec["evidence"]),
            by=by,
            reason="sent from the backtest lab",
        )
        return {"action": "add", "ok": True, "detail": f"queued as candidate #{cand.id} {cand.strategy_id}"}

    return _with_pipeline(runtime, work)


def demote(runtime: Runtime, candidate_id: int, reason: str, by: str) -> dict[str, Any]:
    if not reason.strip():
        from workstation.graduation.store import GraduationError

        raise GraduationError("demoting needs a reason")
    cand = _with_pipeline(runtime, lambda p: p.demote(candidate_id, reason, by=by))
    return {"action": "demote", "ok": True, "detail": f"candidate {cand.id} demoted to {cand.stage.value}"}


def retire(runtime: Runtime, candidate_id: int, reason: str, by: str) -> dict[str, Any]:
    cand = _with_pipeline(runtime, lambda p: p.retire(candidate_id, reason, by=by))
    return {"action": "retire", "ok": True, "detail": f"candidate {cand.id} retired"}
