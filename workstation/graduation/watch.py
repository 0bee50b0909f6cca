"""A traded graduation candidate held to its backtest's Monte Carlo band, on any venue.

The trader (paper or live) builds its risk path, which already knows the candidate of the venue's
stage it trades as (`RiskPath.candidate_id`, graduation.tagging). `CandidateWatch` then gives the
performance monitor that candidate's band, records the monitor's demotion request as a demotion in
the append-only history (GraduationPipeline.listen) and reports each step to the trader's output:

    CANDIDATE g1 in TESTNET: closed trades are held to its band (...)
    ALLOCATION g1 -> 0.50: mean return over the last 2 trades ... (breach 1 of 2)
    DEMOTION requested for g1: ...
    DEMOTED candidate 1 TESTNET -> PAPER by monitor: performance monitor: ...

A restarted live trader calls `resume` with its ledger: the candidate's trades closed on the venue
since it entered its stage go through the monitor first (`RESUME ...`), so the rolling window and
the breach count carry over runs. With no candidate the graduation store is not opened (nor
created) and the monitor expects nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from workstation.bus import EventBus
from workstation.core.clock import Clock
from workstation.core.events import GraduationTransition, StrategyAllocationChanged, StrategyDemotionRequested
from workstation.engine.ledger import Ledger
from workstation.graduation.ledger_trades import ledger_trading
from workstation.graduation.models import Candidate
from workstation.graduation.pipeline import GraduationPipeline
from workstation.graduation.store import GraduationStore, store_path
from workstation.risk.monitor import StrategyMonitor
from workstation.settings.models import GraduationSettings

Echo = Callable[[str], None]


class CandidateWatch:
    def __init__(
        self,
        home: Path,
        settings: GraduationSettings,
        bus: EventBus,
        clock: Clock,
        monitor: StrategyMonitor | None,
        candidate_id: int | None,
        echo: Echo,
    ) -> None:
        self.bus = bus
        self.echo = echo
        self.candidate: Candidate | None = None
        self.allocation_changes = 0
        self.demotion_requests = 0
        self.demotions: list[str] = []  # "<from> -> <to>: <reason>", as the history records them
        self._store: GraduationStore | None = None
        self._pipeline: GraduationPipeline | None = None
        self._monitor = monitor
        self._subs: list[tuple[type, Callable[..., None]]] = [
            (StrategyAllocationChanged, self._on_allocation),
            (StrategyDemotionRequested, self._on_request),
            (GraduationTransition, self._on_transition),
        ]
        for event_type, handler in self._subs:  # before the pipeline's: a request is reported before its demotion
            bus.subscribe(event_type, handler)
        if candidate_id is not None and monitor is not None:
            self._store = GraduationStore.open(store_path(home))
            self._pipeline = GraduationPipeline(self._store, settings, bus=bus, clock=clock)
            self._pipeline.listen()
            cand = self._pipeline.get(candidate_id)
            self.candidate = cand
            monitor.expect(cand.strategy_id, *cand.evidence.mc_band)
            echo(
                f"CANDIDATE {cand.strategy_id} in {cand.stage.value}: closed trades are held to its band "
                f"{cand.evidence.mc_band}"
            )

    def resume(self, ledger: Ledger, venue: str) -> int:
        """Give the monitor the candidate's trades closed on `venue` since it entered its stage, from
        the ledger (a restarted trader's rolling window and breach count carry on where they were;
        a breach they already make is acted on now). Returns how many. Each return is the round
        trip's P&L after fees over its entry notional."""
        if self.candidate is None or self._monitor is None or self._pipeline is None:
            return 0
        cand = self.candidate
        entered = [t.ts for t in self._pipeline.history(cand.id) if t.to_stage is cand.stage]
        trading = ledger_trading(ledger, cand, venue, start_ms=entered[-1] if entered else None)
        closed = [t for t in trading.trades if t.pnl is not None and t.qty * t.entry_price > 0]
        if closed:
            self.echo(
                f"RESUME {cand.strategy_id}: {len(closed)} closed trade(s) on {venue} since it entered {cand.stage.value}"
            )
        for t in closed:
            assert t.pnl is not None
            self._monitor.record_trade(cand.strategy_id, t.pnl / (t.qty * t.entry_price))
        return len(closed)

    @property
    def strategy_id(self) -> str | None:
        return None if self.candidate is None else self.candidate.strategy_id

    def _mine(self, strategy_id: str) -> bool:
        return self.candidate is None or strategy_id == self.candidate.strategy_id

    def _on_allocation(self, e: StrategyAllocationChanged) -> None:
        if self._mine(e.strategy_id):
            self.allocation_changes += 1
            self.echo(f"ALLOCATION {e.strategy_id} -> {e.allocation:.2f}: {e.reason}")

    def _on_request(self, e: StrategyDemotionRequested) -> None:
        if self._mine(e.strategy_id):
            self.demotion_requests += 1
            self.echo(f"DEMOTION requested for {e.strategy_id}: {e.reason}")

    def _on_transition(self, e: GraduationTransition) -> None:
        if self.candidate is None or e.candidate_id != self.candidate.id or e.by != "monitor":
            return
        self.demotions.append(f"{e.from_stage} -> {e.to_stage}: {e.reason}")
        self.echo(f"DEMOTED candidate {e.candidate_id} {e.from_stage} -> {e.to_stage} by {e.by}: {e.reason}")

    def close(self) -> None:
        for event_type, handler in self._subs:
            self.bus.unsubscribe(event_type, handler)
        self._pipeline = None
        if self._store is not None:
            self._store.close()
            self._store = None

    def __enter__(self) -> CandidateWatch:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
