"""PaperExecutionClient: the ExecutionClient port over an in-process PaperAccount.

It behaves like BybitExecutionClient where it matters to the engine: acks say NEW ("accepted"
only means queued; a market order fills at the open of the candle in progress, or the next one),
refusals are ExchangeError with Bybit's retCodes (110072 duplicate orderLinkId, 110001 unknown or
finished order, 110007 insufficient balance, 110017 reduce-only refused), set_leverage to the
current value succeeds (as 110043 does). It never loads a key and never opens a socket.

With a `PaperJournal` every change is on disk before the call returns (an ack, or the end of a
candle step that filled something): a kill -9 loses nothing the venue acknowledged. If the journal
cannot be written the venue stops (every later call raises), so memory never runs ahead of disk:
a restart restores the last durable state, which is what the caller was told.
"""

from __future__ import annotations

from decimal import Decimal

from workstation.backtest import fills as F
from workstation.backtest.costs import CostModel
from workstation.core.enums import Category, OrderStatus, OrderType, Side, Venue
from workstation.core.errors import ExchangeError
from workstation.core.ids import new_client_order_id
from workstation.core.types import AmendRequest, Balance, Candle, Fill, Order, OrderAck, OrderRequest, Position
from workstation.exchanges.simulated.account import PaperAccount
from workstation.exchanges.simulated.book import PARAMS_ERROR, dec
from workstation.exchanges.simulated.journal import JournalError, PaperJournal

SYSTEM_ERROR = 10016  # Bybit's "server error": the venue cannot take business right now


class PaperExecutionClient:
    def __init__(
        self,
        account: PaperAccount | None = None,
        *,
        cost: CostModel | None = None,
        cash: float = 10_000.0,
        venue: Venue = Venue.PAPER,
        journal: PaperJournal | None = None,
    ) -> None:
        self.account = account or PaperAccount(cost=cost, cash=cash)
        self._venue = venue
        self.journal = journal
        self._broken: str | None = None

    def _check(self) -> None:
        if self._broken is not None:
            raise ExchangeError(f"paper venue stopped: {self._broken}", code=SYSTEM_ERROR)

    def checkpoint(self) -> None:
        """Save the marks and the last candle too (the end of a replay, a clean stop)."""
        self._check()
        self._commit(force=True)

    def _commit(self, *, force: bool = False) -> None:
        """Make every change so far durable before answering (no journal: nothing to do)."""
        if self.journal is None:
            return
        try:
            self.journal.commit(self.account, force=force)
        except JournalError as exc:
            self._broken = str(exc)
            raise ExchangeError(f"paper venue stopped: {exc}", code=SYSTEM_ERROR) from exc

    def __repr__(self) -> str:
        return f"PaperExecutionClient(venue={self._venue.value!r}, session={self.account.session!r})"

    @property
    def venue(self) -> str:
        return self._venue.value

    @property
    def execution_count(self) -> int:
        """Grows with every execution: a cheap way to know when to pull new fills."""
        return len(self.account.fills)

    # --- market data (not an order path: the feed drives the matching) ----------------------
    def open_bar(self, symbol: str, candle: Candle, funding_rate: float = 0.0) -> None:
        self._check()
        self.account.open_bar(symbol, candle, funding_rate)
        self._commit()

    def close_bar(self, symbol: str) -> None:
        self._check()
        self.account.close_bar(symbol)
        self._commit()

    def on_candle(self, symbol: str, candle: Candle, funding_rate: float = 0.0) -> None:
        self._check()
        self.account.on_candle(symbol, candle, funding_rate)
        self._commit()

    # --- mutating ---------------------------------------------------------------------------
    async def place_order(self, request: OrderRequest) -> OrderAck:
        self._check()
        order = self.account.place(request)
        self._commit()
        return OrderAck(request.client_order_id, order.venue_order_id, OrderStatus.NEW, "accepted")

    async def amend_order(self, request: AmendRequest) -> OrderAck:
        self._check()
        order = self.account.amend(request.client_order_id, request.qty, request.price, request.trigger_price)
        self._commit()
        return OrderAck(request.client_order_id, order.venue_order_id, OrderStatus.NEW, "amend accepted")

    async def cancel_order(self, symbol: str, client_order_id: str, category: Category) -> OrderAck:
        self._check()
        known = self.account.orders.get(client_order_id)
        if known is not None and known.request.symbol != symbol:
            raise ExchangeError(f"paper cancel_order: {client_order_id} is not a {symbol} order", code=PARAMS_ERROR)
        order = self.account.cancel(client_order_id)
        self._commit()
        return OrderAck(client_order_id, order.venue_order_id, OrderStatus.CANCELLED, "cancel accepted")

    async def cancel_all_orders(self, category: Category, symbol: str | None = None) -> list[OrderAck]:
        self._check()
        acks = []
        for order in self.account.open_orders(symbol):
            if order.request.category is category:
                self.account.cancel(order.request.client_order_id)
                acks.append(
                    OrderAck(order.request.client_order_id, order.venue_order_id, OrderStatus.CANCELLED, "cancelled")
                )
        self._commit()
        return acks

    async def close_position(self, symbol: str, category: Category) -> OrderAck | None:
        book = self.account.books.get(symbol)
        if book is None or book.qty == 0.0 or book.category is not category:
            return None
        return await self.place_order(
            OrderRequest(
                client_order_id=new_client_order_id("close"),
                symbol=symbol,
                side=Side.SELL if book.qty > 0 else Side.BUY,
                qty=dec(abs(book.qty)),
                order_type=OrderType.MARKET,
                reduce_only=True,
                category=category,
            )
        )

    async def set_leverage(self, symbol: str, leverage: Decimal, category: Category) -> None:
        value = float(leverage)
        mmr = self.account.cost.maintenance_margin
        if not 1.0 <= value <= 100.0 or mmr >= 1.0 / value:
            raise ExchangeError(f"paper set_leverage: {leverage} is outside 1..100 or below maintenance", code=10001)
        self._check()
        self.account.book(symbol, category).leverage = value
        self._commit()

    async def set_trading_stop(
        self, symbol: str, category: Category, stop_loss: Decimal | None = None, take_profit: Decimal | None = None
    ) -> None:
        """Replace the position's stop-loss / take-profit (Bybit's /v5/position/trading-stop)."""
        self._check()
        self.account.set_trading_stop(symbol, stop_loss, take_profit)
        self._commit()

    async def transfer(self, coin: str, amount: Decimal, from_account: str, to_account: str) -> str:
        if coin != self.account.coin:
            raise ExchangeError(f"paper transfer: the paper account holds {self.account.coin}, not {coin}")
        self._check()
        transfer_id = self.account.transfer(float(amount), from_account, to_account)
        self._commit()
        return transfer_id

    # --- read -------------------------------------------------------------------------------
    async def fetch_balances(self) -> list[Balance]:
        a = self.account
        equity = a.equity()
        extra = {
            "equity": dec(equity),
            "unrealized_pnl": dec(equity - a.cash),
            "position_margin": dec(a.position_margin()),
            "order_margin": dec(a.order_margin()),
            "fund": dec(a.fund),
        }
        return [Balance(self.venue, a.coin, dec(a.cash), dec(max(a.available(), 0.0)), extra)]

    async def fetch_positions(self, category: Category, symbol: str | None = None) -> list[Position]:
        mmr = self.account.cost.maintenance_margin
        return [
            b.position(self.venue, mmr, F.liquidation_price)
            for b in self.account.books.values()
            if b.qty != 0.0 and b.category is category and symbol in (None, b.symbol)
        ]

    async def fetch_open_orders(self, category: Category, symbol: str | None = None) -> list[Order]:
        return [o.to_order(self.venue) for o in self.account.open_orders(symbol) if o.request.category is category]

    async def fetch_order(self, category: Category, client_order_id: str) -> Order | None:
        order = self.account.orders.get(client_order_id)
        if order is None or order.request.category is not category:
            return None
        return order.to_order(self.venue)

    async def fetch_executions(self, category: Category, symbol: str | None = None) -> list[Fill]:
        books = self.account.books
        return [
            f.to_fill(self.account.coin)
            for f in self.account.executions(symbol)
            if books[f.symbol].category is category
        ]

    async def server_time_ms(self) -> int:
        return self.account.time_ms()
