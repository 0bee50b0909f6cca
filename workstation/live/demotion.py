"""A demoted candidate stops trading on the live venue: its position is closed through the runner's
normal order path (a target of 0: a risk-reducing exit the risk engine allows at allocation 0),
then the trader stops (`stopped_by = "demoted"`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from workstation.data.arrays import CandleArrays
from workstation.graduation.watch import CandidateWatch
from workstation.live.feed import next_open
from workstation.paper.runner import StrategyRunner
from workstation.strategies.base import Signals, Strategy

Echo = Callable[[str], None]


@dataclass(frozen=True)
class Flat(Strategy):
    """Flat at every bar: what a demoted candidate's runner follows to close its position."""

    name = "flat"
    description = "No position."

    def compute(self, candles: CandleArrays) -> Signals:
        return Signals.from_target(np.zeros(len(candles)))


def new_demotion(watch: CandidateWatch, seen: int) -> str | None:
    """The first demotion the watch recorded after the first `seen` ones ("<from> -> <to>: <reason>")."""
    return watch.demotions[seen] if len(watch.demotions) > seen else None


async def close_demoted(
    runner: StrategyRunner, watch: CandidateWatch, demotion: str, history: CandleArrays, step_ms: int, echo: Echo
) -> None:
    """Say it, then act on a flat target at the open after the last closed bar (priced at its close)."""
    cand = watch.candidate
    who = f"#{cand.id} {cand.strategy_id}" if cand is not None else "candidate"
    echo(f"DEMOTED {who} {demotion}; closing its position and stopping")
    if not len(history):
        return
    runner.strategy = Flat()
    await runner.on_open(history, next_open(history, step_ms))
