from __future__ import annotations

import gc

from workstation.bus import EventBus
from workstation.core.clock import ManualClock
from workstation.core.events import DebugModeChanged, Event
from workstation.safety.session import DebugSession, format_countdown


class Panel:
    def __init__(self) -> None:
        self.seen: list[Event] = []

    def on_event(self, event: Event) -> None:
        self.seen.append(event)


def test_publish_when_subclass_event_then_base_class_subscribers_receive_it() -> None:
    bus = EventBus()
    seen: list[Event] = []
    bus.subscribe(Event, seen.append)
    bus.publish(DebugModeChanged(enabled=True, source="t"))
    assert len(seen) == 1


def test_publish_when_a_handler_raises_then_the_others_still_receive() -> None:
    bus = EventBus()
    seen: list[Event] = []

    def broken(_: Event) -> None:
        raise RuntimeError("boom")

    bus.subscribe(DebugModeChanged, broken)
    bus.subscribe(DebugModeChanged, seen.append)
    bus.publish(DebugModeChanged(enabled=True, source="t"))
    assert len(seen) == 1


def test_publish_when_panel_was_garbage_collected_then_it_is_dropped_silently() -> None:
    bus = EventBus()
    panel = Panel()
    bus.subscribe(DebugModeChanged, panel.on_event)
    bus.publish(DebugModeChanged(enabled=True, source="t"))
    assert len(panel.seen) == 1
    del panel
    gc.collect()
    bus.publish(DebugModeChanged(enabled=False, source="t"))  # no error, nothing delivered


def test_debug_session_when_limit_passes_then_expired_with_a_message_naming_the_setting() -> None:
    clock = ManualClock(1_000_000)
    session = DebugSession(90, clock)
    assert not session.expired() and format_countdown(session.remaining_s()) == "1:30"
    clock.advance(90_000)
    assert session.expired()
    assert "1 min 30 s" in session.expiry_message() and "safety.debug_session_max" in session.expiry_message()
