"""A paper replay session for a composition root: `SYMBOL:INTERVAL[:STRATEGY]` from the candle store
through a strategy, the engine's OMS and the gated paper venue."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from workstation.backtest.costs import CostModel
from workstation.backtest.inputs import bind_inputs
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


@dataclass(frozen=True, slots=True)
class ReplaySpec:
    symbol: str
    interval: str
    strategy: str = DEFAULT_STRATEGY
    venue: str | None = None  # the data venue of the stored series; None: any that holds it

    @classmethod
    def parse(cls, text: str) -> ReplaySpec:
        parts = [p.strip() for p in text.split(":")]
        if len(parts) not in (2, 3) or not all(parts):
            raise ValueError(f"--replay wants SYMBOL:INTERVAL[:STRATEGY] (e.g. BTCUSDT:1m:sma_cross), got {text!r}")
        build(parts[2] if len(parts) == 3 else DEFAULT_STRATEGY)  # unknown names fail here, clearly
        return cls(parts[0].upper(), parts[1], *parts[2:])


def candle_store_path(home: Path) -> Path:
    return home / "candles.db"


def load_series(
    store: CandleStore, spec: ReplaySpec, start: int | None = None, end: int | None = None
) -> tuple[str, ReplayData]:
    """Find the stored series (any data venue); the bundled sample is imported if it is the one asked.
    `start`/`end`: open times in ms (end exclusive as the store reads it), None for all."""
    from workstation.data.sample import SAMPLE_INTERVAL, SAMPLE_SYMBOL, load_bundled_sample

    def find() -> str | None:
        for info in store.series():
            if info.symbol == spec.symbol and info.interval == spec.interval and spec.venue in (None, info.venue):
                return str(info.venue)
        return None

    venue = find()
    if venue is None and (spec.symbol, spec.interval) == (SAMPLE_SYMBOL, SAMPLE_INTERVAL):
        load_bundled_sample(store)
        venue = find()
    if venue is None:
        raise LookupError(f"no {spec.symbol} {spec.interval} candles in the store: download or import them first")
    return venue, load_replay(store, venue, spec.symbol, spec.interval, start, end)


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
            strategy = bind_inputs(store, build(spec.strategy), venue, spec.symbol, spec.interval, data.candles)
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
