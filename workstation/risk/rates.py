"""The ccxt ticker reader behind `risk.growth.rate: {kind: ccxt, ...}` (public market data, no keys)."""

from __future__ import annotations

from collections.abc import Callable

from workstation.settings.models import TickerRateSettings


def ccxt_ticker(cfg: TickerRateSettings) -> Callable[[], float]:
    """A function returning the last price of `cfg.symbol` on `cfg.exchange`."""

    def fetch() -> float:
        import ccxt

        exchange = getattr(ccxt, cfg.exchange)({"enableRateLimit": True, "timeout": 10_000})
        return float(exchange.fetch_ticker(cfg.symbol)["last"])

    return fetch
