"""SafetyGate: the only code that hands out an execution client.

In debug mode the live client is never built (so keys are never loaded) and every mutating
call is denied with an OrderDenied event and an OrderDeniedError. The guard re-checks the
switches on every call, so turning debug mode on (or engaging the kill switch) while orders
are in flight blocks everything that has not left the process yet.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from decimal import Decimal
from typing import Protocol, runtime_checkable

from workstation.bus import EventBus
from workstation.core.enums import Category, Venue
from workstation.core.errors import ExchangeError, OrderDeniedError
from workstation.core.events import OrderDenied
from workstation.core.funding import FundingPayment
from workstation.core.types import AmendRequest, Balance, Fill, Order, OrderAck, OrderRequest, Position
from workstation.exchanges.ports import ExecutionClient, FundingClient
from workstation.safety.switches import DebugSwitch, KillSwitch

log = logging.getLogger(__name__)

ClientFactory = Callable[[], ExecutionClient]


@runtime_checkable
class TradingStopClient(Protocol):
    """A venue that moves an open position's stop-loss / take-profit (Bybit /v5/position/trading-stop).
    Not part of the ExecutionClient port: not every venue has it."""

    async def set_trading_stop(
        self, symbol: str, category: Category, stop_loss: Decimal | None = None, take_profit: Decimal | None = None
    ) -> None: ...


class SafetyGate:
    def __init__(
        self,
        *,
        debug_switch: DebugSwitch,
        kill_switch: KillSwitch,
        bus: EventBus,
        allowed_venues: tuple[Venue, ...],
        mainnet_confirmed: bool = False,
    ) -> None:
        self.debug_switch = debug_switch
        self.kill_switch = kill_switch
        self.bus = bus
        self.allowed_venues = allowed_venues
        self.mainnet_confirmed = mainnet_confirmed

    def execution_client(
        self, venue: Venue, *, live: ClientFactory, keyless: ClientFactory | None = None
    ) -> GuardedExecutionClient:
        """Hand out the client for `venue`.

        `live` builds the real client (it may load keys); it is called only when debug mode is
        off and the venue is allowed. `keyless` builds a client that can only read (paper, or a
        venue client without credentials); it serves reads in debug mode.
        """
        refusal = self.refusal_reason(venue)
        if refusal is None:
            inner = live()
        else:
            log.info("safety gate: %s gets a denying client: %s", venue.value, refusal)
            inner = keyless() if keyless is not None else None
        return GuardedExecutionClient(venue, inner, self, refused_at_hand_out=refusal)

    def refusal_reason(self, venue: Venue) -> str | None:
        """Why no live client may be handed out for `venue` right now (None: it may)."""
        if self.debug_switch.enabled:
            return "debug mode is on (config/debug.yaml): every order is blocked"
        if venue not in self.allowed_venues:
            allowed = ", ".join(v.value for v in self.allowed_venues)
            return f"venue {venue.value} is not in trading.allowed_venues ({allowed})"
        if venue.is_real_money and not self.mainnet_confirmed:
            return "mainnet trades real money and needs explicit confirmation (--confirm-mainnet)"
        return None

    def check(self, venue: Venue, action: str, *, refused_at_hand_out: str | None, reduces_risk: bool) -> str | None:
        """Why this mutating call must be denied now (None: it may go)."""
        if self.debug_switch.enabled:
            return "debug mode is on (config/debug.yaml): every order is blocked"
        if refused_at_hand_out is not None:
            return f"{refused_at_hand_out} (trading was refused when this client was handed out; reconnect to trade)"
        if self.kill_switch.engaged and not reduces_risk:
            return f"kill switch is engaged ({self.kill_switch.describe()}); only risk-reducing actions pass"
        return None


class GuardedExecutionClient:
    """Implements ExecutionClient; every mutating method passes the gate's check first."""

    def __init__(
        self, venue: Venue, inner: ExecutionClient | None, gate: SafetyGate, *, refused_at_hand_out: str | None
    ) -> None:
        self._venue = venue
        self._inner = inner
        self._gate = gate
        self._refused = refused_at_hand_out

    @property
    def venue(self) -> str:
        return self._venue.value

    @property
    def can_trade(self) -> bool:
        return self._refused is None and not self._gate.debug_switch.enabled

    def _admit(
        self, action: str, *, reduces_risk: bool = False, symbol: str | None = None, coid: str | None = None
    ) -> ExecutionClient:
        reason = self._gate.check(self._venue, action, refused_at_hand_out=self._refused, reduces_risk=reduces_risk)
        if reason is None and self._inner is None:
            reason = "no execution client is connected"
        if reason is not None:
            log.warning("DENIED %s on %s (%s): %s", action, self._venue.value, coid or symbol or "-", reason)
            self._gate.bus.publish(
                OrderDenied(venue=self._venue.value, action=action, reason=reason, client_order_id=coid, symbol=symbol)
            )
            raise OrderDeniedError(action, reason)
        assert self._inner is not None
        return self._inner

    def _reader(self, action: str) -> ExecutionClient:
        if self._inner is None:
            raise OrderDeniedError(action, "no client is connected for reads on this venue")
        return self._inner

    # --- mutating -------------------------------------------------------------------------
    async def place_order(self, request: OrderRequest) -> OrderAck:
        client = self._admit(
            "place_order", reduces_risk=request.reduce_only, symbol=request.symbol, coid=request.client_order_id
        )
        return await client.place_order(request)

    async def place_orders(self, requests: list[OrderRequest]) -> list[OrderAck | ExchangeError]:
        """A batch is admitted or denied as a whole (debug mode denies every order in it). A client
        without batch support gets the orders one by one, each outcome on its own."""
        client = self._admit(
            "place_orders",
            reduces_risk=all(r.reduce_only for r in requests),
            symbol=",".join(sorted({r.symbol for r in requests})),
            coid=",".join(r.client_order_id for r in requests),
        )
        batch = getattr(client, "place_orders", None)
        if batch is not None:
            return await batch(requests)  # type: ignore[no-any-return]
        outcomes: list[OrderAck | ExchangeError] = []
        for request in requests:
            try:
                outcomes.append(await self.place_order(request))
            except ExchangeError as exc:
                outcomes.append(exc)
        return outcomes

    async def amend_order(self, request: AmendRequest) -> OrderAck:
        client = self._admit("amend_order", symbol=request.symbol, coid=request.client_order_id)
        return await client.amend_order(request)

    async def cancel_order(self, symbol: str, client_order_id: str, category: Category) -> OrderAck:
        client = self._admit("cancel_order", reduces_risk=True, symbol=symbol, coid=client_order_id)
        return await client.cancel_order(symbol, client_order_id, category)

    async def cancel_all_orders(self, category: Category, symbol: str | None = None) -> list[OrderAck]:
        client = self._admit("cancel_all_orders", reduces_risk=True, symbol=symbol)
        return await client.cancel_all_orders(category, symbol)

    async def close_position(self, symbol: str, category: Category) -> OrderAck | None:
        client = self._admit("close_position", reduces_risk=True, symbol=symbol)
        return await client.close_position(symbol, category)

    async def set_trading_stop(
        self, symbol: str, category: Category, stop_loss: Decimal | None = None, take_profit: Decimal | None = None
    ) -> None:
        """Move the position's stop-loss / take-profit (None leaves one as it is, 0 removes it).

        Admitted like an order that adds risk: the gate's rule under the kill switch lets only
        risk-reducing actions pass, and from here a tighter stop cannot be told from a looser one
        or a removed one (the venue's current stop is not known), so the kill switch denies it as
        debug mode does; closing the position is the risk-reducing action then."""
        client = self._admit("set_trading_stop", symbol=symbol)
        if not isinstance(client, TradingStopClient):
            raise OrderDeniedError("set_trading_stop", f"the {self._venue.value} client cannot set a trading stop")
        await client.set_trading_stop(symbol, category, stop_loss, take_profit)

    async def set_leverage(self, symbol: str, leverage: Decimal, category: Category) -> None:
        client = self._admit("set_leverage", symbol=symbol)
        await client.set_leverage(symbol, leverage, category)

    async def transfer(self, coin: str, amount: Decimal, from_account: str, to_account: str) -> str:
        client = self._admit("transfer")
        return await client.transfer(coin, amount, from_account, to_account)

    # --- local settings (never a venue call) --------------------------------------------------
    def set_clock_offset_ms(self, offset_ms: int) -> None:
        """Forwarded so the OMS can correct signing after a 10002, even on a reading client."""
        setter = getattr(self._inner, "set_clock_offset_ms", None)
        if setter is not None:
            setter(offset_ms)

    # --- read -----------------------------------------------------------------------------
    async def fetch_balances(self) -> list[Balance]:
        return await self._reader("fetch_balances").fetch_balances()

    async def fetch_positions(self, category: Category, symbol: str | None = None) -> list[Position]:
        return await self._reader("fetch_positions").fetch_positions(category, symbol)

    async def fetch_open_orders(self, category: Category, symbol: str | None = None) -> list[Order]:
        return await self._reader("fetch_open_orders").fetch_open_orders(category, symbol)

    async def fetch_order(self, category: Category, client_order_id: str) -> Order | None:
        return await self._reader("fetch_order").fetch_order(category, client_order_id)

    async def fetch_executions(self, category: Category, symbol: str | None = None) -> list[Fill]:
        return await self._reader("fetch_executions").fetch_executions(category, symbol)

    async def fetch_funding(self, category: Category, symbol: str | None = None) -> list[FundingPayment]:
        """The venue's funding settlements; [] from a client that does not report them."""
        client = self._reader("fetch_funding")
        return await client.fetch_funding(category, symbol) if isinstance(client, FundingClient) else []

    async def server_time_ms(self) -> int:
        return await self._reader("server_time_ms").server_time_ms()
