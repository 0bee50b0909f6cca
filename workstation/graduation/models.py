"""Graduation domain: stages, candidates, the evidence behind them and measured performance."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from workstation.core.enums import Venue


class Stage(StrEnum):
    CANDIDATE = "CANDIDATE"
    PAPER = "PAPER"
    TESTNET = "TESTNET"
    LIVE = "LIVE"
    RETIRED = "RETIRED"

    @property
    def venue(self) -> Venue | None:
        """Where a strategy in this stage trades (None: nowhere)."""
        return _VENUE.get(self)

    @property
    def next(self) -> Stage | None:
        return _NEXT.get(self)

    @property
    def below(self) -> Stage | None:
        return _BELOW.get(self)


_VENUE = {Stage.PAPER: Venue.PAPER, Stage.TESTNET: Venue.BYBIT_TESTNET, Stage.LIVE: Venue.BYBIT_MAINNET}
_NEXT = {Stage.CANDIDATE: Stage.PAPER, Stage.PAPER: Stage.TESTNET, Stage.TESTNET: Stage.LIVE}
_BELOW = {Stage.PAPER: Stage.CANDIDATE, Stage.TESTNET: Stage.PAPER, Stage.LIVE: Stage.TESTNET}


def _finite(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


@dataclass(frozen=True, slots=True)
class Performance:
    """Results of a backtest or of a stage so far. Drawdown is a positive fraction (0.12 = 12 %).
    `mean_trade_return` is over the last Monte Carlo window of trades (None until there are that many)."""

    trades: int
    sharpe: float | None = None
    max_drawdown: float | None = None
    win_rate: float | None = None
    profit_factor: float | None = None
    mean_trade_return: float | None = None
    total_return: float | None = None
    slippage_bps: float | None = None  # realised, average against the expected price
    fill_ratio: float | None = None  # filled / submitted
    days: float | None = None  # the span the Sharpe is over, in days (None: a backtest's, long enough)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Performance:
        return cls(**{k: raw.get(k) for k in cls.__dataclass_fields__ if k in raw})  # type: ignore[arg-type]

    @classmethod
    def from_backtest_metrics(
        cls, metrics: Mapping[str, Any], *, mean_trade_return: float | None = None
    ) -> Performance:
        """From workstation.backtest.metrics.compute_metrics (its drawdown is negative)."""
        mdd = metrics.get("max_drawdown")
        return cls(
            trades=int(metrics.get("trade_count") or 0),
            sharpe=_finite(metrics.get("sharpe")),
            max_drawdown=None if mdd is None else abs(float(mdd)),
            win_rate=_finite(metrics.get("win_rate")),
            profit_factor=_finite(metrics.get("profit_factor")),
            mean_trade_return=mean_trade_return,
            total_return=_finite(metrics.get("total_return")),
        )

    @classmethod
    def measure(
        cls,
        daily_equity: Sequence[float],
        trade_returns: Sequence[float],
        *,
        window: int,
        slippage_bps: float | None = None,
        fill_ratio: float | None = None,
    ) -> Performance:
        """From a stage's daily equity (Sharpe annualised over 365 days, drawdown, total return) and its
        closed trades' returns (win rate, profit factor, mean of the last `window`)."""
        eq = [float(x) for x in daily_equity]
        rets = [eq[i] / eq[i - 1] - 1 for i in range(1, len(eq)) if eq[i - 1] > 0]
        sharpe = None
        if len(rets) > 1:
            mean = sum(rets) / len(rets)
            sd = math.sqrt(sum((r - mean) ** 2 for r in rets) / (len(rets) - 1))
            sharpe = mean / sd * math.sqrt(365) if sd > 0 else None
        peak, mdd = -math.inf, 0.0
        for x in eq:
            peak = max(peak, x)
            if peak > 0:
                mdd = max(mdd, 1 - x / peak)
        wins = [r for r in trade_returns if r > 0]
        losses = [-r for r in trade_returns if r < 0]
        n = len(trade_returns)
        return cls(
            trades=n,
            sharpe=_finite(sharpe),
            max_drawdown=mdd if eq else None,
            win_rate=len(wins) / n if n else None,
            profit_factor=sum(wins) / sum(losses) if losses else None,
            mean_trade_return=sum(trade_returns[-window:]) / window if n >= window else None,
            total_return=eq[-1] / eq[0] - 1 if len(eq) > 1 and eq[0] > 0 else None,
            slippage_bps=slippage_bps,
            fill_ratio=fill_ratio,
            days=float(max(len(eq) - 1, 0)),
        )


@dataclass(frozen=True, slots=True)
class Evidence:
    """What put a strategy in the queue: its backtest, walk-forward (out of sample) and Monte Carlo
    results. The MC band is for the mean trade return over `mc_window` trades (e.g. 5th-95th pct)."""

    backtest: Performance
    mc_band: tuple[float, float]
    mc_window: int
    walk_forward: Performance | None = None
    source: str = ""  # where it came from (report path, run id)

    def to_json(self) -> dict[str, Any]:
        return {
            "backtest": self.backtest.to_json(),
            "walk_forward": None if self.walk_forward is None else self.walk_forward.to_json(),
            "mc_band": list(self.mc_band),
            "mc_window": self.mc_window,
            "source": self.source,
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Evidence:
        low, high = raw["mc_band"]
        wf = raw.get("walk_forward")
        return cls(
            backtest=Performance.from_json(raw["backtest"]),
            walk_forward=None if wf is None else Performance.from_json(wf),
            mc_band=(float(low), float(high)),
            mc_window=int(raw["mc_window"]),
            source=str(raw.get("source", "")),
        )


@dataclass(frozen=True, slots=True)
class Candidate:
    id: int
    strategy: str
    params: dict[str, Any]
    symbol: str
    interval: str
    evidence: Evidence
    created_ms: int
    stage: Stage = Stage.CANDIDATE
    stage_since_ms: int = 0

    @property
    def strategy_id(self) -> str:
        """The id the risk engine and the monitor know this candidate's strategy by."""
        return f"{self.strategy}/{self.symbol}/{self.interval}#{self.id}"

    @property
    def venue(self) -> Venue | None:
        return self.stage.venue


@dataclass(frozen=True, slots=True)
class Transition:
    id: int
    candidate_id: int
    ts: int
    from_stage: Stage | None
    to_stage: Stage
    reason: str
    by: str
    metrics: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Evaluation:
    candidate_id: int
    ts: int
    stage: Stage
    met: bool  # every criterion to leave the stage is met
    shortfalls: tuple[str, ...]
    breaches: tuple[str, ...]  # hard limits broken: a demotion follows
    performance: Performance
    days_in_stage: float
