"""Ports: what the engine needs from a venue. Concrete adapters live beside this file.

Every method of ExecutionClient is classified as MUTATING (changes anything on a venue) or
READ. The SafetyGate relies on this classification; a test fails if a method is added to the
protocol without being classified.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Protocol, runtime_checkable

from workstation.core.enums import Category
from workstation.core.funding import FundingPayment
from workstation.core.types import AmendRequest, Balance, Fill, Order, OrderAck, OrderRequest, Position

MUTATING_METHODS: frozenset[str] = frozenset(
    {
        "place_order",
        "amend_order",
        "cancel_order",
        "cancel_all_orders",
        "close_position",
        "set_leverage",
        "transfer",
    }
)
READ_METHODS: frozenset[str] = frozenset(
    {
        "fetch_balances",
        "fetch_positions",
        "fetch_open_orders",
        "fetch_order",
        "fetch_executions",
        "server_time_ms",
    }
)

# Mutating methods some clients have beyond the protocol (batch create, moving a position's
# stop-loss/take-profit). The gate guards them too.
OPTIONAL_MUTATING_METHODS: frozenset[str] = frozenset({"place_orders", "set_trading_stop"})
# Reads some clients have beyond the protocol (Bybit: funding settlements). The gate forwards them.
OPTIONAL_READ_METHODS: frozenset[str] = frozenset({"fetch_funding"})


@runtime_checkable
class ExecutionClient(Protocol):
    """Orders and account state on one venue. All calls are async and never block the loop."""

    @property
    def venue(self) -> str: ...

    # --- mutating -------------------------------------------------------------------------
    async def place_order(self, request: OrderRequest) -> OrderAck: ...

    async def amend_order(self, request: AmendRequest) -> OrderAck: ...

    async def cancel_order(self, symbol: str, client_order_id: str, category: Category) -> OrderAck: ...

    async def cancel_all_orders(self, category: Category, symbol: str | None = None) -> list[OrderAck]: ...

    async def close_position(self, symbol: str, category: Category) -> OrderAck | None: ...

    async def set_leverage(self, symbol: str, leverage: Decimal, category: Category) -> None: ...

    async def transfer(self, coin: str, amount: Decimal, from_account: str, to_account: str) -> str: ...

    # --- read -----------------------------------------------------------------------------
    async def fetch_balances(self) -> list[Balance]: ...

    async def fetch_positions(self, category: Category, symbol: str | None = None) -> list[Position]: ...

    async def fetch_open_orders(self, category: Category, symbol: str | None = None) -> list[Order]: ...

    async def fetch_order(self, category: Category, client_order_id: str) -> Order | None: ...

    async def fetch_executions(self, category: Category, symbol: str | None = None) -> list[Fill]: ...

    async def server_time_ms(self) -> int: ...


@runtime_checkable
class FundingClient(Protocol):
    """A venue that reports the funding it settles on the account's positions (core.funding)."""

    async def fetch_funding(self, category: Category, symbol: str | None = None) -> list[FundingPayment]: ...


class AccountStreamSink(Protocol):
    """Where a private account stream delivers. Implemented by the engine (engine/streams.py).
    A sink method that raises does not end the stream: it alerts, reconnects and resyncs."""

    async def stream_connected(self) -> None: ...  # authenticated and subscribed: resync over REST now

    async def stream_disconnected(self, reason: str) -> None: ...

    async def stream_alert(self, reason: str) -> None: ...

    async def stream_orders(self, orders: Sequence[tuple[Category, Order]]) -> None: ...

    async def stream_fills(self, fills: Sequence[tuple[Category, Fill]]) -> None: ...

    async def stream_funding(self, payments: Sequence[tuple[Category, FundingPayment]]) -> None: ...

    async def stream_positions(self, positions: Sequence[Position]) -> None: ...

    async def stream_balances(self, balances: Sequence[Balance]) -> None: ...


class AccountStream(Protocol):
    """A venue's private stream (orders, executions, positions, wallet). Read-only: no order entry."""

    @property
    def venue(self) -> str: ...

    @property
    def connected(self) -> bool: ...

    def start(self, sink: AccountStreamSink) -> None: ...

    async def stop(self) -> None: ...
