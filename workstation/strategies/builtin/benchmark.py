"""Buy and hold: the benchmark every strategy is measured against."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from workstation.data.arrays import CandleArrays
from workstation.strategies.base import Signals, Strategy


@dataclass(frozen=True)
class BuyAndHold(Strategy):
    name = "buy_and_hold"
    description = "Long from the first bar's close to the end."

    def compute(self, candles: CandleArrays) -> Signals:
        return Signals.from_target(np.ones(len(candles)))
