"""VenueGuard: what every REST call to one Bybit venue passes through, before and after.

- retCode 10006 (per-key, per-endpoint limit): calls to that endpoint wait on the event loop
  (asyncio.sleep, never time.sleep) until Bybit's X-Bapi-Limit-Reset-Timestamp, then retry.
- retCode 110079 ("order being processed") on amend/cancel: back off and retry.
- HTTP 403 (IP limit, Bybit wants >= 10 minutes of silence): ALL calls to the venue fail at once
  with VenueBlockedError until the window ends; a VenueBlocked event alerts the user.
- retCode 10003 (key invalid / for another environment): hard stop. Every later call fails with
  VenueHaltedError naming the venue and its environment; a VenueHalted event says what to do.

One guard per venue: composition roots should share it between the execution client, the
market-data client and the private stream of that venue so a ban silences all of them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from workstation.bus import EventBus
from workstation.core.clock import utc_iso
from workstation.core.errors import ExchangeError
from workstation.core.venue_events import VenueBlocked, VenueHalted, VenueThrottled
from workstation.exchanges.bybit.errors import (
    BybitHttpError,
    BybitRateLimited,
    VenueBlockedError,
    VenueHaltedError,
)

log = logging.getLogger(__name__)

INVALID_KEY = 10003
ORDER_BUSY = 110079
BUSY_RETRY_OPERATIONS = frozenset({"amend_order", "cancel_order"})
ENVIRONMENTS = {
    "bybit-testnet": "testnet (api-testnet.bybit.com)",
    "bybit-demo": "demo trading (api-demo.bybit.com)",
    "bybit-mainnet": "mainnet (api.bybit.com, real money)",
}


@dataclass(frozen=True, slots=True)
class GuardPolicy:
    ban_s: float = 600.0  # Bybit: "at least 10 minutes" after an IP-limit 403
    rate_limit_retries: int = 5
    max_rate_wait_s: float = 10.0  # never trust a reset header further out than this
    rate_wait_margin_s: float = 0.05
    busy_retries: int = 4
    busy_backoff_s: float = 0.25  # doubles per attempt


def wall_ms() -> int:
    return time.time_ns() // 1_000_000


class VenueGuard:
    def __init__(
        self,
        venue: str,
        *,
        bus: EventBus | None = None,
        policy: GuardPolicy | None = None,
        now_ms: Callable[[], int] = wall_ms,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.venue = venue
        self.bus = bus
        self.policy = policy or GuardPolicy()
        self.now_ms = now_ms
        self.sleep = sleep
        self.clock_offset_ms = 0  # venue minus ours; reset headers are in the venue's clock
        self.blocked_until_ms = 0
        self.halted_reason: str | None = None
        self._reset_at: dict[str, int] = {}  # operation -> venue-clock ms when its limit resets

    @property
    def environment(self) -> str:
        return ENVIRONMENTS.get(self.venue, self.venue)

    def blocked_for_s(self) -> float:
        return max(0.0, (self.blocked_until_ms - self.now_ms()) / 1000)

    def refusal(self) -> ExchangeError | None:
        """Why no traffic may go to the venue now (None: it may)."""
        if self.halted_reason is not None:
            return VenueHaltedError(self.halted_reason)
        if self.now_ms() < self.blocked_until_ms:
            until = utc_iso(self.blocked_until_ms)
            return VenueBlockedError(
                f"not sent: traffic to {self.venue} is paused until {until} after HTTP 403 (IP rate limit)",
                until_ms=self.blocked_until_ms,
            )
        return None

    async def before(self, operation: str) -> None:
        """Raise if the venue is closed to traffic; wait out a 10006 window for this operation."""
        refusal = self.refusal()
        if refusal is not None:
            raise refusal
        reset = self._reset_at.get(operation)
        if reset is None:
            return
        wait_s = (reset - (self.now_ms() + self.clock_offset_ms)) / 1000 + self.policy.rate_wait_margin_s
        if wait_s > 0:
            await self.sleep(min(wait_s, self.policy.max_rate_wait_s))
        self._reset_at.pop(operation, None)

    async def after_error(self, operation: str, exc: ExchangeError, attempt: int) -> ExchangeError | None:
        """Decide about a failed call. None: retry it (after any back-off, already waited here).
        Otherwise the error to raise (the same one, or a clearer one)."""
        if isinstance(exc, BybitRateLimited):
            return self._rate_limited(operation, exc, attempt)
        if isinstance(exc, BybitHttpError) and exc.http_status == 403:
            return self._ban(operation, exc)
        if exc.code == INVALID_KEY:
            return self._halt(operation)
        if exc.code == ORDER_BUSY and operation in BUSY_RETRY_OPERATIONS and attempt < self.policy.busy_retries:
            delay = self.policy.busy_backoff_s * 2**attempt
            log.info("%s %s: order being processed (110079), retrying in %.2f s", self.venue, operation, delay)
            await self.sleep(delay)
            return None
        return exc

    def _rate_limited(self, operation: str, exc: BybitRateLimited, attempt: int) -> ExchangeError | None:
        server_now = self.now_ms() + self.clock_offset_ms
        reset = exc.reset_at_ms or server_now + 1000
        self._reset_at[operation] = reset
        wait_s = max(0.0, (reset - server_now) / 1000)
        log.warning("%s %s: rate limited (10006), waiting %.2f s for the reset", self.venue, operation, wait_s)
        if self.bus is not None:
            self.bus.publish(VenueThrottled(venue=self.venue, operation=operation, until_ms=reset, wait_s=wait_s))
        return None if attempt < self.policy.rate_limit_retries else exc

    def _ban(self, operation: str, exc: ExchangeError) -> ExchangeError:
        first = self.now_ms() >= self.blocked_until_ms
        self.blocked_until_ms = self.now_ms() + int(self.policy.ban_s * 1000)
        reason = (
            f"{self.venue} answered HTTP 403 to {operation} (IP rate limit breached, or region blocked): "
            f"all traffic to {self.venue} stops until {utc_iso(self.blocked_until_ms)}"
        )
        if first:
            log.critical(reason)
            if self.bus is not None:
                self.bus.publish(VenueBlocked(venue=self.venue, until_ms=self.blocked_until_ms, reason=reason))
        return exc

    def halt(self, reason: str, code: int | None = None) -> VenueHaltedError:
        if self.halted_reason is None:
            self.halted_reason = reason
            log.critical(reason)
            if self.bus is not None:
                self.bus.publish(VenueHalted(venue=self.venue, reason=reason))
        return VenueHaltedError(self.halted_reason, code=code)

    def _halt(self, operation: str) -> VenueHaltedError:
        return self.halt(
            f"HARD STOP on {self.venue}: the exchange rejected the API key (retCode 10003) during {operation}. "
            f"This venue is {self.environment}; the key is invalid there or belongs to another environment "
            "(testnet, demo and mainnet keys are separate). All traffic to "
            f"{self.venue} is stopped: store a key created for {self.environment} and restart.",
            INVALID_KEY,
        )
