"""The backtest lab's inputs: parameter widgets from a strategy's declared specs, default sweep
grids over their ranges, and how metrics are shown."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QAbstractSpinBox, QDoubleSpinBox, QSpinBox

from workstation.strategies.base import ParamSpec

PCT = {"total_return", "cagr", "max_drawdown", "win_rate", "exposure", "volatility", "average_trade_return"}
SHOWN = (
    ("total_return", "Total return"),
    ("cagr", "CAGR"),
    ("sharpe", "Sharpe"),
    ("sortino", "Sortino"),
    ("max_drawdown", "Max drawdown"),
    ("calmar", "Calmar"),
    ("trade_count", "Trades"),
    ("win_rate", "Win rate"),
    ("profit_factor", "Profit factor"),
    ("exposure", "Exposure"),
    ("fees_paid", "Fees paid"),
    ("final_equity", "Final equity"),
)


def fmt_metric(key: str, value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.2%}" if key in PCT else f"{value:,.3f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def default_grid(spec: ParamSpec, points: int = 6) -> str:
    """`name=low:high:step` over the declared range, about `points` values."""
    step = (spec.high - spec.low) / (points - 1)
    step = max(spec.step, round(step / spec.step) * spec.step)
    if spec.type is int:
        return f"{spec.name}={int(spec.low)}:{int(spec.low + step * (points - 1))}:{int(step)}"
    return f"{spec.name}={spec.low:g}:{spec.low + step * (points - 1):g}:{step:g}"


def param_widget(spec: ParamSpec) -> QAbstractSpinBox:
    """A spin box bounded and stepped as the strategy declares the parameter."""
    if spec.type is int:
        box: QAbstractSpinBox = QSpinBox()
        box.setRange(int(spec.low), int(spec.high))
        box.setSingleStep(max(1, int(spec.step)))
        box.setValue(int(spec.default))
    else:
        box = QDoubleSpinBox()
        decimals = max(2, len(f"{spec.step:g}".partition(".")[2]))
        box.setDecimals(decimals)
        box.setRange(float(spec.low), float(spec.high))
        box.setSingleStep(float(spec.step))
        box.setValue(float(spec.default))
    box.setToolTip(spec.help or spec.name)
    box.setObjectName(f"param_{spec.name}")
    return box
