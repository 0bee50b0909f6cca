"""Events are frozen classes; the bus dispatches on the class, never on a string."""

from __future__ import annotations

from dataclasses import dataclass, field

from workstation.core.clock import SystemClock
from workstation.core.enums import TradingState

_clock = SystemClock()


def _now() -> int:
    return _clock.now_ms()


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    ts: int = field(default_factory=_now)


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderDenied(Event):
    """A mutating call stopped before it left the process, with a human reason."""

    venue: str
    action: str  # place_order, amend_order, cancel_order, set_leverage, ...
    reason: str
    client_order_id: str | None = None
    symbol: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderRejected(Event):
    venue: str
    client_order_id: str
    reason: str
    code: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderAccepted(Event):
    venue: str
    client_order_id: str
    venue_order_id: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class DebugModeChanged(Event):
    enabled: bool
    source: str


@dataclass(frozen=True, slots=True, kw_only=True)
class TradingStateChanged(Event):
    state: TradingState
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class DebugSessionExpired(Event):
    limit_s: float
    message: str
