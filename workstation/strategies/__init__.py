"""Strategies: the protocol (base.py), causal indicators and the built-in strategies."""

from workstation.strategies.base import OrderKind, ParamSpec, Signals, Strategy, StrategyError, param, signals

__all__ = ["OrderKind", "ParamSpec", "Signals", "Strategy", "StrategyError", "param", "signals"]
