"""USDT -> AUD for the balance totals, through the same rate source the risk growth plan uses
(risk.growth.rate). Without a usable rate the panel says why; it never shows 1:1."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from workstation.core.clock import SystemClock
from workstation.risk.growth import RateSource, RateUnavailable, rate_source
from workstation.settings.models import GrowthSettings, TickerRateSettings


def ccxt_ticker(cfg: TickerRateSettings) -> Callable[[], float]:
    """Public market data, no keys (blocking: the converter calls it from a thread)."""

    def fetch() -> float:
        import ccxt

        exchange = getattr(ccxt, cfg.exchange)({"enableRateLimit": True, "timeout": 10_000})
        return float(exchange.fetch_ticker(cfg.symbol)["last"])

    return fetch


@dataclass(frozen=True, slots=True)
class Conversion:
    currency: str
    value: Decimal | None  # None: no rate (see `note`)
    note: str  # the rate's source, or why there is none


class Converter:
    def __init__(self, settings: GrowthSettings, source: RateSource | None = None) -> None:
        self.currency = settings.currency
        self.account_currency = settings.account_currency
        self._source = source or rate_source(settings, ccxt_ticker)

    async def convert(self, amount: Decimal) -> Conversion:
        now = SystemClock().now_ms()
        try:
            rate = await asyncio.to_thread(self._source.rate, now)
        except RateUnavailable as exc:
            return Conversion(self.currency, None, str(exc))
        return Conversion(self.currency, amount * rate.value, f"rate {rate.value:.4f} ({rate.source})")
