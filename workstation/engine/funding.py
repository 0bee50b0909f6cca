"""Funding settlements: recorded in the ledger once each, keyed by the venue's execution id.

They arrive twice by design: on the private stream's execution topic and from the REST execution
list the kernel pulls on every reconciliation and sync. Whichever comes first is written; the other
is a no-op (the ledger's primary key, and `_seen` before it). A payment the ledger refused (locked,
disk full) or that was received just before a crash is not marked seen, so the next REST pull
(on restart: the start's reconciliation) writes it. Funding never touches the position.
"""

from __future__ import annotations

import logging

from workstation.core.enums import Category
from workstation.core.funding import FundingPayment
from workstation.engine.ledger import Ledger, LedgerUnavailable
from workstation.exchanges.ports import FundingClient

log = logging.getLogger(__name__)


class FundingRecorder:
    def __init__(self, *, ledger: Ledger, venue: str) -> None:
        self._ledger = ledger
        self._venue = venue
        self._seen: set[str] = set()

    async def load(self) -> None:
        self._seen = await self._ledger.call(self._ledger.funding_ids, self._venue)

    def known(self, exec_id: str) -> bool:
        return exec_id in self._seen

    async def ingest(self, payment: FundingPayment, *, source: str) -> bool:
        """Record a settlement once. True when it was new and is now in the ledger."""
        if payment.exec_id in self._seen:
            return False
        try:
            stored = await self._ledger.call(self._ledger.record_funding, payment, self._venue, source=source)
        except LedgerUnavailable as exc:
            log.error("funding %s not saved (the next REST sync retries it): %s", payment.exec_id, exc)
            return False
        self._seen.add(payment.exec_id)
        if stored:
            log.info(
                "funding %s %s at %d: paid %s (rate %s, position %s) via %s",
                self._venue, payment.symbol, payment.ts, payment.amount, payment.rate, payment.position_qty, source,
            )  # fmt: skip
        return stored

    async def sync(self, client: object, category: Category, symbol: str | None = None) -> int:
        """Pull the venue's funding settlements over REST; the number newly recorded. A client that
        does not report funding (paper, ccxt) has none."""
        if not isinstance(client, FundingClient):
            return 0
        payments = await client.fetch_funding(category, symbol)
        new = 0
        for payment in sorted(payments, key=lambda p: (p.ts, p.exec_id)):
            new += await self.ingest(payment, source="rest")
        return new
