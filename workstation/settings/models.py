"""The settings schema. Every model is frozen and rejects unknown keys."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, HttpUrl, model_validator

from workstation.core.enums import Environment, Venue

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)?\s*$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}


def _parse_duration(value: object) -> object:
    """Accept 3600, 90.5, "90s", "30m", "1h", "2d" and return seconds as float."""
    if isinstance(value, bool):
        return value  # let pydantic reject it with its own message
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        match = _DURATION.match(value)
        if match:
            return float(match.group(1)) * _UNIT_S[match.group(2)]
        raise ValueError('expected a duration such as 3600, "90s", "30m" or "1h"')
    return value


DurationSeconds = Annotated[float, BeforeValidator(_parse_duration), Field(gt=0)]
Fraction = Annotated[float, Field(gt=0, le=1)]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)


class SafetySettings(_Frozen):
    debug_session_max: DurationSeconds = 3600.0
    """A debug session ends itself after this long (seconds; "1h" accepted)."""
    refuse_withdraw_keys: bool = True
    max_clock_skew_ms: Annotated[int, Field(gt=0)] = 1000
    min_free_disk_mb: Annotated[int, Field(ge=0)] = 500
    min_free_memory_mb: Annotated[int, Field(ge=0)] = 512


class TradingSettings(_Frozen):
    venue: Venue = Venue.PAPER
    allowed_venues: tuple[Venue, ...] = (Venue.PAPER, Venue.BYBIT_TESTNET, Venue.BYBIT_DEMO)
    symbols: tuple[str, ...] = ("BTCUSDT",)

    @model_validator(mode="after")
    def _venue_allowed(self) -> TradingSettings:
        if self.venue not in self.allowed_venues:
            allowed = ", ".join(v.value for v in self.allowed_venues)
            raise ValueError(f"venue {self.venue.value!r} is not in trading.allowed_venues ({allowed})")
        return self


class RiskSettings(_Frozen):
    max_risk_per_trade: Fraction = 0.01
    daily_loss_limit: Fraction = 0.03
    max_drawdown: Fraction = 0.15
    max_leverage: Annotated[float, Field(ge=1, le=100)] = 3.0
    max_open_positions: Annotated[int, Field(ge=1)] = 3


class BybitSettings(_Frozen):
    base_url: HttpUrl | None = None
    """Overrides the venue's host (tests point it at a local fake exchange)."""
    recv_window_ms: Annotated[int, Field(ge=1000, le=60000)] = 5000
    timeout_s: Annotated[float, Field(gt=0, le=120)] = 10.0


class ExchangesSettings(_Frozen):
    bybit: BybitSettings = BybitSettings()


class LoggingSettings(_Frozen):
    level: LogLevel = "INFO"
    modules: dict[str, LogLevel] = Field(default_factory=dict)
    max_bytes: Annotated[int, Field(ge=10_000)] = 5_000_000
    backups: Annotated[int, Field(ge=1, le=100)] = 10


class Settings(_Frozen):
    debug_mode: bool = True
    """The master switch: while true every order path is blocked at the SafetyGate."""
    environment: Environment = Environment.DEVELOPMENT
    profile: str | None = "private_use"
    safety: SafetySettings = SafetySettings()
    trading: TradingSettings = TradingSettings()
    risk: RiskSettings = RiskSettings()
    exchanges: ExchangesSettings = ExchangesSettings()
    logging: LoggingSettings = LoggingSettings()
