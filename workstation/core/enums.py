"""Enumerations of the domain. String values are what config files and the ledger store."""

from __future__ import annotations

from enum import StrEnum


class Venue(StrEnum):
    """Where orders go. PAPER never touches a network or a key."""

    PAPER = "paper"
    BYBIT_TESTNET = "bybit-testnet"
    BYBIT_DEMO = "bybit-demo"
    BYBIT_MAINNET = "bybit-mainnet"

    @property
    def is_real_money(self) -> bool:
        return self is Venue.BYBIT_MAINNET

    @property
    def needs_keys(self) -> bool:
        return self is not Venue.PAPER

    @property
    def exchange(self) -> str:
        """The exchange family ('paper', 'bybit')."""
        return self.value.split("-", 1)[0]


class Side(StrEnum):
    BUY = "Buy"
    SELL = "Sell"


class OrderType(StrEnum):
    MARKET = "Market"
    LIMIT = "Limit"
    STOP = "Stop"


class TimeInForce(StrEnum):
    GTC = "GTC"
    IOC = "IOC"
    FOK = "FOK"
    POST_ONLY = "PostOnly"


class OrderStatus(StrEnum):
    PENDING = "Pending"  # written to the ledger, not yet acknowledged
    NEW = "New"
    PARTIALLY_FILLED = "PartiallyFilled"
    FILLED = "Filled"
    CANCELLED = "Cancelled"
    REJECTED = "Rejected"
    DENIED = "Denied"  # stopped before it left the process (safety gate or risk)


class Category(StrEnum):
    SPOT = "spot"
    LINEAR = "linear"
    INVERSE = "inverse"
    EQUITY = "equity"
    FX = "fx"
    COMMODITY = "commodity"
    BOND = "bond"


class TradingState(StrEnum):
    """The risk engine's trading state (nautilus_trader's vocabulary)."""

    ACTIVE = "ACTIVE"
    REDUCING = "REDUCING"
    HALTED = "HALTED"


class Environment(StrEnum):
    DEVELOPMENT = "development"
    STAGING = "staging"
    PRODUCTION = "production"
