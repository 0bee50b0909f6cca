"""EventBus: typed publish/subscribe on the asyncio loop, dispatch by event class.

Bound methods are held weakly (WeakMethod), so a closed panel that forgot to unsubscribe is
simply dropped; plain functions, lambdas and builtins are held strongly (a weak reference to
a temporary bound builtin such as `events.append` would die at once). A handler that raises is logged and never stops delivery
to the others.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import weakref
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from workstation.core.events import Event

E = TypeVar("E", bound=Event)
Handler = Callable[[Any], Awaitable[None] | None]

log = logging.getLogger(__name__)


class _StrongRef:
    __slots__ = ("_target",)

    def __init__(self, target: Any) -> None:
        self._target = target

    def __call__(self) -> Any:
        return self._target


class EventBus:
    def __init__(self) -> None:
        self._subs: dict[type[Event], list[Callable[[], Any]]] = {}
        self._pending: set[asyncio.Task[None]] = set()

    def subscribe(self, event_type: type[E], handler: Callable[[E], Awaitable[None] | None]) -> None:
        ref: Callable[[], Any]
        if inspect.ismethod(handler):
            ref = weakref.WeakMethod(handler)
        else:
            ref = _StrongRef(handler)
        self._subs.setdefault(event_type, []).append(ref)

    def unsubscribe(self, event_type: type[E], handler: Callable[[E], Any]) -> None:
        refs = self._subs.get(event_type, [])
        self._subs[event_type] = [r for r in refs if r() is not None and r() != handler]

    def publish(self, event: Event) -> None:
        """Deliver to every handler of the event's class and its base classes."""
        for cls in type(event).__mro__:
            if not (isinstance(cls, type) and issubclass(cls, Event)):
                continue
            refs = self._subs.get(cls)
            if not refs:
                continue
            alive = []
            for ref in refs:
                handler = ref()
                if handler is None:
                    continue
                alive.append(ref)
                self._deliver(handler, event)
            self._subs[cls] = alive

    def _deliver(self, handler: Handler, event: Event) -> None:
        try:
            result = handler(event)
        except Exception:
            log.exception("event handler %r failed on %s", handler, type(event).__name__)
            return
        if inspect.isawaitable(result):
            task = asyncio.ensure_future(result)
            self._pending.add(task)  # type: ignore[arg-type]
            task.add_done_callback(self._done)

    def _done(self, task: asyncio.Future[None]) -> None:
        self._pending.discard(task)  # type: ignore[arg-type]
        if not task.cancelled() and task.exception() is not None:
            log.error("async event handler failed", exc_info=task.exception())
