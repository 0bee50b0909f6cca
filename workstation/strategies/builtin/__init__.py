"""The built-in strategies and the registry by name."""

from __future__ import annotations

from typing import Any

from workstation.strategies.base import Strategy
from workstation.strategies.builtin.benchmark import BuyAndHold
from workstation.strategies.builtin.ml import MlClassifier
from workstation.strategies.builtin.reversion import BollingerReversion, RsiReversion
from workstation.strategies.builtin.trend import DonchianBreakout, EmaCross, SmaCross

REGISTRY: dict[str, type[Strategy]] = {
    cls.name: cls
    for cls in (SmaCross, EmaCross, DonchianBreakout, RsiReversion, BollingerReversion, BuyAndHold, MlClassifier)
}


def register(cls: type[Strategy]) -> type[Strategy]:
    """Add a strategy class to the registry (usable as a decorator)."""
    if not cls.name:
        raise ValueError(f"{cls.__name__} has no name")
    REGISTRY[cls.name] = cls
    return cls


def get(name: str) -> type[Strategy]:
    try:
        return REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown strategy {name!r}; known: {', '.join(sorted(REGISTRY))}") from None


def build(name: str, values: dict[str, Any] | None = None) -> Strategy:
    return get(name).create(values)


__all__ = [
    "REGISTRY",
    "BollingerReversion",
    "BuyAndHold",
    "DonchianBreakout",
    "EmaCross",
    "MlClassifier",
    "RsiReversion",
    "SmaCross",
    "build",
    "get",
    "register",
]
