"""InstrumentCache: Bybit's trading rules per symbol (tick, step, min qty, min notional), cached.

An entry is re-read when it is older than `ttl_s` or after `invalidate()` (the OMS calls it when
the venue refuses an order's price or quantity). A re-read that finds different rules publishes
InstrumentChanged, and every later order is checked against the new rules (scenario 14).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor
from typing import Any

from workstation.bus import EventBus
from workstation.core.enums import Category, Venue
from workstation.core.errors import ExchangeError
from workstation.core.types import Instrument
from workstation.core.venue_events import InstrumentChanged
from workstation.exchanges.bybit.client import make_session
from workstation.exchanges.bybit.errors import translate
from workstation.exchanges.bybit.guard import VenueGuard
from workstation.exchanges.bybit.parse import dec

log = logging.getLogger(__name__)

Fetch = Callable[[Category, str], Awaitable[Instrument | None]]
RULE_FIELDS = ("tick_size", "qty_step", "min_qty", "min_notional")


def to_instrument(item: dict[str, Any], venue: str, category: Category) -> Instrument:
    lot = item.get("lotSizeFilter") or {}
    price = item.get("priceFilter") or {}
    # spot: basePrecision is the step and minOrderAmt the minimum value.
    step = dec(lot.get("qtyStep")) or dec(lot.get("basePrecision"))
    min_notional = dec(lot.get("minNotionalValue")) or dec(lot.get("minOrderAmt"))
    return Instrument(
        venue=venue,
        symbol=str(item["symbol"]),
        category=category,
        base=str(item.get("baseCoin") or ""),
        quote=str(item.get("quoteCoin") or ""),
        tick_size=dec(price.get("tickSize")),
        qty_step=step,
        min_qty=dec(lot.get("minOrderQty")),
        min_notional=min_notional,
    )


def bybit_instrument_fetcher(
    venue: Venue, *, base_url: str | None = None, guard: VenueGuard | None = None, executor: Executor | None = None
) -> Fetch:
    """Reads /v5/market/instruments-info (public, no key) on a thread, through the venue guard."""
    session = make_session(venue, None, base_url=base_url)

    def blocking(category: Category, symbol: str) -> dict[str, Any]:
        error: ExchangeError | None = None
        try:
            response = session.get_instruments_info(category=category.value, symbol=symbol)
        except Exception as exc:
            error = translate(exc, "instruments", ())
            if error is None:
                raise
        if error is not None:
            raise error
        return response.get("result") or {}

    async def fetch(category: Category, symbol: str) -> Instrument | None:
        attempt = 0
        while True:
            if guard is not None:
                await guard.before("instruments")
            try:
                result = await asyncio.get_running_loop().run_in_executor(
                    executor, functools.partial(blocking, category, symbol)
                )
                break
            except ExchangeError as exc:
                final = await guard.after_error("instruments", exc, attempt) if guard is not None else exc
                if final is not None:
                    raise final from None
            attempt += 1
        for item in result.get("list") or []:
            if item.get("symbol") == symbol:
                return to_instrument(item, venue.value, category)
        return None

    return fetch


class InstrumentCache:
    """Implements engine.precheck.InstrumentSource."""

    def __init__(
        self,
        venue: str,
        fetch: Fetch,
        *,
        ttl_s: float = 300.0,
        bus: EventBus | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.venue = venue
        self._fetch = fetch
        self.ttl_s = ttl_s
        self._bus = bus
        self._monotonic = monotonic
        self._entries: dict[tuple[Category, str], tuple[float, Instrument | None]] = {}
        self._locks: dict[tuple[Category, str], asyncio.Lock] = {}
        self.fetches = 0

    async def get(self, symbol: str, category: Category) -> Instrument | None:
        key = (category, symbol)
        entry = self._entries.get(key)
        if entry is not None and self._monotonic() - entry[0] < self.ttl_s:
            return entry[1]
        async with self._locks.setdefault(key, asyncio.Lock()):
            entry = self._entries.get(key)  # another caller may have refreshed it meanwhile
            if entry is not None and self._monotonic() - entry[0] < self.ttl_s:
                return entry[1]
            return await self.refresh(symbol, category)

    async def refresh(self, symbol: str, category: Category) -> Instrument | None:
        key = (category, symbol)
        old = self._entries.get(key, (0.0, None))[1]
        self.fetches += 1
        new = await self._fetch(category, symbol)
        self._entries[key] = (self._monotonic(), new)
        if old is not None and new is not None:
            changes = tuple(
                (name, getattr(old, name), getattr(new, name))
                for name in RULE_FIELDS
                if getattr(old, name) != getattr(new, name)
            )
            if changes:
                text = ", ".join(f"{n} {a} -> {b}" for n, a, b in changes)
                log.warning("%s %s trading rules changed: %s", self.venue, symbol, text)
                if self._bus is not None:
                    self._bus.publish(InstrumentChanged(venue=self.venue, symbol=symbol, changes=changes))
        return new

    def invalidate(self, symbol: str, category: Category) -> None:
        """Make the next get() re-read the rules (the old ones are kept to report what changed)."""
        entry = self._entries.get((category, symbol))
        if entry is not None:
            self._entries[(category, symbol)] = (-float("inf"), entry[1])

    def cached(self, symbol: str, category: Category) -> Instrument | None:
        entry = self._entries.get((category, symbol))
        return entry[1] if entry else None
