"""Risk limits: daily loss (HALTED until the next UTC day), drawdown from peak (HALTED until a human
clears it), open positions, exposure per symbol and in total, and order rate.

Approaching a loss limit shrinks size first: once `size_taper_start` of the daily-loss or drawdown
budget is used, new orders scale down linearly; at `reducing_at` the state becomes REDUCING; at
the limit itself, HALTED.
"""

from __future__ import annotations

import datetime as dt
from collections import deque
from dataclasses import dataclass, replace
from decimal import Decimal

from workstation.core.clock import Clock, utc_iso
from workstation.core.enums import Side
from workstation.risk import fmt
from workstation.risk.state import DAILY_LOSS, DRAWDOWN, Halt, RiskStateStore
from workstation.settings.models import RiskSettings

DAY_MS = 86_400_000
ZERO = Decimal(0)
ONE = Decimal(1)


def utc_day(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC).date().isoformat()


def next_utc_midnight(ms: int) -> int:
    return (ms // DAY_MS + 1) * DAY_MS


@dataclass(frozen=True, slots=True)
class Exposure:
    symbol: str
    size: Decimal  # signed: + long, - short
    price: Decimal  # mark
    contract_size: Decimal = ONE

    @property
    def notional(self) -> Decimal:
        return abs(self.size) * self.price * self.contract_size


@dataclass(frozen=True, slots=True)
class AccountState:
    equity: Decimal  # in the account currency
    positions: tuple[Exposure, ...] = ()

    def size(self, symbol: str) -> Decimal:
        return sum((p.size for p in self.positions if p.symbol == symbol), ZERO)

    def notional(self, symbol: str | None = None) -> Decimal:
        return sum((p.notional for p in self.positions if symbol in (None, p.symbol)), ZERO)

    @property
    def open_symbols(self) -> set[str]:
        return {p.symbol for p in self.positions if p.size != 0}


@dataclass(frozen=True, slots=True)
class Usage:
    daily_loss: Decimal  # fraction of day-start equity lost today (>= 0)
    drawdown: Decimal  # fraction below the peak (>= 0)
    daily_used: Decimal  # of the daily-loss budget, 0..1+
    drawdown_used: Decimal  # of the drawdown budget, 0..1+

    @property
    def used(self) -> Decimal:
        return max(self.daily_used, self.drawdown_used)


class RiskLimits:
    def __init__(self, settings: RiskSettings, store: RiskStateStore, clock: Clock) -> None:
        self.settings = settings
        self.store = store
        self.clock = clock
        self._orders: deque[int] = deque()
        self._d = {
            name: Decimal(str(getattr(settings, name)))
            for name in (
                "daily_loss_limit",
                "max_drawdown",
                "size_taper_start",
                "reducing_at",
                "max_symbol_exposure",
                "max_total_exposure",
            )
        }

    # --- equity -> limits -----------------------------------------------------------------------
    def on_equity(self, equity: Decimal) -> Usage:
        """Record the latest equity: roll the UTC day, track the peak, halt on a breached limit."""
        now = self.clock.now_ms()
        book = self.store.book
        today = utc_day(now)
        if book.day != today or book.day_start_equity is None:
            book = replace(book, day=today, day_start_equity=equity)
        peak = equity if book.peak_equity is None else max(book.peak_equity, equity)
        book = replace(book, peak_equity=peak, last_equity=equity, last_equity_ms=now)
        usage = self.usage_of(book.day_start_equity, peak, equity)
        halts = [h for h in book.halts if h.active(now)]
        kinds = {h.kind for h in halts}
        if usage.daily_used >= 1 and DAILY_LOSS not in kinds:
            reason = (
                f"daily loss limit: equity {fmt.money(equity)} is {fmt.pct(usage.daily_loss)} below today's start "
                f"{fmt.money(book.day_start_equity)} (limit {fmt.pct(self.settings.daily_loss_limit)})"
            )
            halts.append(Halt(DAILY_LOSS, reason, now, next_utc_midnight(now)))
        if usage.drawdown_used >= 1 and DRAWDOWN not in kinds:
            reason = (
                f"max drawdown: equity {fmt.money(equity)} is {fmt.pct(usage.drawdown)} below the peak {fmt.money(peak)} "
                f"(limit {fmt.pct(self.settings.max_drawdown)})"
            )
            halts.append(Halt(DRAWDOWN, reason, now, None))
        reducing = None
        if usage.used >= self._d["reducing_at"]:
            reducing = (
                f"{fmt.pct(usage.used)} of a loss budget used (daily loss {fmt.pct(usage.daily_loss)}, "
                f"drawdown {fmt.pct(usage.drawdown)}); REDUCING from {fmt.pct(self.settings.reducing_at)}"
            )
        self.store.update(replace(book, halts=tuple(halts), reducing=reducing))
        return usage

    def usage_of(self, day_start: Decimal | None, peak: Decimal | None, equity: Decimal) -> Usage:
        daily = max(ZERO, (day_start - equity) / day_start) if day_start and day_start > 0 else ZERO
        drawdown = max(ZERO, (peak - equity) / peak) if peak and peak > 0 else ZERO
        return Usage(daily, drawdown, daily / self._d["daily_loss_limit"], drawdown / self._d["max_drawdown"])

    def usage(self) -> Usage:
        book = self.store.book
        if book.last_equity is None:
            return Usage(ZERO, ZERO, ZERO, ZERO)
        day_start = book.day_start_equity if book.day == utc_day(self.clock.now_ms()) else book.last_equity
        return self.usage_of(day_start, book.peak_equity, book.last_equity)

    def size_scale(self) -> tuple[Decimal, str]:
        """1 while little of the loss budgets is used; shrinks linearly past `size_taper_start`."""
        usage = self.usage()
        start = self._d["size_taper_start"]
        if usage.used <= start:
            return ONE, ""
        scale = max(ZERO, (1 - usage.used) / (1 - start))
        which = "daily loss" if usage.daily_used >= usage.drawdown_used else "drawdown"
        return scale, f"{fmt.pct(usage.used)} of the {which} budget used: size x{fmt.num(scale, 3)}"

    # --- pre-trade checks -----------------------------------------------------------------------
    def order_rate_refusal(self) -> str | None:
        now = self.clock.now_ms()
        while self._orders and self._orders[0] <= now - 60_000:
            self._orders.popleft()
        limit = self.settings.max_orders_per_minute
        if len(self._orders) >= limit:
            return (
                f"order rate limit: {len(self._orders)} orders in the last minute (max {limit}); "
                f"next allowed after {utc_iso(self._orders[0] + 60_000)}"
            )
        return None

    def record_order(self) -> None:
        self._orders.append(self.clock.now_ms())

    def open_positions_refusal(self, account: AccountState, symbol: str) -> str | None:
        held = account.open_symbols
        if symbol in held or len(held) < self.settings.max_open_positions:
            return None
        return (
            f"max open positions: {len(held)} open ({', '.join(sorted(held))}), "
            f"limit {self.settings.max_open_positions}"
        )

    def notional_headroom(self, account: AccountState, symbol: str, side: Side) -> dict[str, Decimal]:
        """Notional a new order on `side` may still add, per cap (name -> quote currency)."""
        equity = max(account.equity, ZERO)
        size = account.size(symbol)
        adds = size == 0 or (size > 0) == (side is Side.BUY)
        symbol_used = account.notional(symbol) if adds else ZERO
        return {
            "symbol exposure": equity * self._d["max_symbol_exposure"] - symbol_used,
            "total exposure": equity * self._d["max_total_exposure"] - account.notional(),
        }
