"""A paper replay session for a composition root: `SYMBOL:INTERVAL[:STRATEGY[:NAME=VALUE,...]]` from
the candle store through a strategy (with those parameters), the engine's OMS and the gated paper venue."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from workstation.backtest.costs import CostModel
from workstation.backtest.inputs import bind_inputs
from workstation.backtest.runner import load_market
from workstation.data.intervals import interval_ms
from workstation.data.store import CandleStore
from workstation.engine.kernel import EngineKernel
from workstation.exchanges.simulated.client import PaperExecutionClient
from workstation.paper.guard import GatedTradingStop
from workstation.paper.replay import ReplayData, load_replay, replay
from workstation.paper.risk_path import RiskPath
from workstation.paper.runner import StrategyRunner
from workstation.safety.gate import GuardedExecutionClient, SafetyGate
from workstation.strategies.base import Strategy
from workstation.strategies.builtin import build

log = logging.getLogger(__name__)
DEFAULT_STRATEGY = "sma_cross"
# Strategy parameters are numbers, so ':' separates the fields and ',' the parameters unambiguously.
SPEC_FORMAT = "SYMBOL:INTERVAL[:STRATEGY[:NAME=VALUE,NAME=VALUE...]]"
SPEC_HELP = (
    f"{SPEC_FORMAT}, e.g. BTCUSDT:1m:sma_cross:fast=5,slow=20 or ETHUSDT:1h:ml_classifier:features=2,peer=1 "
    "(parameters not given keep their defaults; values are numbers)"
)


@dataclass(frozen=True, slots=True)
class ReplaySpec:
    symbol: str
    interval: str
    strategy: str = DEFAULT_STRATEGY
    venue: str | None = None  # the data venue of the stored series; None: any that holds it
    params: tuple[tuple[str, Any], ...] = ()  # (name, typed value) the strategy is built with

    @classmethod
    def parse(cls, text: str) -> ReplaySpec:
        """`SPEC_FORMAT`; the strategy is built from it, so an unknown strategy or parameter, or a value
        of the wrong type or out of range, raises ValueError naming it and what was expected."""
        parts = [p.strip() for p in text.split(":", 3)]
        if len(parts) < 2 or not all(parts):
            raise ValueError(f"--replay wants {SPEC_FORMAT} (e.g. BTCUSDT:1m:sma_cross:fast=5,slow=20), got {text!r}")
        name = parts[2] if len(parts) > 2 else DEFAULT_STRATEGY
        params = parse_params(name, parts[3] if len(parts) > 3 else "")
        return cls(parts[0].upper(), parts[1], name, params=params)

    def build(self) -> Strategy:
        """The strategy this replay trades, with its parameters (unbound: see run_replay)."""
        return build(self.strategy, dict(self.params))

    def __str__(self) -> str:
        text = f"{self.symbol}:{self.interval}:{self.strategy}"
        return text + (":" + ",".join(f"{k}={v}" for k, v in self.params) if self.params else "")


def parse_params(strategy: str, text: str) -> tuple[tuple[str, Any], ...]:
    """`name=value,name=value` (or "") for `strategy`, checked by building it: (name, typed value) pairs."""
    from workstation.strategies.builtin import get

    try:
        cls = get(strategy)
    except KeyError as exc:
        raise ValueError(str(exc.args[0])) from None
    specs = {s.name: s for s in cls.params()}
    values: dict[str, Any] = {}
    for item in text.split(",") if text.strip() else ():
        key, sep, raw = (x.strip() for x in item.partition("="))
        if not sep or not key or not raw:
            raise ValueError(f"{strategy} parameter {item.strip()!r} is not NAME=VALUE (in {SPEC_FORMAT})")
        spec = specs.get(key)
        if spec is None:
            raise ValueError(f"{strategy} has no parameter {key!r} (it has {', '.join(specs) or 'none'})")
        if key in values:
            raise ValueError(f"{strategy} parameter {key!r} is given twice")
        expected = f"{'an integer' if spec.type is int else 'a number'} in {spec.low:g}..{spec.high:g}"
        try:
            values[key] = spec.parse(raw)
        except ValueError:
            raise ValueError(f"{strategy} parameter {key}={raw!r}: expected {expected}") from None
    try:
        strategy_obj = cls.create(values)
    except ValueError as exc:  # the parameters are inconsistent with each other (Strategy.check)
        raise ValueError(f"{strategy} parameters {text!r}: {exc}") from None
    return tuple((k, getattr(strategy_obj, k)) for k in values)


def candle_store_path(home: Path) -> Path:
    return home / "candles.db"


def load_series(
    store: CandleStore, spec: ReplaySpec, start: int | None = None, end: int | None = None
) -> tuple[str, ReplayData]:
    """Find the series (any data venue): stored at `spec.interval`, else built from the finest stored
    interval that divides it, exactly as a backtest builds it (backtest.runner.load_market); the
    bundled sample is imported when it is the one asked, or the one it can be built from.
    `start`/`end`: open times in ms (end exclusive as the store reads it), None for all."""
    from workstation.data.sample import SAMPLE_INTERVAL, SAMPLE_SYMBOL, load_bundled_sample

    step = interval_ms(spec.interval)

    def find(exact: bool) -> str | None:
        for info in store.series():
            if info.symbol != spec.symbol or info.kind != "trade" or spec.venue not in (None, info.venue):
                continue
            if info.interval == spec.interval or (not exact and step % interval_ms(info.interval) == 0):
                return str(info.venue)
        return None

    if find(exact=False) is None and spec.symbol == SAMPLE_SYMBOL and step % interval_ms(SAMPLE_INTERVAL) == 0:
        load_bundled_sample(store)
    venue = find(exact=True)
    if venue is not None:
        return venue, load_replay(store, venue, spec.symbol, spec.interval, start, end)
    venue = find(exact=False)
    if venue is None:
        raise LookupError(f"no {spec.symbol} {spec.interval} candles in the store: download or import them first")
    # gaps are replayed as they are, like a stored series (the paper venue sees the bars that exist)
    market = load_market(store, spec.symbol, spec.interval, venue=venue, start=start, end=end, allow_gaps=True)
    return venue, ReplayData(market.candles, market.funding, market.resampled_from)


async def run_replay(
    kernel: EngineKernel,
    paper: PaperExecutionClient,
    gate: SafetyGate,
    spec: ReplaySpec,
    store_path: Path,
    *,
    cost: CostModel | None = None,
    bars_per_second: float = 0.0,
    risk: RiskPath | None = None,
    resume: bool = False,
) -> int:
    """Replay the series through `spec.strategy`; returns the bars fed. `risk`: through that risk
    engine (see paper.risk_path.build_risk_path), else sized like the backtest. `resume`: a restored
    (journalled) venue goes on after the last candle it finished (see paper.replay.replay)."""

    def load() -> tuple[str, ReplayData, Strategy]:
        with CandleStore.open(store_path) as store:
            venue, data = load_series(store, spec)
            # the series it declares (funding, peer candles) from the same store, as the backtest binds them
            strategy = bind_inputs(store, spec.build(), venue, spec.symbol, spec.interval, data.candles)
            return venue, data, strategy

    venue, data, strategy = await asyncio.to_thread(load)
    runner = StrategyRunner(
        kernel,
        strategy,
        spec.symbol,
        cost or paper.account.cost,
        window=max(1000, 10 * strategy.warmup),
        trading_stop=GatedTradingStop(gate, cast(GuardedExecutionClient, kernel.client), paper),
        risk=risk,
    )
    log.info(
        "paper replay: %s %s from %s, %d candles, %s",
        spec.symbol,
        spec.interval,
        venue,
        len(data.candles),
        strategy.label(),
    )
    return await replay(paper, spec.symbol, data, runner, bars_per_second=bars_per_second, resume=resume)
