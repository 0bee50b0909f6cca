"""Events about a venue connection itself (streams, rate limits, bans, hard stops, instruments).

Kept beside events.py so the engine, the UI and the headless API can subscribe to them without
knowing which exchange adapter raised them.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from workstation.core.events import Event


@dataclass(frozen=True, slots=True, kw_only=True)
class StreamStatusChanged(Event):
    """The private stream went up or down. While down the engine polls the venue over REST."""

    venue: str
    connected: bool
    reason: str
    fallback: str = ""  # what keeps working meanwhile, e.g. "REST polling every 2 s"


@dataclass(frozen=True, slots=True, kw_only=True)
class StreamAlert(Event):
    """Something went wrong inside the stream (a handler raised, a message was unreadable).
    The stream reconnects and resyncs over REST; the alert says why."""

    venue: str
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class VenueThrottled(Event):
    """The venue's rate limit was hit (retCode 10006): calls wait until `until_ms` (venue clock)."""

    venue: str
    operation: str
    until_ms: int
    wait_s: float


@dataclass(frozen=True, slots=True, kw_only=True)
class VenueBlocked(Event):
    """HTTP 403 (IP rate limit): no traffic at all to the venue until `until_ms` (our clock)."""

    venue: str
    until_ms: int
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class VenueHalted(Event):
    """A hard stop that needs a human (e.g. a key for the wrong environment). No traffic until restart."""

    venue: str
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class InstrumentChanged(Event):
    """The venue changed an instrument's trading rules (tick size, step, minimums)."""

    venue: str
    symbol: str
    changes: tuple[tuple[str, Decimal, Decimal], ...]  # (field, old, new)
