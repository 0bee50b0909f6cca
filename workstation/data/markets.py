"""Which market an imported file belongs to, recorded on its instrument.

A file carries no tick size or quantity step, so an instrument made for it infers them from the
decimals the file uses: the tick size is the finest price step seen, the quantity step the finest
volume step. An instrument the store already has (e.g. from an exchange's instruments-info) keeps
its real sizes; only its category changes when the market says it is something else.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from enum import StrEnum

import numpy as np

from workstation.core.enums import Category
from workstation.core.types import Instrument
from workstation.data.arrays import CandleArrays
from workstation.data.store import CandleStore

CRYPTO_CATEGORIES = (Category.SPOT, Category.LINEAR, Category.INVERSE)
# longest first, so that FDUSD is not read as ...USD
QUOTES = ("FDUSD", "USDT", "USDC", "BUSD", "TUSD", "USD", "EUR", "GBP", "JPY", "AUD", "CAD", "CHF", "BTC", "ETH", "BNB")


class MarketKind(StrEnum):
    CRYPTO = "crypto"
    EQUITY = "equity"
    FX = "fx"
    COMMODITY = "commodity"
    BOND = "bond"

    @property
    def category(self) -> Category:
        return Category.SPOT if self is MarketKind.CRYPTO else Category(self.value)


def split_symbol(symbol: str) -> tuple[str, str]:
    """'BTCUSDT' -> ('BTC', 'USDT'), 'EUR/USD' -> ('EUR', 'USD'), 'AAPL' -> ('AAPL', 'USD')."""
    for sep in ("/", "-", "_"):
        if sep in symbol:
            base, quote = symbol.split(sep, 1)
            return base, quote.split(":")[0]
    upper = symbol.upper()
    for quote in QUOTES:
        if upper.endswith(quote) and len(upper) > len(quote):
            return symbol[: -len(quote)], symbol[-len(quote) :]
    return symbol, "USD"


def finest_step(values: np.ndarray, max_decimals: int = 10) -> Decimal:
    """The coarsest power of ten every finite value is a whole multiple of (at most 1e-max_decimals)."""
    finite = values[np.isfinite(values)]
    sample = finite[:: max(1, len(finite) // 20_000)]  # a spread-out sample is enough
    for decimals in range(max_decimals + 1):
        scaled = sample * 10.0**decimals
        if np.all(np.abs(scaled - np.round(scaled)) <= 1e-9 * np.maximum(1.0, np.abs(scaled))):
            return Decimal(1).scaleb(-decimals)
    return Decimal(1).scaleb(-max_decimals)


def record_market(store: CandleStore, venue: str, symbol: str, market: MarketKind, candles: CandleArrays) -> Instrument:
    """Create or update the instrument of an imported series so that it says which market it is."""
    existing = store.instrument(venue, symbol)
    if existing is not None:
        if market is MarketKind.CRYPTO and existing.category in CRYPTO_CATEGORIES:
            return existing
        if existing.category is market.category:
            return existing
        updated = dataclasses.replace(existing, category=market.category)
        store.upsert_instrument(updated)
        return updated
    prices = np.concatenate([candles.open, candles.high, candles.low, candles.close])
    qty = finest_step(candles.volume)
    base, quote = split_symbol(symbol)
    instrument = Instrument(
        venue=venue,
        symbol=symbol,
        category=market.category,
        base=base,
        quote=quote,
        tick_size=finest_step(prices),
        qty_step=qty,
        min_qty=qty,
    )
    store.upsert_instrument(instrument)
    return instrument
