"""Balance building: milestones (10K -> 25K -> 50K -> 100K AUD by default) with less risk per trade
as equity grows. Equity is converted to the milestone currency through a configured rate source;
without a usable rate, sizing is refused. The rate is never assumed to be 1."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from workstation.core.clock import utc_iso
from workstation.core.errors import WorkstationError
from workstation.risk import fmt
from workstation.settings.models import FixedRateSettings, GrowthSettings, TickerRateSettings

log = logging.getLogger(__name__)
DAY_MS = 86_400_000


class RateUnavailable(WorkstationError):
    """No usable conversion rate: sizing must stop rather than guess."""


@dataclass(frozen=True, slots=True)
class Rate:
    value: Decimal  # units of the milestone currency per unit of the account currency
    source: str
    as_of_ms: int


class RateSource(Protocol):
    def rate(self, now_ms: int) -> Rate: ...


class NoRate:
    def __init__(self, account_currency: str, currency: str) -> None:
        self._pair = f"{account_currency} to {currency}"

    def rate(self, now_ms: int) -> Rate:
        raise RateUnavailable(
            f"no {self._pair} rate is configured (risk.growth.rate): set a fixed rate with its date "
            "or a ccxt ticker; equity is never assumed to be 1:1"
        )


class SameCurrency:
    def rate(self, now_ms: int) -> Rate:
        return Rate(Decimal(1), "same currency", now_ms)


class FixedRate:
    """A rate typed in by hand. It goes stale after `max_age_days`: an old rate refuses to size."""

    def __init__(self, value: Decimal, as_of: dt.date, max_age_days: int, pair: str) -> None:
        self._value = value
        self._as_of_ms = int(dt.datetime.combine(as_of, dt.time(), tzinfo=dt.UTC).timestamp() * 1000)
        self._max_age_ms = max_age_days * DAY_MS
        self._pair = pair

    def rate(self, now_ms: int) -> Rate:
        age_ms = now_ms - self._as_of_ms
        if age_ms > self._max_age_ms:
            raise RateUnavailable(
                f"the fixed {self._pair} rate {fmt.num(self._value)} of {utc_iso(self._as_of_ms)[:10]} is "
                f"{age_ms // DAY_MS} days old (max {self._max_age_ms // DAY_MS}): update risk.growth.rate"
            )
        return Rate(self._value, f"fixed {self._pair} rate of {utc_iso(self._as_of_ms)[:10]}", self._as_of_ms)


class TickerRate:
    """The last price of a ticker, fetched by `fetch_last` (the composition root builds it with
    ccxt). Any failure becomes RateUnavailable; the last good value is reused for `ttl_ms`."""

    def __init__(self, fetch_last: Callable[[], float], source: str, *, invert: bool = False, ttl_ms: int = 60_000):
        self._fetch = fetch_last
        self._source = source
        self._invert = invert
        self._ttl_ms = ttl_ms
        self._cached: Rate | None = None

    def rate(self, now_ms: int) -> Rate:
        if self._cached is not None and now_ms - self._cached.as_of_ms <= self._ttl_ms:
            return self._cached
        try:
            last = Decimal(str(self._fetch()))
        except Exception as exc:  # network, exchange or parse errors: all mean "no rate"
            raise RateUnavailable(f"{self._source}: could not read the rate ({exc})") from exc
        if not last.is_finite() or last <= 0:
            raise RateUnavailable(f"{self._source}: unusable price {fmt.num(last)}")
        value = 1 / last if self._invert else last
        self._cached = Rate(value, self._source, now_ms)
        return self._cached


TickerFactory = Callable[[TickerRateSettings], Callable[[], float]]


def rate_source(settings: GrowthSettings, ticker_factory: TickerFactory | None = None) -> RateSource:
    """The configured rate source. A ccxt ticker needs `ticker_factory` from the composition root."""
    pair = f"{settings.account_currency}->{settings.currency}"
    if settings.account_currency.upper() == settings.currency.upper():
        return SameCurrency()
    cfg = settings.rate
    if cfg is None:
        return NoRate(settings.account_currency, settings.currency)
    if isinstance(cfg, FixedRateSettings):
        return FixedRate(Decimal(str(cfg.rate)), cfg.as_of, cfg.max_age_days, pair)
    if ticker_factory is None:
        return _Unreachable(f"{cfg.exchange} {cfg.symbol} ticker is configured but no ticker reader was provided")
    return TickerRate(ticker_factory(cfg), f"{cfg.exchange} {cfg.symbol} ticker", invert=cfg.invert)


class _Unreachable:
    def __init__(self, reason: str) -> None:
        self._reason = reason

    def rate(self, now_ms: int) -> Rate:
        raise RateUnavailable(self._reason)


@dataclass(frozen=True, slots=True)
class GrowthStatus:
    equity: Decimal  # account currency
    equity_converted: Decimal  # milestone currency
    currency: str
    rate: Rate
    risk_fraction: Decimal  # from the schedule (before the max_risk_per_trade cap)
    previous_milestone: Decimal
    next_milestone: Decimal | None  # None once past the last
    progress: Decimal  # 0..1 of the way from the previous milestone to the next

    def describe(self) -> str:
        where = (
            f"next milestone {fmt.money(self.next_milestone)} {self.currency} ({fmt.pct(self.progress)} of the way)"
            if self.next_milestone is not None
            else "past the last milestone"
        )
        return (
            f"equity {fmt.money(self.equity_converted)} {self.currency} (rate {fmt.num(self.rate.value)} from "
            f"{self.rate.source}); {where}; risk per trade {fmt.pct(self.risk_fraction)}"
        )


class GrowthPlan:
    def __init__(self, settings: GrowthSettings, rates: RateSource) -> None:
        self.settings = settings
        self.rates = rates
        self._steps = [(Decimal(str(s.below)), Decimal(str(s.risk))) for s in settings.schedule]
        self._above = Decimal(str(settings.risk_above))

    def risk_for(self, equity_converted: Decimal) -> Decimal:
        for below, risk in self._steps:
            if equity_converted < below:
                return risk
        return self._above

    def status(self, equity: Decimal, now_ms: int) -> GrowthStatus:
        """Raises RateUnavailable when the equity cannot be converted."""
        rate = self.rates.rate(now_ms)
        converted = equity * rate.value
        previous, upcoming = Decimal(0), None
        for below, _ in self._steps:
            if converted < below:
                upcoming = below
                break
            previous = below
        progress = Decimal(1)
        if upcoming is not None:
            progress = max(Decimal(0), (converted - previous) / (upcoming - previous))
        return GrowthStatus(
            equity=equity,
            equity_converted=converted,
            currency=self.settings.currency,
            rate=rate,
            risk_fraction=self.risk_for(converted),
            previous_milestone=previous,
            next_milestone=upcoming,
            progress=progress,
        )
