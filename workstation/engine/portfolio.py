"""Positions, balances and PnL, built from fills (average cost) and corrected by the venue.

A position is signed: positive is long, negative short. Realized PnL is booked when a fill reduces
a position; unrealized PnL comes from the latest mark price. When the venue reports a different
size, the venue wins (reconciliation adopts it): the ledger never assumes a position is flat.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal

from workstation.core.enums import Side
from workstation.core.types import Balance, Fill, Position

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class PositionState:
    venue: str
    symbol: str
    size: Decimal = ZERO  # signed: + long, - short
    entry_price: Decimal = ZERO
    realized_pnl: Decimal = ZERO
    fees: Decimal = ZERO
    source: str = "fills"  # fills | exchange (last set from the venue's report)
    updated_ms: int = 0

    @property
    def side(self) -> Side | None:
        if self.size == 0:
            return None
        return Side.BUY if self.size > 0 else Side.SELL

    def unrealized(self, mark: Decimal | None) -> Decimal:
        if mark is None or self.size == 0:
            return ZERO
        return (mark - self.entry_price) * self.size


def apply_fill(state: PositionState, fill: Fill, now_ms: int) -> PositionState:
    """The position after one fill (average cost; a flip opens the remainder at the fill price)."""
    delta = fill.qty if fill.side is Side.BUY else -fill.qty
    size, entry, realized = state.size, state.entry_price, state.realized_pnl
    new_size = size + delta
    if size == 0 or (size > 0) == (delta > 0):
        entry = (abs(size) * entry + fill.qty * fill.price) / abs(new_size) if new_size else ZERO
    else:
        closed = min(fill.qty, abs(size))
        realized += closed * (fill.price - entry) * (1 if size > 0 else -1)
        if new_size == 0:
            entry = ZERO
        elif (new_size > 0) != (size > 0):
            entry = fill.price
    return replace(
        state,
        size=new_size,
        entry_price=entry,
        realized_pnl=realized,
        fees=state.fees + fill.fee,
        source="fills",
        updated_ms=max(now_ms, state.updated_ms),
    )


class Portfolio:
    def __init__(self, states: list[PositionState] | None = None) -> None:
        self._positions: dict[tuple[str, str], PositionState] = {}
        self._marks: dict[str, Decimal] = {}
        self._balances: dict[str, list[Balance]] = {}
        self.load(states or [])

    def load(self, states: list[PositionState]) -> None:
        for state in states:
            self._positions[(state.venue, state.symbol)] = state

    def put(self, state: PositionState) -> None:
        self._positions[(state.venue, state.symbol)] = state

    def position(self, venue: str, symbol: str) -> PositionState:
        return self._positions.get((venue, symbol)) or PositionState(venue, symbol)

    def positions(self, venue: str | None = None, *, include_flat: bool = False) -> list[PositionState]:
        return [
            p
            for (v, _), p in sorted(self._positions.items())
            if (venue is None or v == venue) and (include_flat or p.size != 0)
        ]

    def apply_fill(self, venue: str, fill: Fill, now_ms: int) -> PositionState:
        state = apply_fill(self.position(venue, fill.symbol), fill, now_ms)
        self._positions[(venue, fill.symbol)] = state
        if fill.price > 0:
            self._marks[fill.symbol] = fill.price  # last trade until a better mark arrives
        return state

    def adopt(self, reported: Position, now_ms: int) -> PositionState | None:
        """Take the venue's size and entry when they differ from ours; None when they agree."""
        signed = reported.size if reported.side is not Side.SELL else -reported.size
        if reported.side is None:
            signed = ZERO
        current = self.position(reported.venue, reported.symbol)
        if reported.mark_price > 0:
            self._marks[reported.symbol] = reported.mark_price
        if current.size == signed:
            return None
        state = replace(
            current,
            size=signed,
            entry_price=reported.entry_price if signed else ZERO,
            source="exchange",
            updated_ms=max(now_ms, current.updated_ms),
        )
        self._positions[(reported.venue, reported.symbol)] = state
        return state

    def set_mark(self, symbol: str, price: Decimal) -> None:
        self._marks[symbol] = price

    def mark(self, symbol: str) -> Decimal | None:
        return self._marks.get(symbol)

    def unrealized_pnl(self, venue: str | None = None) -> Decimal:
        return sum((p.unrealized(self._marks.get(p.symbol)) for p in self.positions(venue)), ZERO)

    def realized_pnl(self, venue: str | None = None) -> Decimal:
        return sum((p.realized_pnl for p in self.positions(venue, include_flat=True)), ZERO)

    def fees(self, venue: str | None = None) -> Decimal:
        return sum((p.fees for p in self.positions(venue, include_flat=True)), ZERO)

    def to_position(self, state: PositionState) -> Position:
        mark = self._marks.get(state.symbol, state.entry_price)
        return Position(
            venue=state.venue,
            symbol=state.symbol,
            side=state.side,
            size=abs(state.size),
            entry_price=state.entry_price,
            mark_price=mark,
            unrealized_pnl=state.unrealized(mark),
        )

    def set_balances(self, venue: str, balances: list[Balance]) -> None:
        self._balances[venue] = list(balances)

    def balances(self, venue: str) -> list[Balance]:
        return list(self._balances.get(venue, []))
