"""A candidate's trading on one venue, read from the ledger: its round trips and the share of its
orders that filled. Its orders are those tagged with its id (graduation.tagging); the venue's own
stop fills are its while they close its position.

A live venue's funding settlements (the ledger's funding table, core.funding: paid +, received -)
are a trade's when they fall after its entry fill and no later than its exit fill on its symbol
(a settlement at the instant of a reversal belongs to the trade it closes); its P&L is after them.
Paper books funding in its own account, not the ledger: its trades carry none here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from workstation.core.enums import OrderStatus, Side
from workstation.core.funding import FundingPayment
from workstation.core.types import Fill
from workstation.engine.ledger import Ledger
from workstation.graduation.compare import Trade, round_trips
from workstation.graduation.models import Candidate
from workstation.graduation.tagging import candidate_fills, candidate_of

CLOSED = (OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.REJECTED)
VENUE_EXIT = "venue stop"  # an untagged fill: the stop-loss attached to the candidate's position


@dataclass(frozen=True, slots=True)
class LedgerTrading:
    venue: str
    fills: list[Fill]
    trades: list[Trade]
    fill_ratio: float | None  # filled / closed market and limit orders it sent (stops not counted)
    orders: int
    funding: tuple[FundingPayment, ...] = ()  # the settlements attributed to its trades, in time order

    @property
    def span(self) -> tuple[int, int] | None:
        return (self.fills[0].ts, self.fills[-1].ts) if self.fills else None


def ledger_trading(
    ledger: Ledger,
    candidate: Candidate,
    venue: str,
    *,
    start_ms: int | None = None,
    end_ms: int | None = None,
    tagged: bool = True,
) -> LedgerTrading:
    """What `candidate` did on `venue` between `start_ms` and `end_ms` (exclusive), per the ledger.
    `tagged=False`: every fill and order on the candidate's symbol (an account traded without a tag)."""

    def within(ts: int) -> bool:
        return (start_ms is None or ts >= start_ms) and (end_ms is None or ts < end_ms)

    on_venue = [f for f in ledger.fills(venue=venue) if within(f.ts)]
    if tagged:
        fills = candidate_fills(on_venue, candidate.id, candidate.symbol)
    else:
        fills = sorted((f for f in on_venue if f.symbol == candidate.symbol), key=lambda f: (f.ts, f.exec_id))
    trades = round_trips(
        (
            f.ts,
            1 if f.side is Side.BUY else -1,
            float(f.qty),
            float(f.price),
            float(f.fee),
            "signal" if f.client_order_id else VENUE_EXIT,
        )
        for f in fills
    )
    # An order's created_ms is the kernel's clock, not the fills' (a replay's candles): the orders of the
    # span are those sent between the first and the last of its orders that filled in the span.
    mine = [
        r
        for r in ledger.orders(venue=venue)
        if (not tagged or candidate_of(r.client_order_id) == candidate.id)
        and r.order.symbol == candidate.symbol
        and r.trigger_price is None
    ]
    coids = {f.client_order_id for f in fills}
    sent_ms = [r.order.created_ms for r in mine if r.client_order_id in coids]
    sent = [r for r in mine if r.status in CLOSED and sent_ms and min(sent_ms) <= r.order.created_ms <= max(sent_ms)]
    filled = sum(r.order.filled_qty > 0 for r in sent)
    trades, paid = with_funding(trades, ledger.funding(venue, candidate.symbol))
    return LedgerTrading(venue, fills, trades, filled / len(sent) if sent else None, len(sent), paid)


def with_funding(
    trades: Sequence[Trade], payments: Sequence[FundingPayment]
) -> tuple[list[Trade], tuple[FundingPayment, ...]]:
    """Each trade with the funding settled while it was open (entry < ts <= exit; open: after its
    entry) and its P&L after it; and the settlements so attributed."""
    out: list[Trade] = []
    used: list[FundingPayment] = []
    for t in trades:
        mine = [p for p in payments if t.entry_ts < p.ts and (t.exit_ts is None or p.ts <= t.exit_ts)]
        if not mine:
            out.append(t)
            continue
        used += mine
        paid = float(sum(p.amount for p in mine))
        out.append(replace(t, funding=(t.funding or 0.0) + paid, pnl=None if t.pnl is None else t.pnl - paid))
    return out, tuple(sorted(used, key=lambda p: (p.ts, p.exec_id)))
