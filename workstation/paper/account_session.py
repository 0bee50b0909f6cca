"""A paper session for a composition root (the headless engine, the desktop's Paper panel): the
home's journalled paper account (workstation.paper.store), the engine kernel around it and the risk
manager on its order path, as `workstation trade --env paper` wires them. One trader at a time:
the session holds the account's lock until it is closed, so another trader on the same home is
refused while this one trades (and the other way round)."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from workstation.engine.kernel import EngineKernel
from workstation.engine.reconcile import ReconcileReport
from workstation.exchanges.simulated.client import PaperExecutionClient
from workstation.paper.risk_path import RiskPath, build_risk_path
from workstation.paper.session import ReplaySpec, candle_store_path, run_replay
from workstation.paper.store import PaperLock, open_paper
from workstation.runtime import Runtime

log = logging.getLogger(__name__)


@dataclass
class PaperSession:
    runtime: Runtime
    spec: ReplaySpec
    paper: PaperExecutionClient
    lock: PaperLock
    restored: bool
    kernel: EngineKernel
    risk: RiskPath | None
    reconcile: ReconcileReport | None = None

    @classmethod
    async def open(cls, runtime: Runtime, spec: ReplaySpec, *, risk: bool = True) -> PaperSession:
        """Restore (or create) the home's paper account, start a kernel on it (its ledger reconciled
        against the restored venue) and, with `risk`, a RiskEngine from the settings and the
        persisted <home>/state/risk.json. Raises PaperLockedError if another process trades it."""
        from workstation.wiring import build_kernel

        cash = runtime.settings.trading.paper_balance
        paper, lock, restored = await asyncio.to_thread(open_paper, runtime.home, cash=cash)
        try:
            kernel = build_kernel(runtime, paper=paper, poll_interval_s=None)
            assert kernel is not None  # the paper venue always has one
            path = None
            if risk:
                label = spec.build().label()  # with the spec's parameters, as the replay trades it
                path = build_risk_path(runtime, spec.symbol, spec.interval, label, paper.account.cost)
            session = cls(runtime, spec, paper, lock, restored, kernel, path)
            session.reconcile = await kernel.start()
        except BaseException:
            lock.release()
            raise
        return session

    def last_candle_ms(self) -> int | None:
        """Open time of the last candle the account saw for the series (a resumed replay goes on after it)."""
        book = self.paper.account.books.get(self.spec.symbol)
        bar = (book.bar or book.prev) if book is not None else None
        return int(bar.ts) if bar is not None else None

    async def run(self, bars_per_second: float) -> int:
        """Replay the series, resuming after the last candle the account finished; bars fed."""
        try:
            bars = await run_replay(
                self.kernel,
                self.paper,
                self.runtime.gate,
                self.spec,
                candle_store_path(self.runtime.home),
                bars_per_second=bars_per_second,
                risk=self.risk,
                resume=True,
            )
        finally:
            try:
                self.paper.checkpoint()  # the marks and the last candle too, even when stopped
            except Exception as exc:  # a broken journal already stopped the venue; say so, don't mask
                log.error("paper checkpoint failed: %s", exc)
        await self.kernel.reconcile()  # the last fills into the ledger, the balance snapshotted
        return bars

    async def close(self) -> None:
        try:
            await self.kernel.stop()
        finally:
            self.lock.release()
