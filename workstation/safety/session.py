"""The debug-session time limit: a debug session ends itself cleanly after a set time."""

from __future__ import annotations

from workstation.core.clock import Clock, SystemClock


def format_duration(seconds: float) -> str:
    seconds = round(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{hours} h" if hours else "", f"{minutes} min" if minutes else "", f"{secs} s" if secs else ""]
    return " ".join(p for p in parts if p) or "0 s"


def format_countdown(seconds: float) -> str:
    """59:59 or 1:00:00: a countdown that visibly moves every second."""
    total = max(0, int(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class DebugSession:
    def __init__(self, limit_s: float, clock: Clock | None = None) -> None:
        if limit_s <= 0:
            raise ValueError("debug session limit must be positive")
        self._clock = clock or SystemClock()
        self.limit_s = limit_s
        self.started_ms = self._clock.now_ms()

    def elapsed_s(self) -> float:
        return (self._clock.now_ms() - self.started_ms) / 1000

    def remaining_s(self) -> float:
        return max(0.0, self.limit_s - self.elapsed_s())

    def expired(self) -> bool:
        return self.remaining_s() <= 0

    def expiry_message(self) -> str:
        return (
            f"Debug session reached its limit of {format_duration(self.limit_s)} "
            "(safety.debug_session_max) and is ending itself. Start it again to continue."
        )
