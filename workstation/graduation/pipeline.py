"""The graduation pipeline: the only code that moves a strategy between environments.

    CANDIDATE --auto--> PAPER --auto--> TESTNET --human approval--> LIVE       (any) --> RETIRED

`evaluate` judges a candidate against the criteria of the stage it is in (config `graduation.<stage>`):
CANDIDATE on its backtest and walk-forward evidence, the other stages on their measured performance.
A hard-limit breach demotes one stage, with the reason. CANDIDATE -> PAPER and PAPER -> TESTNET
promote when every criterion is met; TESTNET only becomes *eligible* for LIVE. `approve` moves it
to LIVE and is refused while debug mode is on, while doctor fails, without mainnet confirmation,
or when the latest TESTNET evaluation did not meet the criteria. Every transition and every
evaluation is appended to the history with the numbers behind it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from workstation.bus import EventBus
from workstation.core.clock import Clock
from workstation.core.enums import Venue
from workstation.core.errors import WorkstationError
from workstation.core.events import GraduationRefused, GraduationTransition, StrategyDemotionRequested
from workstation.graduation.criteria import breaches, shortfalls
from workstation.graduation.models import Candidate, Evaluation, Evidence, Performance, Stage, Transition
from workstation.graduation.store import GraduationError, GraduationStore
from workstation.settings.models import GraduationSettings, StageCriteria

log = logging.getLogger(__name__)
DAY_MS = 86_400_000
SYSTEM = "graduation"


class ApprovalRefused(GraduationError):
    def __init__(self, candidate_id: int, reasons: list[str]) -> None:
        self.candidate_id = candidate_id
        self.reasons = reasons
        super().__init__(f"LIVE approval of candidate {candidate_id} refused: " + "; ".join(reasons))


@dataclass(frozen=True, slots=True)
class DoctorVerdict:
    """The preflight result the composition root ran for mainnet (workstation doctor)."""

    ok: bool
    failures: tuple[str, ...] = ()


class GraduationPipeline:
    def __init__(self, store: GraduationStore, settings: GraduationSettings, *, bus: EventBus, clock: Clock) -> None:
        self.store = store
        self.settings = settings
        self.bus = bus
        self.clock = clock

    def listen(self) -> None:
        """Demote on the performance monitor's requests."""
        self.bus.subscribe(StrategyDemotionRequested, self.on_demotion_requested)

    # --- queries ---------------------------------------------------------------------------------
    def get(self, candidate_id: int) -> Candidate:
        return self.store.candidate(candidate_id)

    def candidates(self, stage: Stage | None = None) -> list[Candidate]:
        return [c for c in self.store.candidates() if stage in (None, c.stage)]

    def history(self, candidate_id: int) -> list[Transition]:
        return self.store.history(candidate_id)

    def evaluations(self, candidate_id: int) -> list[Evaluation]:
        return self.store.evaluations(candidate_id)

    def venue_for(self, candidate_id: int) -> Venue | None:
        """Where this candidate's strategy may run now (None: nowhere)."""
        return self.get(candidate_id).venue

    def criteria(self, stage: Stage) -> StageCriteria | None:
        return getattr(self.settings, stage.value.lower(), None)

    # --- changes ---------------------------------------------------------------------------------
    def add(
        self,
        *,
        strategy: str,
        params: dict[str, Any],
        symbol: str,
        interval: str,
        evidence: Evidence,
        by: str,
        reason: str = "added to the queue",
    ) -> Candidate:
        low, high = evidence.mc_band
        if not low <= high or evidence.mc_window < 1:
            raise GraduationError(f"invalid Monte Carlo band {evidence.mc_band} over {evidence.mc_window} trades")
        cid = self.store.insert_candidate(
            strategy=strategy,
            params=params,
            symbol=symbol,
            interval=interval,
            evidence=evidence,
            ts=self.clock.now_ms(),
            by=by,
            reason=reason,
        )
        candidate = self.get(cid)
        self._announce(candidate, None, Stage.CANDIDATE, reason, by)
        return candidate

    def evaluate(self, candidate_id: int, performance: Performance | None = None) -> Evaluation:
        """Judge the candidate in its stage; promote or demote automatically where the rules allow.
        `performance` is what the current stage measured (not needed in CANDIDATE)."""
        cand = self.get(candidate_id)
        criteria = self.criteria(cand.stage)
        if cand.stage is Stage.RETIRED or criteria is None:
            raise GraduationError(f"candidate {candidate_id} is {cand.stage.value}: nothing to evaluate")
        now = self.clock.now_ms()
        days = (now - cand.stage_since_ms) / DAY_MS
        ev = cand.evidence
        band, window = ev.mc_band, ev.mc_window
        found_breaches: list[str] = []
        if cand.stage is Stage.CANDIDATE:
            perf = ev.backtest
            missing = shortfalls(criteria, perf, days=days, band=band, window=window, label="backtest")
            if ev.walk_forward is not None:
                missing += shortfalls(
                    criteria, ev.walk_forward, days=days, band=band, window=window, label="walk-forward"
                )
        else:
            if performance is None:
                raise GraduationError(
                    f"candidate {candidate_id} is {cand.stage.value}: its measured performance is needed"
                )
            perf = performance
            found_breaches = breaches(criteria, perf, band=band, window=window)
            missing = shortfalls(criteria, perf, days=days, band=band, window=window)
        result = Evaluation(
            candidate_id=candidate_id,
            ts=now,
            stage=cand.stage,
            met=not missing and not found_breaches,
            shortfalls=tuple(missing),
            breaches=tuple(found_breaches),
            performance=perf,
            days_in_stage=days,
        )
        self.store.insert_evaluation(result)
        metrics = {"performance": perf.to_json(), "days_in_stage": round(days, 3), "mc_band": list(band)}
        if found_breaches:
            self.demote(candidate_id, "breach: " + "; ".join(found_breaches), by=SYSTEM, metrics=metrics)
        elif result.met and cand.stage in (Stage.CANDIDATE, Stage.PAPER):
            target = cand.stage.next
            assert target is not None
            self._move(cand, target, f"criteria of {cand.stage.value} met", SYSTEM, metrics)
        return result

    def approve(
        self,
        candidate_id: int,
        *,
        by: str,
        debug_mode: bool,
        doctor: DoctorVerdict,
        mainnet_confirmed: bool,
    ) -> Candidate:
        """TESTNET -> LIVE, a human decision. Refused (with every reason) unless everything holds."""
        cand = self.get(candidate_id)
        reasons = []
        if cand.stage is not Stage.TESTNET:
            reasons.append(f"it is {cand.stage.value}; only a TESTNET candidate can be approved for LIVE")
        if debug_mode:
            reasons.append("debug mode is on (config/debug.yaml): nothing goes LIVE while it is")
        if not doctor.ok:
            reasons.append("doctor fails: " + ("; ".join(doctor.failures) or "see `workstation doctor`"))
        if not mainnet_confirmed:
            reasons.append("LIVE trades real money on mainnet: confirm it with --confirm-mainnet")
        latest = next((e for e in reversed(self.evaluations(candidate_id)) if e.stage is Stage.TESTNET), None)
        if cand.stage is Stage.TESTNET and (latest is None or not latest.met):
            why = "never evaluated" if latest is None else "; ".join(latest.shortfalls + latest.breaches)
            reasons.append(f"the TESTNET criteria are not met ({why})")
        if reasons:
            refusal = ApprovalRefused(candidate_id, reasons)
            log.warning("%s", refusal)
            self.bus.publish(GraduationRefused(candidate_id=candidate_id, action="approve", reason="; ".join(reasons)))
            raise refusal
        assert latest is not None
        metrics = {
            "performance": latest.performance.to_json(),
            "days_in_stage": round(latest.days_in_stage, 3),
            "evaluated_ms": latest.ts,
            "doctor": "passed",
            "mainnet_confirmed": True,
        }
        return self._move(cand, Stage.LIVE, f"approved by {by}", by, metrics)

    def demote(self, candidate_id: int, reason: str, *, by: str, metrics: dict[str, Any] | None = None) -> Candidate:
        cand = self.get(candidate_id)
        target = cand.stage.below
        if target is None:
            raise GraduationError(f"candidate {candidate_id} is {cand.stage.value}: there is no stage below")
        return self._move(cand, target, reason, by, metrics or {})

    def retire(self, candidate_id: int, reason: str, *, by: str) -> Candidate:
        if not reason.strip():
            raise GraduationError("retiring needs a reason")
        cand = self.get(candidate_id)
        if cand.stage is Stage.RETIRED:
            raise GraduationError(f"candidate {candidate_id} is already RETIRED")
        return self._move(cand, Stage.RETIRED, reason, by, {})

    def on_demotion_requested(self, event: StrategyDemotionRequested) -> None:
        for cand in self.candidates():
            if cand.strategy_id == event.strategy_id and cand.stage.below is not None:
                metrics = {"rolling_mean_return": event.rolling_mean_return, "band_low": event.band_low}
                try:
                    self.demote(cand.id, f"performance monitor: {event.reason}", by="monitor", metrics=metrics)
                except WorkstationError as exc:
                    log.error("demotion of %s failed: %s", cand.strategy_id, exc)

    def _move(self, cand: Candidate, to: Stage, reason: str, by: str, metrics: dict[str, Any]) -> Candidate:
        self.store.insert_transition(cand.id, self.clock.now_ms(), cand.stage, to, reason, by, metrics)
        log.warning("graduation: candidate %d %s %s -> %s: %s", cand.id, cand.strategy_id, cand.stage, to, reason)
        self._announce(cand, cand.stage, to, reason, by)
        return self.get(cand.id)

    def _announce(self, cand: Candidate, frm: Stage | None, to: Stage, reason: str, by: str) -> None:
        self.bus.publish(
            GraduationTransition(
                candidate_id=cand.id,
                strategy_id=cand.strategy_id,
                from_stage="" if frm is None else frm.value,
                to_stage=to.value,
                reason=reason,
                by=by,
            )
        )
