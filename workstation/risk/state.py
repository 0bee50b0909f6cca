"""The trading state ACTIVE / REDUCING / HALTED, persisted in <home>/state/risk.json.

The kill switch (safety.json, owned by workstation.safety) is not copied here: it is read live
through `HaltSource`, so HALTED by the kill switch and HALTED by a limit are one state that both
block new risk, and clearing one never clears the other. An unreadable risk.json counts as HALTED
until a human clears it, the same fail-safe rule as the kill switch.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from dataclasses import asdict, dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import Protocol

from workstation.bus import EventBus
from workstation.core.clock import Clock, SystemClock, utc_iso
from workstation.core.enums import TradingState
from workstation.core.events import TradingStateChanged

log = logging.getLogger(__name__)

DAILY_LOSS = "daily_loss"
DRAWDOWN = "drawdown"
UNREADABLE = "unreadable_state"


class HaltSource(Protocol):
    """What the state needs from the kill switch (workstation.safety.switches.KillSwitch)."""

    @property
    def engaged(self) -> bool: ...

    def describe(self) -> str: ...


@dataclass(frozen=True, slots=True)
class Halt:
    kind: str  # daily_loss | drawdown | unreadable_state
    reason: str
    at_ms: int
    until_ms: int | None = None  # None: until a human clears it

    def active(self, now_ms: int) -> bool:
        return self.until_ms is None or now_ms < self.until_ms

    def describe(self) -> str:
        until = "until a human clears it" if self.until_ms is None else f"until {utc_iso(self.until_ms)}"
        return f"{self.reason} (since {utc_iso(self.at_ms)}, {until})"


@dataclass(frozen=True, slots=True)
class RiskBook:
    """Everything the limits remember between runs."""

    peak_equity: Decimal | None = None
    day: str | None = None  # UTC date (YYYY-MM-DD) that day_start_equity belongs to
    day_start_equity: Decimal | None = None
    last_equity: Decimal | None = None
    last_equity_ms: int = 0
    halts: tuple[Halt, ...] = ()
    reducing: str | None = None  # set automatically when a budget is nearly used
    manual_reducing: str | None = None  # set by a human
    cleared_by: str = ""
    cleared_ms: int = 0


def _to_json(book: RiskBook) -> dict[str, object]:
    raw = asdict(book)
    for key in ("peak_equity", "day_start_equity", "last_equity"):
        raw[key] = None if raw[key] is None else str(raw[key])
    return raw


def _from_json(raw: dict[str, object]) -> RiskBook:
    def dec(key: str) -> Decimal | None:
        value = raw.get(key)
        return None if value is None else Decimal(str(value))

    halts = tuple(Halt(**h) for h in raw.get("halts", []))  # type: ignore[arg-type, union-attr]
    return RiskBook(
        peak_equity=dec("peak_equity"),
        day=raw.get("day"),  # type: ignore[arg-type]
        day_start_equity=dec("day_start_equity"),
        last_equity=dec("last_equity"),
        last_equity_ms=int(raw.get("last_equity_ms", 0)),  # type: ignore[arg-type]
        halts=halts,
        reducing=raw.get("reducing"),  # type: ignore[arg-type]
        manual_reducing=raw.get("manual_reducing"),  # type: ignore[arg-type]
        cleared_by=str(raw.get("cleared_by", "")),
        cleared_ms=int(raw.get("cleared_ms", 0)),  # type: ignore[arg-type]
    )


def _write_atomically(path: Path, payload: dict[str, object]) -> None:
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


@dataclass(frozen=True, slots=True)
class StateView:
    state: TradingState
    reason: str
    halts: tuple[Halt, ...] = field(default=())


class RiskStateStore:
    def __init__(
        self,
        path: Path,
        *,
        kill_switch: HaltSource | None = None,
        bus: EventBus | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.path = path
        self._kill = kill_switch
        self._bus = bus
        self._clock = clock or SystemClock()
        self._book = self._load()
        self._last_published = self.view().state

    @property
    def book(self) -> RiskBook:
        return self._book

    @property
    def kill_switch_engaged(self) -> bool:
        return self._kill is not None and self._kill.engaged

    def view(self, now_ms: int | None = None) -> StateView:
        now = self._clock.now_ms() if now_ms is None else now_ms
        active = tuple(h for h in self._book.halts if h.active(now))
        reasons = []
        if self._kill is not None and self._kill.engaged:
            reasons.append(f"kill switch {self._kill.describe()}")
        reasons += [h.describe() for h in active]
        if reasons:
            return StateView(TradingState.HALTED, "; ".join(reasons), active)
        reducing = [r for r in (self._book.manual_reducing, self._book.reducing) if r]
        if reducing:
            return StateView(TradingState.REDUCING, "; ".join(reducing))
        return StateView(TradingState.ACTIVE, "all limits within bounds")

    @property
    def state(self) -> TradingState:
        return self.view().state

    def update(self, book: RiskBook) -> None:
        """Persist a new book (expired halts are dropped) and announce a change of state."""
        now = self._clock.now_ms()
        book = replace(book, halts=tuple(h for h in book.halts if h.active(now)))
        _write_atomically(self.path, {"risk": _to_json(book)})
        self._book = book
        self._announce()

    def _announce(self) -> None:
        view = self.view()
        if view.state is not self._last_published:
            log.warning("trading state %s -> %s: %s", self._last_published.value, view.state.value, view.reason)
            self._last_published = view.state
            if self._bus is not None:
                self._bus.publish(TradingStateChanged(state=view.state, reason=view.reason))

    def refresh(self) -> StateView:
        """Drop halts whose time has passed (a daily-loss halt at the next UTC day)."""
        now = self._clock.now_ms()
        if any(not h.active(now) for h in self._book.halts):
            self.update(self._book)
        else:
            self._announce()
        return self.view(now)

    def halt(self, kind: str, reason: str, until_ms: int | None) -> None:
        now = self._clock.now_ms()
        others = tuple(h for h in self._book.halts if h.kind != kind)
        self.update(replace(self._book, halts=(*others, Halt(kind, reason, now, until_ms))))

    def clear_halts(self, by: str) -> list[Halt]:
        """A human decision: lift every limit halt and start the drawdown from the current equity
        (otherwise the same drawdown would halt again at the next equity update). The kill switch
        is separate and stays as it is."""
        cleared = list(self._book.halts)
        if not cleared:
            return []
        book = replace(
            self._book,
            halts=(),
            peak_equity=self._book.last_equity,
            day_start_equity=self._book.last_equity,
            reducing=None,
            cleared_by=by,
            cleared_ms=self._clock.now_ms(),
        )
        log.warning("risk halts cleared by %s: %s", by, "; ".join(h.describe() for h in cleared))
        self.update(book)
        return cleared

    def set_manual_reducing(self, reason: str | None, by: str) -> None:
        value = None if reason is None else f"{reason} (set by {by})"
        self.update(replace(self._book, manual_reducing=value))

    def _load(self) -> RiskBook:
        if not self.path.exists():
            return RiskBook()
        try:
            return _from_json(json.loads(self.path.read_text(encoding="utf-8"))["risk"])
        except (OSError, ValueError, KeyError, TypeError, ArithmeticError) as exc:
            log.error("risk state %s unreadable (%s): treating it as HALTED", self.path, exc)
            halt = Halt(UNREADABLE, f"risk state file {self.path} unreadable: {exc}", self._clock.now_ms())
            return RiskBook(halts=(halt,))
