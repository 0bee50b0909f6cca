"""VenueGuard decisions with an injected clock and sleep (no network): scenarios 8, 9, 11, 19."""

from __future__ import annotations

import asyncio

import pytest

from workstation.bus import EventBus
from workstation.core.errors import ExchangeError
from workstation.core.events import Event
from workstation.core.venue_events import VenueBlocked, VenueHalted, VenueThrottled
from workstation.exchanges.bybit.errors import BybitHttpError, BybitRateLimited, VenueBlockedError, VenueHaltedError
from workstation.exchanges.bybit.guard import GuardPolicy, VenueGuard


class Rig:
    def __init__(self, **policy: float) -> None:
        self.now = 1_000_000
        self.slept: list[float] = []
        self.events: list[Event] = []
        self.bus = EventBus()
        self.bus.subscribe(Event, self.events.append)
        self.guard = VenueGuard(
            "bybit-testnet", bus=self.bus, policy=GuardPolicy(**policy), now_ms=lambda: self.now, sleep=self.sleep
        )

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += int(seconds * 1000)


def test_rate_limit_when_reset_header_given_then_next_call_waits_until_it_and_retries() -> None:
    rig = Rig(rate_wait_margin_s=0.0)

    async def scenario() -> ExchangeError | None:
        error = BybitRateLimited("limited", code=10006, reset_at_ms=rig.now + 700)
        decision = await rig.guard.after_error("place_order", error, 0)
        await rig.guard.before("place_order")
        await rig.guard.before("place_order")  # the window is over: no second wait
        return decision

    assert asyncio.run(scenario()) is None
    assert rig.slept == [pytest.approx(0.7)]
    assert isinstance(rig.events[0], VenueThrottled) and rig.events[0].operation == "place_order"


def test_rate_limit_when_retries_exhausted_then_the_error_is_raised() -> None:
    rig = Rig(rate_limit_retries=2)
    error = BybitRateLimited("limited", code=10006, reset_at_ms=None)
    assert asyncio.run(rig.guard.after_error("place_order", error, 2)) is error


def test_rate_limit_when_reset_header_absurdly_far_then_wait_is_capped() -> None:
    rig = Rig(max_rate_wait_s=2.0)

    async def scenario() -> None:
        await rig.guard.after_error("x", BybitRateLimited("l", code=10006, reset_at_ms=rig.now + 3_600_000), 0)
        await rig.guard.before("x")

    asyncio.run(scenario())
    assert rig.slept == [2.0]


def test_403_when_received_then_every_call_refused_for_the_ban_window_then_allowed() -> None:
    rig = Rig(ban_s=600)

    async def scenario() -> None:
        await rig.guard.after_error("fetch_positions", BybitHttpError("403", http_status=403), 0)
        with pytest.raises(VenueBlockedError, match="paused until"):
            await rig.guard.before("place_order")
        rig.now += 599_000
        with pytest.raises(VenueBlockedError):
            await rig.guard.before("fetch_balances")
        rig.now += 1_000
        await rig.guard.before("fetch_balances")

    asyncio.run(scenario())
    assert [type(e) for e in rig.events] == [VenueBlocked]


def test_110079_when_amending_then_backs_off_exponentially_and_gives_up_after_the_budget() -> None:
    rig = Rig(busy_backoff_s=0.1, busy_retries=3)
    busy = ExchangeError("busy", code=110079)

    async def scenario() -> list[ExchangeError | None]:
        return [await rig.guard.after_error("amend_order", busy, n) for n in range(4)]

    assert asyncio.run(scenario()) == [None, None, None, busy]
    assert rig.slept == [pytest.approx(0.1), pytest.approx(0.2), pytest.approx(0.4)]
    assert asyncio.run(rig.guard.after_error("place_order", busy, 0)) is busy  # never blindly re-create


def test_10003_when_received_then_hard_stop_names_venue_and_environment_and_blocks_everything() -> None:
    rig = Rig()

    async def scenario() -> ExchangeError | None:
        decision = await rig.guard.after_error("fetch_balances", ExchangeError("bad key", code=10003), 0)
        with pytest.raises(VenueHaltedError, match="HARD STOP on bybit-testnet"):
            await rig.guard.before("fetch_open_orders")
        return decision

    decision = asyncio.run(scenario())
    assert isinstance(decision, VenueHaltedError) and decision.code == 10003
    assert "testnet (api-testnet.bybit.com)" in str(decision)
    assert [type(e) for e in rig.events] == [VenueHalted]
