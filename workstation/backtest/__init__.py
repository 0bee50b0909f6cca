"""Backtests: fill and cost rules (fills, costs), the compiled simulator, metrics and sweeps."""

from workstation.backtest.costs import CostModel, Sizer, funding_per_bar
from workstation.backtest.simulator import SimResult, simulate

__all__ = ["CostModel", "SimResult", "Sizer", "funding_per_bar", "simulate"]
