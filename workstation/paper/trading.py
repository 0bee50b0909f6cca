"""`workstation trade --env paper`: a strategy on stored candles through the whole order path.

Strategy -> StrategyRunner -> EngineKernel (OMS, SQLite ledger) -> SafetyGate -> the home's durable
paper venue. A restart restores the venue from its journal, reconciles the ledger against it and
resumes the replay after the last candle the venue finished, so a kill -9 at any moment loses or
duplicates nothing. `workstation control ...` reaches a running trader through the control file
(<home>/state/control.json), checked at every candle.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

from workstation.core.clock import SystemClock
from workstation.core.events import OrderDenied, OrderFilled, RiskDenied
from workstation.data.store import CandleStore
from workstation.engine.kernel import EngineKernel
from workstation.engine.reconcile import ReconcileReport
from workstation.graduation.watch import CandidateWatch
from workstation.paper.guard import GatedTradingStop
from workstation.paper.replay import ReplayData, replay
from workstation.paper.risk_path import RiskPath, build_risk_path
from workstation.paper.runner import StrategyRunner
from workstation.paper.session import ReplaySpec, candle_store_path, load_series
from workstation.paper.store import control_path, open_paper, read_control
from workstation.runtime import Runtime
from workstation.safety.gate import GuardedExecutionClient
from workstation.safety.switches import write_json_atomically
from workstation.strategies.base import Strategy
from workstation.wiring import build_engine

log = logging.getLogger(__name__)
Echo = Callable[[str], None]


def ack_path(runtime: Runtime) -> Any:
    return runtime.state_dir / "control-ack.json"


@dataclass
class TradeSummary:
    restored: bool
    reconcile: ReconcileReport | None
    bars: int = 0
    orders_sent: int = 0
    refusals: int = 0
    fills: int = 0
    denials: int = 0
    risk_decisions: int = 0
    risk_denials: int = 0
    demotions: int = 0
    position: float = 0.0
    cash: float = 0.0
    equity: float = 0.0
    actions: list[str] = field(default_factory=list)


class ControlWatcher:
    """Reads the control file when it changes: pause/resume, and one-shot actions by sequence number."""

    def __init__(self, runtime: Runtime, kernel: EngineKernel, echo: Echo) -> None:
        self.runtime = runtime
        self.kernel = kernel
        self.echo = echo
        self._path = control_path(runtime.home)
        self._mtime = -1
        self._data = read_control(runtime.home)
        self._done = int(self._data.get("seq", 0))  # requests made before this start are not re-run
        self.actions: list[str] = []

    def paused(self) -> bool:
        return bool(self._data.get("paused", False))

    async def poll(self) -> None:
        try:
            mtime = os.stat(self._path).st_mtime_ns
        except OSError:
            return
        if mtime == self._mtime:
            return
        self._mtime = mtime
        was = self.paused()
        self._data = read_control(self.runtime.home)
        if self.paused() != was:
            self.echo(f"CONTROL {'paused: no new orders' if self.paused() else 'resumed'}")
        seq = int(self._data.get("seq", 0))
        if seq > self._done:
            self._done = seq
            ok = True
            try:
                detail = await run_action(self.runtime, self.kernel, self._data)
            except Exception as exc:  # answered, so `workstation control` says why instead of timing out
                ok, detail = False, f"failed: {exc}"
                log.error("control action %s failed: %s", self._data.get("action"), exc)
            self.actions.append(detail)
            self.echo(f"CONTROL {self._data.get('action')}: {detail}")
            write_json_atomically(ack_path(self.runtime), {"seq": seq, "detail": detail, "ok": ok})


async def run_action(runtime: Runtime, kernel: EngineKernel, request: dict[str, Any]) -> str:
    """One control action on a started kernel; a human-readable outcome."""
    action = str(request.get("action"))
    by, reason = str(request.get("by", "cli")), str(request.get("reason", "control"))
    if action == "emergency-stop":
        report = await kernel.emergency_stop(runtime.kill_switch, reason, by=by, flatten=bool(request.get("flatten")))
        parts = [f"kill switch engaged; {len(report.cancelled)} order(s) cancelled"]
        if request.get("flatten"):
            parts.append(f"{len(report.closed_positions)} position(s) closed")
        parts += [f"still open: {c}" for c in report.still_open] + list(report.problems)
        return "; ".join(parts)
    if action == "cancel-all":
        acks = []
        for category in kernel.categories:
            acks += await kernel.client.cancel_all_orders(category)
        await kernel.sync()
        return f"{len(acks)} order(s) cancelled"
    if action == "close-all":
        closed = 0
        for category in kernel.categories:
            for position in kernel.portfolio.positions(kernel.venue):
                if position.size != 0:
                    closed += await kernel.client.close_position(position.symbol, category) is not None
        await kernel.sync()
        return f"{closed} position(s) closing"
    return f"unknown action {action!r}"


async def trade_paper(
    runtime: Runtime,
    spec: ReplaySpec,
    strategy: Strategy,
    *,
    start: int | None,
    end: int | None,
    speed: float,
    echo: Echo,
    risk: bool = True,
    candidate_id: int | None = None,
) -> TradeSummary:
    """`risk` (the default): every change of target is sized or denied by a RiskEngine built from
    the settings and the paper account's persisted trading state (<home>/state/paper/risk.json), and the graduation
    pipeline records the performance monitor's demotion requests. False: sized by the cost model's
    sizer, exactly as a backtest (for comparisons). `candidate_id`: the PAPER candidate traded as
    when several match (graduation.tagging.trading_candidate)."""

    def load() -> tuple[str, ReplayData]:
        with CandleStore.open(candle_store_path(runtime.home)) as store:
            return load_series(store, spec, start, end)

    source, data = await asyncio.to_thread(load)
    watch: CandidateWatch | None = None
    paper, lock, restored = open_paper(runtime.home, cash=runtime.settings.trading.paper_balance)
    try:
        engine = build_engine(runtime, paper=paper, poll_interval_s=None)
        assert engine is not None
        kernel = engine.kernel
        counts = {"denied": 0, "fills": 0}

        def on_denied(e: OrderDenied) -> None:
            counts["denied"] += 1
            echo(f"DENIED {e.action} {e.symbol or ''} {e.client_order_id or ''}: {e.reason}")

        def on_fill(e: OrderFilled) -> None:
            counts["fills"] += 1
            echo(f"FILL {e.symbol} {e.side.value} {e.qty} @ {e.price} ({e.client_order_id or 'protective exit'})")

        def on_risk_denied(e: RiskDenied) -> None:
            echo(
                f"RISK DENIED {e.side.value} {e.symbol} [{e.state.value}]: {e.reason}; equity {e.equity}, "
                f"stop distance {e.stop_distance}, requested {e.requested_qty}"
            )

        runtime.bus.subscribe(OrderDenied, on_denied)
        runtime.bus.subscribe(OrderFilled, on_fill)
        path: RiskPath | None = None
        if risk:
            path = build_risk_path(
                runtime, spec.symbol, spec.interval, strategy.label(), paper.account.cost, candidate_id=candidate_id
            )
            watch = watch_candidate(runtime, path, echo)
            runtime.bus.subscribe(RiskDenied, on_risk_denied)
            state = path.engine.store.view()
            echo(f"RISK {state.state.value}{': ' + state.reason if state.reason else ''}")
        report = await kernel.start()
        summary = TradeSummary(restored, report)
        if restored:
            echo(f"RESTORED paper account from {paper.journal.path if paper.journal else '?'}; reconcile: {report}")
        built = f", built from its {data.resampled_from} candles" if data.resampled_from else ""
        echo(
            f"READY {spec.symbol} {spec.interval} {strategy.label()}: {len(data.candles)} candles from {source}{built}"
        )
        watcher = ControlWatcher(runtime, kernel, echo)
        runner = StrategyRunner(
            kernel,
            strategy,
            spec.symbol,
            paper.account.cost,
            window=max(1000, 10 * strategy.warmup),
            trading_stop=GatedTradingStop(runtime.gate, cast(GuardedExecutionClient, kernel.client), paper),
            risk=path,
        )

        def paused() -> bool:
            return watcher.paused()

        poller = asyncio.create_task(poll_control(watcher), name="control-poll")
        try:
            summary.bars = await replay(
                paper, spec.symbol, data, runner, bars_per_second=speed, resume=True, paused=paused
            )
            paper.checkpoint()
            await watcher.poll()
            await kernel.reconcile()  # pulls the last fills and snapshots the balance in the ledger
        finally:
            poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await poller
        await asyncio.sleep(0)
        book = paper.account.books.get(spec.symbol)
        summary.orders_sent, summary.refusals = runner.orders_sent, runner.refusals
        summary.fills, summary.denials, summary.actions = counts["fills"], counts["denied"], watcher.actions
        summary.demotions = 0 if watch is None else watch.demotion_requests
        if path is not None:
            summary.risk_decisions, summary.risk_denials = path.decisions, path.denials
        summary.position = book.qty if book is not None else 0.0
        summary.cash, summary.equity = paper.account.cash, paper.account.equity()
        await kernel.stop()
        return summary
    finally:
        if watch is not None:
            watch.close()
        lock.release()


def watch_candidate(runtime: Runtime, path: RiskPath, echo: Echo) -> CandidateWatch:
    """The graduation candidate this risk path trades as (`path.candidate_id`: the venue's stage, this
    symbol, interval and strategy), held to its Monte Carlo band: the monitor cuts the allocation,
    then asks for a demotion, which the pipeline records. Shared by the paper and the live trader;
    close it when the trader stops."""
    return CandidateWatch(
        runtime.home,
        runtime.settings.graduation,
        runtime.bus,
        SystemClock(),
        path.monitor,
        path.candidate_id,
        echo,
    )


async def poll_control(watcher: ControlWatcher, every_s: float = 0.2) -> None:
    """Poll the control file until cancelled (a trader's background task)."""
    while True:
        await asyncio.sleep(every_s)
        try:
            await watcher.poll()
        except Exception as exc:  # a control failure must not kill the trader
            log.error("control action failed: %s", exc)
            watcher.echo(f"CONTROL failed: {exc}")
