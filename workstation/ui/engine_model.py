"""Engine state as Qt signals (vnpy style): polls the EngineLink on the qasync loop and refreshes
at once when an event says something changed. Panels only connect to these signals."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from PySide6.QtCore import QObject, Signal

from workstation.ui.engine_link import JSON, EngineError, EngineLink

log = logging.getLogger(__name__)

POLL_S = 2.0
ACCOUNT_EVENTS = {"OrderFilled", "OrderStatusChanged", "OrderAccepted", "OrderSubmitted", "PositionAdopted",
                  "ReconcileCompleted", "OrderAdopted"}  # fmt: skip
RISK_EVENTS = {"TradingStateChanged", "DebugModeChanged", "RiskDenied", "OrderSizeReduced"}
GRADUATION_EVENTS = {"GraduationTransition", "GraduationRefused"}
TRADE_ENVIRONMENT = {"paper": "paper", "bybit-testnet": "testnet", "bybit-demo": "demo", "bybit-mainnet": "mainnet"}


_RUNNING: set[asyncio.Future[Any]] = set()


def spawn(
    coro: Awaitable[Any],
    on_done: Callable[[Any], None] | None = None,
    on_error: Callable[[str], None] | None = None,
) -> asyncio.Future[Any] | None:
    """Run a coroutine on the loop from a Qt slot; hand its result or error back to callbacks."""
    try:
        future = asyncio.ensure_future(coro, loop=asyncio.get_running_loop())
    except RuntimeError as exc:  # no loop (a test without qasync): say so instead of hanging
        if asyncio.iscoroutine(coro):
            coro.close()
        if on_error is not None:
            on_error(f"the engine loop is not running ({exc})")
        return None

    def finished(f: asyncio.Future[Any]) -> None:
        if f.cancelled():
            return
        error = f.exception()
        if error is None:
            if on_done is not None:
                on_done(f.result())
            return
        text = str(error) if isinstance(error, EngineError) else f"{type(error).__name__}: {error}"
        if not isinstance(error, EngineError):
            log.error("engine call failed", exc_info=error)
        if on_error is not None:
            on_error(text)

    future.add_done_callback(finished)
    _RUNNING.add(future)  # the loop keeps only weak references: a task nobody holds can vanish mid-run
    future.add_done_callback(_RUNNING.discard)
    return future


class EngineModel(QObject):
    positions = Signal(object)  # list[JSON]
    orders = Signal(object)
    trades = Signal(object)
    balances = Signal(object)
    risk = Signal(object)  # JSON
    graduation = Signal(object)
    health = Signal(object)
    failed = Signal(str)  # a read failed (engine unreachable, token refused)
    loaded = Signal()  # one round of reads delivered (the first one makes a screenshot worth taking)

    def __init__(self, link: EngineLink, parent: QObject | None = None, poll_s: float = POLL_S) -> None:
        super().__init__(parent)
        self.link = link
        self.poll_s = poll_s
        self.environment = "paper"
        self._task: asyncio.Task[None] | None = None
        self._wake: asyncio.Event | None = None
        self._dirty: set[str] = set()
        self.loads = 0
        link.event.connect(self._on_event)

    @property
    def started(self) -> bool:
        return self._task is not None

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        self._wake = asyncio.Event()
        self._task = loop.create_task(self._run(), name="engine-model")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        await self.link.stop()

    def refresh(self, *parts: str) -> None:
        """Ask for a refresh now (all parts when none are named)."""
        self._dirty |= set(parts or ("account", "risk", "graduation"))
        if self._wake is not None:
            self._wake.set()

    def _on_event(self, event: JSON) -> None:
        kind = event.get("type", "")
        if kind in ACCOUNT_EVENTS:
            self.refresh("account")
        if kind in RISK_EVENTS:
            self.refresh("risk")
        if kind in GRADUATION_EVENTS:
            self.refresh("graduation")

    async def _run(self) -> None:
        await self.link.start()
        try:
            health = await self.link.health()
            self.environment = TRADE_ENVIRONMENT.get(str(health.get("venue")), "paper")
            self.health.emit(health)
        except EngineError as exc:
            self.failed.emit(str(exc))
        parts = {"account", "risk", "graduation"}
        assert self._wake is not None
        while True:
            await self._load(parts)
            try:
                await asyncio.wait_for(self._wake.wait(), self.poll_s)
            except TimeoutError:
                pass
            self._wake.clear()
            parts = self._dirty or {"account", "risk"}
            self._dirty = set()

    async def _load(self, parts: set[str]) -> None:
        jobs: list[tuple[Signal, Awaitable[Any]]] = []
        if "account" in parts:
            jobs += [
                (self.positions, self.link.positions()),
                (self.orders, self.link.orders()),
                (self.trades, self.link.trades(self.environment)),
                (self.balances, self.link.balances()),
            ]
        if "risk" in parts:
            jobs.append((self.risk, self.link.risk()))
        if "graduation" in parts:
            jobs.append((self.graduation, self.link.graduation()))
        results = await asyncio.gather(*(job for _, job in jobs), return_exceptions=True)
        errors = []
        for (signal, _), result in zip(jobs, results, strict=True):
            if isinstance(result, BaseException):
                errors.append(result)
            else:
                signal.emit(result)
        if errors:
            first = errors[0]
            if not isinstance(first, EngineError):
                log.error("engine read failed", exc_info=first)
            self.failed.emit(str(first))
        self.loads += 1
        self.loaded.emit()
