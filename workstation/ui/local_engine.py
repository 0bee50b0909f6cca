"""LocalEngine: the engine in this process (EngineService over the runtime and, when a venue is
connected, the kernel from wiring.build_kernel), speaking the same JSON as the headless API."""

from __future__ import annotations

import asyncio
import getpass
import json
import logging
from typing import Any

from PySide6.QtCore import QObject

from workstation.api.events import event_json
from workstation.api.service import ConflictError, EngineService
from workstation.core.enums import Venue
from workstation.core.errors import WorkstationError
from workstation.core.events import Event
from workstation.engine.kernel import EngineKernel
from workstation.runtime import Runtime
from workstation.ui.engine_link import CONNECTED, JSON, NO_VENUE, EngineError, EngineLink

log = logging.getLogger(__name__)


def who() -> str:
    try:
        return f"gui:{getpass.getuser()}"
    except (KeyError, OSError):
        return "gui"


def _build_kernel(runtime: Runtime) -> EngineKernel | None:
    """As the headless server decides: a paper account needs a feed (a replay) to follow, so the
    desktop runs paper kernel-less until one is started; other venues get the wired kernel."""
    if runtime.settings.trading.venue is Venue.PAPER:
        return None
    from workstation.wiring import build_kernel

    return build_kernel(runtime)


class LocalEngine(EngineLink):
    label = "local"

    def __init__(self, runtime: Runtime, parent: QObject | None = None, kernel: EngineKernel | None = None) -> None:
        super().__init__(parent)
        self.runtime = runtime
        self._kernel_given = kernel
        self.service = EngineService(runtime, kernel)
        self.label = runtime.settings.trading.venue.value
        runtime.bus.subscribe(Event, self._on_event)  # held weakly by the bus; we live as long as the window

    def _on_event(self, event: Event) -> None:
        self.event.emit(json.loads(event_json(event)))

    async def start(self) -> None:
        kernel = self._kernel_given
        if kernel is None:
            try:
                kernel = _build_kernel(self.runtime)
            except WorkstationError as exc:
                log.error("engine: %s", exc)
                kernel = None
        self.service.kernel = kernel
        self.service.lag.start()
        if kernel is not None:
            await kernel.start()
        self._set_state(self.label, CONNECTED if kernel is not None else NO_VENUE)

    async def stop(self) -> None:
        await self.service.lag.stop()
        if self.service.kernel is not None and self._kernel_given is None:
            await self.service.kernel.stop()

    @staticmethod
    def _dump(value: Any) -> Any:
        if isinstance(value, list):
            return [v.model_dump(mode="json") for v in value]
        return value.model_dump(mode="json")

    # --- reads --------------------------------------------------------------------------------
    async def health(self) -> JSON:
        return self._dump(self.service.health())

    async def system_stats(self) -> JSON:
        return self._dump(self.service.system_stats())

    async def positions(self) -> list[JSON]:
        return self._dump(self.service.positions())

    async def balances(self) -> list[JSON]:
        return self._dump(self.service.balances())

    async def orders(self, open_only: bool = False) -> list[JSON]:
        return self._dump(await self.service.orders(open_only=open_only))

    async def trades(self, environment: str) -> list[JSON]:
        return self._dump(await self.service.trades(environment))

    async def risk(self) -> JSON:
        return self._dump(await self.service.risk())

    async def graduation(self) -> JSON:
        return self._dump(await self.service.graduation())

    # --- actions ------------------------------------------------------------------------------
    async def _act(self, action: Any) -> JSON:
        try:
            result = await action if asyncio.iscoroutine(action) else action
        except ConflictError as exc:
            raise EngineError(str(exc)) from None
        return self._dump(result)

    async def pause(self) -> JSON:
        try:
            return self._dump(self.service.pause(who()))
        except ConflictError as exc:
            raise EngineError(str(exc)) from None

    async def resume(self) -> JSON:
        try:
            return self._dump(self.service.resume(who()))
        except ConflictError as exc:
            raise EngineError(str(exc)) from None

    async def emergency_stop(self, reason: str, close_positions: bool = False) -> JSON:
        return await self._act(self.service.emergency_stop(who(), reason, close_positions))

    async def cancel_orders(self) -> JSON:
        return await self._act(self.service.cancel_orders(who()))

    async def close_positions(self) -> JSON:
        return await self._act(self.service.close_positions(who()))

    async def wipe_data(self) -> JSON:
        return await self._act(self.service.wipe_data(who()))

    async def approve_live(self, candidate_id: int) -> JSON:
        from workstation.api.graduation_view import approve_live

        try:
            return await asyncio.to_thread(approve_live, self.runtime, candidate_id, who())
        except WorkstationError as exc:
            raise EngineError(str(exc)) from None

    async def _graduation(self, name: str, *args: Any) -> JSON:
        from workstation.ui import graduation_actions

        try:
            result = await asyncio.to_thread(getattr(graduation_actions, name), self.runtime, *args, who())
        except WorkstationError as exc:
            raise EngineError(str(exc)) from None
        if not result.get("ok", True):
            raise EngineError(str(result["detail"]))
        return result

    async def add_candidate(self, spec: JSON) -> JSON:
        return await self._graduation("add_candidate", spec)

    async def demote(self, candidate_id: int, reason: str) -> JSON:
        return await self._graduation("demote", candidate_id, reason)

    async def retire(self, candidate_id: int, reason: str) -> JSON:
        return await self._graduation("retire", candidate_id, reason)
