"""The debug-mode master switch at run time, and the kill switch that survives restarts."""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
from dataclasses import asdict, dataclass
from pathlib import Path

from workstation.bus import EventBus
from workstation.core.clock import Clock, SystemClock, utc_iso
from workstation.core.enums import TradingState
from workstation.core.events import DebugModeChanged, TradingStateChanged

log = logging.getLogger(__name__)


class DebugSwitch:
    """The live value of debug mode. Read on every mutating call, so flipping it on mid-flight
    blocks orders that have not left yet."""

    def __init__(self, enabled: bool, bus: EventBus | None = None) -> None:
        self._enabled = enabled
        self._bus = bus
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self._enabled

    def set(self, enabled: bool, source: str) -> None:
        with self._lock:
            changed = enabled != self._enabled
            self._enabled = enabled
        if changed:
            log.warning("debug mode %s by %s", "ON" if enabled else "OFF", source)
            if self._bus is not None:
                self._bus.publish(DebugModeChanged(enabled=enabled, source=source))


@dataclass(frozen=True)
class KillSwitchState:
    engaged: bool
    reason: str = ""
    by: str = ""
    at_ms: int = 0


def write_json_atomically(path: Path, payload: dict[str, object]) -> None:
    """Write, fsync and rename, so a crash leaves either the old file or the new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(payload, fh, indent=2, sort_keys=True)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class KillSwitch:
    """Persisted HALTED state. Engaged stays engaged across restarts until a human clears it.
    An unreadable state file counts as engaged: failing safe beats trading on a guess."""

    def __init__(self, path: Path, bus: EventBus | None = None, clock: Clock | None = None) -> None:
        self._path = path
        self._bus = bus
        self._clock = clock or SystemClock()
        self._state = self._load()

    @property
    def state(self) -> KillSwitchState:
        return self._state

    @property
    def engaged(self) -> bool:
        return self._state.engaged

    @property
    def trading_state(self) -> TradingState:
        return TradingState.HALTED if self.engaged else TradingState.ACTIVE

    def engage(self, reason: str, by: str) -> None:
        self._save(KillSwitchState(True, reason, by, self._clock.now_ms()))
        log.critical("kill switch ENGAGED by %s: %s", by, reason)
        self._publish(f"kill switch engaged by {by}: {reason}")

    def clear(self, by: str) -> None:
        if not self.engaged:
            return
        self._save(KillSwitchState(False, "", by, self._clock.now_ms()))
        log.warning("kill switch cleared by %s", by)
        self._publish(f"kill switch cleared by {by}")

    def describe(self) -> str:
        s = self._state
        if not s.engaged:
            return "not engaged"
        return f"engaged since {utc_iso(s.at_ms)} by {s.by}: {s.reason}"

    def _publish(self, reason: str) -> None:
        if self._bus is not None:
            self._bus.publish(TradingStateChanged(state=self.trading_state, reason=reason))

    def _save(self, state: KillSwitchState) -> None:
        write_json_atomically(self._path, {"kill_switch": asdict(state)})
        self._state = state

    def _load(self) -> KillSwitchState:
        if not self._path.exists():
            return KillSwitchState(False)
        try:
            raw = json.loads(self._path.read_text(encoding="utf-8"))["kill_switch"]
            return KillSwitchState(
                engaged=bool(raw["engaged"]), reason=str(raw["reason"]), by=str(raw["by"]), at_ms=int(raw["at_ms"])
            )
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.error("kill switch state %s unreadable (%s): treating it as ENGAGED", self._path, exc)
            return KillSwitchState(True, f"state file {self._path} unreadable: {exc}", "system", 0)
