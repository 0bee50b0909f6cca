"""The Strategy protocol shared by backtests and live trading.

A strategy is a frozen dataclass of typed parameters (each declared with `param(...)`, giving a
default and an inclusive range with a step, so sweep grids and GUI widgets can be generated) and a
`compute(candles) -> Signals` method that works on whole arrays. Row t of the signals may use
candles[: t + 1] only (the close of bar t is known); the simulator acts on row t at bar t + 1.
Live, the same method runs on the latest window and the last row is the current intent.

Extra inputs: a strategy may declare, in `inputs()`, series beyond its own candles (the funding
history of its symbol, a peer symbol's candles). Whoever loads its candles (the backtest, discovery,
the paper replay) loads those too and calls `bind(StrategyInputs(...))`; `compute` then reads them
with `bound_inputs()` and aligns them causally by timestamp (as-of the close of each of its bars),
so the same bound strategy gives the same signals over the whole history or over any later window.
Rule strategies declare none and are untouched.

Never call `compute` directly from an engine: `signals(strategy, candles)` validates the result and
turns any exception into a `StrategyError` naming the strategy and the first bar that fails.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any, ClassVar, Self, cast

import numpy as np

from workstation.core.errors import WorkstationError
from workstation.data.arrays import CandleArrays


class OrderKind(IntEnum):
    """How an entry is placed. Exits and reductions are always market orders."""

    MARKET = 0
    LIMIT = 1  # buy at or below / sell at or above `entry_price`
    STOP = 2  # buy at or above / sell at or below `entry_price`


class StrategyError(WorkstationError):
    """A strategy raised or returned invalid signals. Engines report it and carry on."""

    def __init__(self, strategy: str, bar_ts: int | None, message: str) -> None:
        self.strategy = strategy
        self.bar_ts = bar_ts
        self.message = message
        when = "-" if bar_ts is None else dt.datetime.fromtimestamp(bar_ts / 1000, tz=dt.UTC).isoformat()
        super().__init__(f"strategy {strategy!r} failed at bar {when}: {message}")


@dataclass(frozen=True, slots=True, eq=False)
class Signals:
    """Per-bar intent computed at each bar's close.

    target: wanted position as a fraction of the sizing budget, in [-1, 1] (0 = flat).
    order_kind / entry_price: how a new or larger position is entered (NaN price for market).
    stop_loss / take_profit: absolute price levels for the open position (NaN = none); the latest
    non-NaN level replaces the previous one, so trailing stops are just moving levels.
    """

    target: np.ndarray
    order_kind: np.ndarray
    entry_price: np.ndarray
    stop_loss: np.ndarray
    take_profit: np.ndarray

    @classmethod
    def from_target(
        cls,
        target: np.ndarray,
        *,
        stop_loss: np.ndarray | None = None,
        take_profit: np.ndarray | None = None,
        order_kind: np.ndarray | int = OrderKind.MARKET,
        entry_price: np.ndarray | None = None,
    ) -> Signals:
        n = len(target)
        nan = np.full(n, np.nan)  # one array for every absent column (saves memory in sweeps)
        kinds = np.full(n, int(order_kind), np.int8) if np.isscalar(order_kind) else order_kind
        return cls(
            np.ascontiguousarray(target, dtype=np.float64),
            np.ascontiguousarray(kinds, dtype=np.int8),
            nan if entry_price is None else np.ascontiguousarray(entry_price, dtype=np.float64),
            nan if stop_loss is None else np.ascontiguousarray(stop_loss, dtype=np.float64),
            nan if take_profit is None else np.ascontiguousarray(take_profit, dtype=np.float64),
        )

    def __len__(self) -> int:
        return len(self.target)

    def columns(self) -> tuple[np.ndarray, ...]:
        return (self.target, self.order_kind, self.entry_price, self.stop_loss, self.take_profit)

    def take(self, index: slice) -> Signals:
        return Signals(*(c[index] for c in self.columns()))


FUNDING, PEER = "funding", "peer"


@dataclass(frozen=True, slots=True)
class InputSpec:
    """A series a strategy needs besides its candles: `FUNDING` of its own symbol, or `PEER` candles
    of `symbol` at the strategy's interval on the same venue."""

    kind: str
    symbol: str = ""

    def describe(self, own_symbol: str = "its symbol") -> str:
        return f"the funding history of {own_symbol}" if self.kind == FUNDING else f"{self.symbol} candles"


@dataclass(frozen=True, slots=True, eq=False)
class StrategyInputs:
    """The loaded extra series: funding settlements (ts, rate) and peer candles by symbol."""

    funding: tuple[np.ndarray, np.ndarray] | None = None
    peers: Mapping[str, CandleArrays] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ParamSpec:
    name: str
    type: type
    default: float | int
    low: float | int
    high: float | int
    step: float | int
    help: str

    def grid(self) -> list[float | int]:
        values = np.arange(self.low, self.high + self.step / 2, self.step)
        return [self.type(round(float(v), 10)) for v in values]  # 0.7, not arange's 0.7000000000000001

    def parse(self, text: str) -> float | int:
        value = self.type(float(text)) if self.type is int and "." not in text else self.type(text)
        if not self.low <= value <= self.high:
            raise ValueError(f"{self.name}={value} is outside its range {self.low}..{self.high}")
        return value


def format_params(params: Mapping[str, Any]) -> str:
    """name=value, sorted by name, numbers as people write them (0.7, 50): for tables and captions."""
    return ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in sorted(params.items()))


def param(default: float, low: float, high: float, step: float = 1, help: str = "") -> Any:
    """Declare a strategy parameter: a dataclass field with its range in the metadata."""
    return field(default=default, metadata={"range": (low, high, step), "help": help})


@dataclass(frozen=True)
class Strategy:
    """Base of every strategy. Subclasses are frozen dataclasses whose fields are `param(...)`s."""

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""

    @classmethod
    def params(cls) -> list[ParamSpec]:
        types = {"int": int, "float": float}
        specs = []
        for f in dataclasses.fields(cls):
            low, high, step = f.metadata.get("range", (f.default, f.default, 1))
            kind = f.type if isinstance(f.type, type) else types.get(str(f.type), float)
            specs.append(ParamSpec(f.name, kind, f.default, low, high, step, f.metadata.get("help", "")))
        return specs

    @classmethod
    def create(cls, values: Mapping[str, Any] | None = None) -> Self:
        """Build from (possibly textual) values, checking names, types, ranges and `check()`."""
        specs = {s.name: s for s in cls.params()}
        kwargs: dict[str, Any] = {}
        for key, value in (values or {}).items():
            if key not in specs:
                raise ValueError(f"{cls.name} has no parameter {key!r} (it has {', '.join(specs) or 'none'})")
            kwargs[key] = specs[key].parse(str(value))
        instance = cls(**kwargs)
        instance.check()
        return instance

    def check(self) -> None:
        """Raise ValueError when parameters are inconsistent with each other."""

    def values(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @property
    def warmup(self) -> int:
        """Bars needed before the first meaningful signal (the live engine keeps at least this many)."""
        return 1

    def inputs(self) -> tuple[InputSpec, ...]:
        """Series this strategy needs besides its own candles (none by default)."""
        return ()

    def bind(self, inputs: StrategyInputs) -> Self:
        """A copy with the same params that reads `inputs` in `compute` (params, label unchanged)."""
        bound = dataclasses.replace(self)
        object.__setattr__(bound, "_inputs", inputs)
        return bound

    def bound_inputs(self) -> StrategyInputs | None:
        return cast(StrategyInputs | None, getattr(self, "_inputs", None))

    def compute(self, candles: CandleArrays) -> Signals:
        raise NotImplementedError

    def label(self) -> str:
        args = ",".join(f"{k}={v}" for k, v in self.values().items())
        return f"{self.name}({args})"


def _validate(strategy: Strategy, candles: CandleArrays, out: object) -> Signals:
    if not isinstance(out, Signals):
        raise StrategyError(strategy.name, _last_ts(candles), f"compute returned {type(out).__name__}, not Signals")
    n = len(candles)
    for name, column in zip(
        ("target", "order_kind", "entry_price", "stop_loss", "take_profit"), out.columns(), strict=True
    ):
        if len(column) != n:
            raise StrategyError(strategy.name, _last_ts(candles), f"{name} has {len(column)} rows for {n} candles")
    bad = np.flatnonzero(~(np.abs(out.target) <= 1.0))  # catches NaN too
    if len(bad):
        i = int(bad[0])
        raise StrategyError(strategy.name, int(candles.ts[i]), f"target {out.target[i]} is not within [-1, 1]")
    priced = out.order_kind != OrderKind.MARKET
    bad = np.flatnonzero((priced & ~(out.entry_price > 0)) | (out.order_kind > OrderKind.STOP))
    if len(bad):
        i = int(bad[0])
        raise StrategyError(strategy.name, int(candles.ts[i]), "limit/stop order without a positive entry_price")
    return out


def _last_ts(candles: CandleArrays) -> int | None:
    return int(candles.ts[-1]) if len(candles) else None


def _fails(strategy: Strategy, candles: CandleArrays) -> bool:
    try:
        _validate(strategy, candles, strategy.compute(candles))
    except Exception:
        return True
    return False


def signals(strategy: Strategy, candles: CandleArrays, *, locate: bool = True) -> Signals:
    """Run `strategy.compute` safely: any exception becomes a StrategyError with a bar time.

    For an exception, the bar is found by bisecting over truncated history (signals are causal, so
    the shortest failing prefix ends at the first failing bar); `locate=False` reports the last bar.
    """
    try:
        return _validate(strategy, candles, strategy.compute(candles))
    except StrategyError:
        raise
    except Exception as exc:
        bar = _last_ts(candles)
        if locate and len(candles) > 1:
            lo, hi = 1, len(candles)  # the prefix of length hi fails
            for _ in range(40):
                if lo >= hi:
                    break
                mid = (lo + hi) // 2
                if _fails(strategy, candles.take(slice(0, mid))):
                    hi = mid
                else:
                    lo = mid + 1
            bar = int(candles.ts[hi - 1])
        raise StrategyError(strategy.name, bar, f"{type(exc).__name__}: {exc}") from exc
