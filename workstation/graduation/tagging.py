"""Which orders are a graduation candidate's: its id rides in the client order id's prefix.

The runner's prefix ("pp" on paper, "lv" live) becomes e.g. "ppg12" for candidate 12, so every order
it sends (and every fill of it the ledger records) says whose it is: `ppg12-<ms36>-<hex>`. Which
candidate a trader trades as is `trading_candidate`'s answer: the one of the venue's stage with its
strategy, symbol and interval, or the one its `--candidate ID` names when several are. A
protective exit the venue fires (the attached stop-loss) has no client order id; `candidate_fills`
gives it to the candidate whose position it reduces.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

from workstation.core.enums import Side, Venue
from workstation.core.errors import WorkstationError
from workstation.core.types import Fill
from workstation.graduation.models import Candidate, Stage

TAG = "g"
_TAGGED = re.compile(rf"^[a-z]*?{TAG}(\d+)-")


def order_prefix(base: str, candidate_id: int) -> str:
    """`base` tagged with the candidate (at most 8 alphanumerics, as client order ids need)."""
    prefix = f"{base}{TAG}{candidate_id}"
    if not prefix.isalnum() or len(prefix) > 8:
        raise ValueError(f"candidate {candidate_id} does not fit a client order id prefix on {base!r}")
    return prefix


def candidate_of(client_order_id: str | None) -> int | None:
    """The candidate a client order id was sent for (None: untagged)."""
    found = _TAGGED.match(client_order_id or "")
    return int(found.group(1)) if found else None


def stage_of(venue: Venue) -> Stage | None:
    """The graduation stage whose candidates trade on `venue`."""
    for stage in Stage:
        if stage.venue is venue:
            return stage
    return None


class CandidateChoiceError(WorkstationError):
    """Which candidate a trader trades as is not clear: several qualify and none was picked, or the
    one picked does not qualify. The message lists the ids that do."""


def trading_candidates(home: Path, venue: Venue, symbol: str, interval: str, label: str) -> list[Candidate]:
    """Every candidate in `venue`'s stage with this symbol, interval and strategy label, by id (none
    without a graduation store in this home; the store is never created here)."""
    from workstation.graduation.store import GraduationStore, store_path
    from workstation.strategies.builtin import build

    stage, path = stage_of(venue), store_path(home)
    if stage is None or not path.exists():
        return []
    store = GraduationStore.open(path)
    try:
        found = [c for c in store.candidates() if c.stage is stage]
    finally:
        store.close()
    out = []
    for cand in found:
        if (cand.symbol, cand.interval) != (symbol, interval):
            continue
        try:
            if build(cand.strategy, cand.params).label() == label:
                out.append(cand)
        except (ValueError, KeyError):
            continue
    return sorted(out, key=lambda c: c.id)


def trading_candidate(
    home: Path, venue: Venue, symbol: str, interval: str, label: str, candidate_id: int | None = None
) -> Candidate | None:
    """The candidate a trader of `label` on `venue`, `symbol`, `interval` trades as: the one in the
    venue's stage that matches (None: none does). `candidate_id` picks one when several match.

    Raises CandidateChoiceError when several match and no `candidate_id` is given, or when the one
    given is not among them (the message lists those that are and asks for `--candidate ID`)."""
    found = trading_candidates(home, venue, symbol, interval, label)
    ids = ", ".join(str(c.id) for c in found)
    what = f"{label} {symbol} {interval}"
    stage = stage_of(venue)
    if candidate_id is not None:
        for cand in found:
            if cand.id == candidate_id:
                return cand
        where = f"{stage.value} candidates" if stage is not None else f"candidates ({venue.value} has no stage)"
        raise CandidateChoiceError(
            f"candidate {candidate_id} is not one of the {where} for {what}"
            + (f": those are {ids}; pass --candidate with one of them" if found else ": there are none")
        )
    if len(found) > 1:
        assert stage is not None
        raise CandidateChoiceError(
            f"{len(found)} {stage.value} candidates trade {what} on {venue.value} ({ids}): "
            f"pass --candidate ID to say which one this run trades as"
        )
    return found[0] if found else None


def candidate_fills(fills: Iterable[Fill], candidate_id: int, symbol: str) -> list[Fill]:
    """The candidate's fills on `symbol`, in time order: those its orders made, plus untagged fills
    (a venue-side stop) while they reduce the position its orders opened (clipped to that position)."""
    pos = Decimal(0)
    out: list[Fill] = []
    for f in sorted((f for f in fills if f.symbol == symbol), key=lambda f: (f.ts, f.exec_id)):
        sign = 1 if f.side is Side.BUY else -1
        owner = candidate_of(f.client_order_id)
        if owner == candidate_id:
            out.append(f)
            pos += sign * f.qty
            continue
        if owner is not None or f.client_order_id or pos == 0 or sign * pos > 0:
            continue  # another candidate's, another strategy's, or nothing of ours to close
        if f.qty > abs(pos):
            f = replace(f, qty=abs(pos), fee=f.fee * abs(pos) / f.qty)
        out.append(f)
        pos += sign * f.qty
    return out
