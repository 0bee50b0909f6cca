"""The settings schema. Every model is frozen and rejects unknown keys."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Literal

from pydantic import AnyUrl, BaseModel, BeforeValidator, ConfigDict, Field, HttpUrl, model_validator

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


class LiveSettings(_Frozen):
    """The live trader (`workstation trade --env testnet|demo|mainnet`)."""

    peer_wait_s: Annotated[float, BeforeValidator(_parse_duration), Field(ge=0, le=60)] = 5.0
    """After a bar closes, how long to wait for each peer's bar of the same time on the public stream
    before fetching it over REST (seconds; "5s" accepted; 0: straight to REST). The strategy acts on
    the bar only after this, so it stays well below the bar's interval."""


class TradingSettings(_Frozen):
    venue: Venue = Venue.PAPER
    allowed_venues: tuple[Venue, ...] = (Venue.PAPER, Venue.BYBIT_TESTNET, Venue.BYBIT_DEMO)
    symbols: tuple[str, ...] = ("BTCUSDT",)
    paper_balance: Annotated[float, Field(gt=0)] = 10_000.0
    """USDT in a fresh paper account."""
    live: LiveSettings = LiveSettings()

    @model_validator(mode="after")
    def _venue_allowed(self) -> TradingSettings:
        if self.venue not in self.allowed_venues:
            allowed = ", ".join(v.value for v in self.allowed_venues)
            raise ValueError(f"venue {self.venue.value!r} is not in trading.allowed_venues ({allowed})")
        return self


class RiskStep(_Frozen):
    """One rung of the balance-building schedule: risk this fraction while equity is below `below`."""

    below: Annotated[float, Field(gt=0)]
    risk: Fraction


class FixedRateSettings(_Frozen):
    """A rate typed in by hand, with the date it was read, so it can go stale."""

    kind: Literal["fixed"] = "fixed"
    rate: Annotated[float, Field(gt=0)]
    """Units of `growth.currency` per one unit of the account currency (e.g. AUD per USDT)."""
    as_of: date
    max_age_days: Annotated[int, Field(ge=1)] = 30


class TickerRateSettings(_Frozen):
    """A live rate from a ccxt exchange ticker (last price of `symbol`, e.g. USDT/AUD)."""

    kind: Literal["ccxt"] = "ccxt"
    exchange: str
    symbol: str
    invert: bool = False
    """True when the ticker is quoted the other way round (AUD/USDT)."""


class GrowthSettings(_Frozen):
    """Balance building: milestones in `currency`, with less risk per trade as equity grows."""

    enabled: bool = False
    """Off by default, like config/default.yaml: switched on with no `rate`, every entry would be
    refused (equity is never converted at an assumed 1:1). Set a rate, then enable it."""
    currency: str = "AUD"
    account_currency: str = "USDT"
    schedule: tuple[RiskStep, ...] = (
        RiskStep(below=10_000, risk=0.01),
        RiskStep(below=25_000, risk=0.0075),
        RiskStep(below=50_000, risk=0.005),
        RiskStep(below=100_000, risk=0.004),
    )
    risk_above: Fraction = 0.0025
    """Risk per trade once equity is past the last milestone."""
    rate: FixedRateSettings | TickerRateSettings | None = Field(default=None, discriminator="kind")
    """How account equity becomes `currency`. None: sizing is refused (never assumed 1:1)."""

    @model_validator(mode="after")
    def _ascending(self) -> GrowthSettings:
        limits = [step.below for step in self.schedule]
        if limits != sorted(set(limits)):
            raise ValueError("growth.schedule milestones must be strictly ascending")
        return self


class MonitorSettings(_Frozen):
    """Live strategies against their backtest's Monte Carlo band."""

    window_trades: Annotated[int, Field(ge=2)] = 20
    cut_allocation_to: Fraction = 0.5
    demote_after_breaches: Annotated[int, Field(ge=1)] = 2
    """Consecutive rolling windows below the band before a demotion is requested."""


class RiskSettings(_Frozen):
    max_risk_per_trade: Fraction = 0.01
    daily_loss_limit: Fraction = 0.03
    max_drawdown: Fraction = 0.15
    max_leverage: Annotated[float, Field(ge=1, le=100)] = 3.0
    max_open_positions: Annotated[int, Field(ge=1)] = 3
    max_symbol_exposure: Annotated[float, Field(gt=0, le=100)] = 1.5
    """Notional per symbol as a multiple of equity."""
    max_total_exposure: Annotated[float, Field(gt=0, le=100)] = 3.0
    """Notional over all symbols as a multiple of equity."""
    max_orders_per_minute: Annotated[int, Field(ge=1)] = 10
    size_taper_start: Fraction = 0.5
    """Once this much of the daily-loss or drawdown budget is used, new orders shrink linearly."""
    reducing_at: Fraction = 0.8
    """Once this much of a budget is used, the state is REDUCING (only risk-reducing orders)."""
    target_volatility: Annotated[float, Field(gt=0, le=10)] = 0.5
    """Annualised volatility the leverage aims for: leverage = target / realised, capped."""
    growth: GrowthSettings = GrowthSettings()
    monitor: MonitorSettings = MonitorSettings()

    @model_validator(mode="after")
    def _taper_before_reducing(self) -> RiskSettings:
        if self.size_taper_start > self.reducing_at:
            raise ValueError("risk.size_taper_start must not be above risk.reducing_at")
        return self


class StageCriteria(_Frozen):
    """What a strategy must show to leave a stage (and the hard limits whose breach demotes it)."""

    min_days: Annotated[float, Field(ge=0)] = 0
    min_trades: Annotated[int, Field(ge=0)] = 0
    min_sharpe: float | None = None
    min_sharpe_days: Annotated[float, Field(ge=0)] = 7
    """A measured Sharpe counts only over at least this many days (a shorter one fails min_sharpe)."""
    max_drawdown: Fraction | None = None
    min_win_rate: Fraction | None = None
    min_profit_factor: Annotated[float, Field(gt=0)] | None = None
    """With min_win_rate: meeting either one is enough."""
    require_mc_band: bool = True
    """Mean trade return over the last window must lie inside the backtest's Monte Carlo band."""
    max_slippage_bps: Annotated[float, Field(ge=0)] | None = None
    min_fill_ratio: Fraction | None = None


class GraduationSettings(_Frozen):
    """Criteria per stage, named by the stage a strategy is leaving."""

    candidate: StageCriteria = StageCriteria(
        min_trades=100, min_sharpe=1.0, max_drawdown=0.25, min_profit_factor=1.2, require_mc_band=False
    )
    paper: StageCriteria = StageCriteria(
        min_days=14,
        min_trades=20,
        min_sharpe=0.5,
        max_drawdown=0.15,
        min_profit_factor=1.1,
        max_slippage_bps=10,
        min_fill_ratio=0.9,
    )
    testnet: StageCriteria = StageCriteria(
        min_days=14,
        min_trades=20,
        min_sharpe=0.5,
        max_drawdown=0.15,
        min_profit_factor=1.1,
        max_slippage_bps=10,
        min_fill_ratio=0.9,
    )
    live: StageCriteria = StageCriteria(max_drawdown=0.15, max_slippage_bps=20, min_fill_ratio=0.8)
    """While LIVE only the hard limits apply: a breach demotes to TESTNET."""


class BybitSettings(_Frozen):
    base_url: HttpUrl | None = None
    """Overrides the venue's host (tests point it at a local fake exchange)."""
    stream_url: AnyUrl | None = None
    """Overrides the private WebSocket URL (wss://...; tests use a local ws:// server)."""
    public_stream_url: AnyUrl | None = None
    """Overrides the public WebSocket URL (kline/ticker) a live strategy follows (tests: a local ws://)."""
    recv_window_ms: Annotated[int, Field(ge=1000, le=60000)] = 5000
    timeout_s: Annotated[float, Field(gt=0, le=120)] = 10.0


class ExchangesSettings(_Frozen):
    bybit: BybitSettings = BybitSettings()


_HISTORY = re.compile(r"^\s*(\d+)\s*(d|w|y)\s*$")
_HISTORY_DAYS = {"d": 1, "w": 7, "y": 365}
_INTERVAL = re.compile(r"^\d+[mhdw]$")


def _parse_history(value: object) -> object:
    """Accept 90 (days), "90d", "12w", "3y" and return days as int."""
    if isinstance(value, str):
        match = _HISTORY.match(value)
        if not match:
            raise ValueError('expected a history length such as "90d", "12w" or "3y"')
        return int(match.group(1)) * _HISTORY_DAYS[match.group(2)]
    return value


HistoryDays = Annotated[int, BeforeValidator(_parse_history), Field(gt=0)]


class UniverseEntry(_Frozen):
    """One symbol that `data sync` (and the engine's daily sync) keeps downloaded."""

    symbol: str
    intervals: tuple[str, ...] = ("1m", "5m", "15m", "1h", "4h", "1d")
    source: str = "bybit"
    """bybit or ccxt:EXCHANGE."""
    category: str | None = None
    """spot, linear or inverse; None: linear on bybit, spot elsewhere."""
    history: HistoryDays = 3 * 365
    """How far back from now to keep (days; "90d", "12w", "3y" accepted)."""

    @model_validator(mode="before")
    @classmethod
    def _one_interval(cls, data: object) -> object:
        if isinstance(data, dict) and "interval" in data:
            data = dict(data)
            if "intervals" in data:
                raise ValueError("give interval or intervals, not both")
            data["intervals"] = [data.pop("interval")]
        return data

    @model_validator(mode="after")
    def _valid(self) -> UniverseEntry:
        bad = [i for i in self.intervals if not _INTERVAL.match(i)]
        if bad or not self.intervals:
            raise ValueError(f"intervals must be like 1m, 5m, 1h, 4h, 1d, 1w (got {list(self.intervals)})")
        if self.source != "bybit" and not (self.source.startswith("ccxt:") and len(self.source) > 5):
            raise ValueError(f"source {self.source!r} is not bybit or ccxt:EXCHANGE")
        return self


class DataSettings(_Frozen):
    universe: tuple[UniverseEntry, ...] = (UniverseEntry(symbol="BTCUSDT"), UniverseEntry(symbol="ETHUSDT"))
    sync_every: DurationSeconds = 86400.0
    """How often the running engine tops up the universe ("1d", "12h", ...)."""


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
    data: DataSettings = DataSettings()
    logging: LoggingSettings = LoggingSettings()
    graduation: GraduationSettings = GraduationSettings()
