"""Bus events as JSON for the /api/events WebSocket: {"type": "OrderDenied", "ts": ..., ...}."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from decimal import Decimal
from enum import Enum
from typing import Any

from workstation.bus import EventBus
from workstation.core.events import Event


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, Enum):
        return value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value) if f.repr}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def event_json(event: Event) -> str:
    return json.dumps({"type": type(event).__name__, **_plain(event)}, default=str)


class EventFanout:
    """One bounded queue per WebSocket client. A slow client loses its oldest events (and is
    told how many), never slows the engine."""

    def __init__(self, bus: EventBus, maxsize: int = 1000) -> None:
        self._queues: set[asyncio.Queue[str]] = set()
        self._maxsize = maxsize
        self.dropped = 0
        bus.subscribe(Event, self._on_event)

    def _on_event(self, event: Event) -> None:
        if not self._queues:
            return
        text = event_json(event)
        for queue in list(self._queues):
            if queue.full():
                queue.get_nowait()
                self.dropped += 1
            queue.put_nowait(text)

    def open(self) -> asyncio.Queue[str]:
        queue: asyncio.Queue[str] = asyncio.Queue(self._maxsize)
        self._queues.add(queue)
        return queue

    def close(self, queue: asyncio.Queue[str]) -> None:
        self._queues.discard(queue)
