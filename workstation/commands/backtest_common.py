"""Options and helpers shared by `backtest run|sweep` and `backtest walkforward|montecarlo`.

Heavy modules (report, Monte Carlo, rich.progress) are imported inside the helpers that need them,
so `backtest run --json` does not pay for them.
"""

from __future__ import annotations

import atexit
import gc
import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from workstation.backtest.costs import CostModel, Sizer
from workstation.strategies.builtin import REGISTRY

if TYPE_CHECKING:
    from rich.progress import Progress

    from workstation.backtest.montecarlo import MonteCarlo
    from workstation.backtest.runner import Backtest, Market
    from workstation.backtest.simulator import SimResult
    from workstation.backtest.walkforward import WalkForward
    from workstation.strategies.base import Strategy

out = Console(soft_wrap=True, emoji=False, highlight=False)
err = Console(stderr=True, soft_wrap=True, emoji=False, highlight=False)

StrategyOpt = Annotated[str, typer.Option("--strategy", help=f"One of: {', '.join(REGISTRY)}")]
SymbolOpt = Annotated[str, typer.Option("--symbol", help="e.g. BTCUSDT")]
IntervalOpt = Annotated[str, typer.Option("--interval", help="1m, 5m, 1h, ... (resampled when not stored)")]
VenueOpt = Annotated[str | None, typer.Option("--venue", help="Needed when the symbol is stored for several")]
ParamOpt = Annotated[list[str] | None, typer.Option("--param", help="name=value (repeatable)")]
StartOpt = Annotated[str | None, typer.Option("--start", help="UTC date/time or ms")]
EndOpt = Annotated[str | None, typer.Option("--end", help="UTC date/time or ms (exclusive)")]
CashOpt = Annotated[float, typer.Option("--cash", help="Starting cash (quote currency)")]
FeeOpt = Annotated[float, typer.Option("--fee-bps", help="Taker fee in bps (Bybit linear: 5.5)")]
MakerOpt = Annotated[float, typer.Option("--maker-fee-bps", help="Maker fee in bps (Bybit linear: 2)")]
SlipOpt = Annotated[float, typer.Option("--slippage-bps", help="Fixed slippage in bps on market/stop fills")]
VolImpactOpt = Annotated[float, typer.Option("--vol-impact", help="Extra slippage: k x previous bar range / close")]
VolumeImpactOpt = Annotated[float, typer.Option("--volume-impact", help="Extra slippage: k x sqrt(qty / volume)")]
LevOpt = Annotated[float, typer.Option("--leverage", help="Leverage (isolated margin)")]
MmrOpt = Annotated[float, typer.Option("--mmr", help="Maintenance margin rate")]
SizeOpt = Annotated[float, typer.Option("--size", help="--sizer fraction: fraction of equity per position")]
SIZERS: dict[str, Sizer] = {"fraction": Sizer.FIXED_FRACTION, "stop-distance": Sizer.STOP_DISTANCE}
DEFAULT_RISK = 0.01
SizerOpt = Annotated[
    str,
    typer.Option(
        "--sizer",
        help="fraction: each position holds --size of equity (x --leverage); stop-distance: each entry is "
        "sized so that its stop-loss loses --risk-per-trade of equity, notional at most equity x --leverage "
        "(a strategy that gives no stop opens nothing)",
    ),
]
RiskOpt = Annotated[
    float | None,
    typer.Option(
        "--risk-per-trade", help=f"--sizer stop-distance: fraction of equity lost at the stop [default: {DEFAULT_RISK}]"
    ),
]
DbOpt = Annotated[str | None, typer.Option("--db", help="Store file or URL [default: <home>/candles.db]")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document and nothing else on stdout")]
ReportOpt = Annotated[str | None, typer.Option("--report", help="Write a self-contained HTML report here")]
JobsOpt = Annotated[int, typer.Option("--jobs", help="Worker threads (0 = all cores)")]
GridOpt = Annotated[list[str], typer.Option("--grid", help="name=start:stop:step or name=a,b,c (repeatable)")]
AllowGapsOpt = Annotated[bool, typer.Option("--allow-gaps", help="Backtest even if bars are missing (unrepaired)")]

PCT = {"total_return", "cagr", "max_drawdown", "win_rate", "exposure", "volatility", "average_trade_return"}


def fail(message: str, code: int = 1) -> typer.Exit:
    err.print(message, style="red", markup=False)
    return typer.Exit(code)


def parse_params(items: list[str] | None) -> dict[str, str]:
    result = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        if not sep:
            raise fail(f"--param {item!r} is not name=value")
        result[name.strip()] = value.strip()
    return result


def cost_model(
    fee: float,
    maker: float,
    slip: float,
    vol: float,
    volume: float,
    lev: float,
    mmr: float,
    size: float,
    sizer: str = "fraction",
    risk: float | None = None,
) -> CostModel:
    """The CostModel of the shared options; `sizer`/`risk` are --sizer and --risk-per-trade."""
    kind = SIZERS.get(sizer)
    if kind is None:
        raise fail(f"--sizer {sizer!r} is not one of: {', '.join(SIZERS)}")
    if kind is Sizer.STOP_DISTANCE:
        risk = DEFAULT_RISK if risk is None else risk
        if not 0 < risk <= 1:
            raise fail(f"--risk-per-trade {risk:g} must be above 0 and at most 1 (a fraction of equity)")
        if size != 1.0:
            raise fail("--size is the fraction sizer's; with --sizer stop-distance give --risk-per-trade")
        size = risk
    elif risk is not None:
        raise fail("--risk-per-trade needs --sizer stop-distance")
    try:
        return CostModel(
            taker_fee=fee * 1e-4,
            maker_fee=maker * 1e-4,
            slippage_bps=slip,
            volatility_impact=vol,
            volume_impact=volume,
            leverage=lev,
            maintenance_margin=mmr,
            sizer=kind,
            size=size,
        )
    except ValueError as exc:
        raise fail(str(exc)) from exc


def sizing(cost: CostModel) -> dict[str, Any]:
    """How positions were sized, for --json."""
    name = next(k for k, v in SIZERS.items() if v is cost.sizer) if cost.sizer in SIZERS.values() else None
    stop = cost.sizer is Sizer.STOP_DISTANCE
    return {
        "sizer": name or cost.sizer.name.lower(),
        "size": None if stop else cost.size,
        "risk_per_trade": cost.size if stop else None,
        "leverage": cost.leverage,
    }


def freeze_heap() -> None:
    """Hide the objects alive now from the cyclic garbage collector (gc.freeze), now and at exit.

    Importing pandas, numba and SQLAlchemy leaves about a million long-lived objects; without this
    every full collection during the run, and the ones at interpreter exit, walk them all: ~0.6 s
    CPU of a 2 s `backtest run`. Frozen objects are still freed normally by reference counting.
    Skipped under pytest, whose process lives on and should keep collecting its garbage.
    """
    if "pytest" in sys.modules:
        return
    gc.freeze()
    atexit.register(gc.freeze)  # atexit runs before the interpreter's final collections


def market(
    ctx: typer.Context,
    db: str | None,
    symbol: str,
    interval: str,
    venue: str | None,
    start: str | None,
    end: str | None,
    allow_gaps: bool = False,
) -> Market:
    from workstation.backtest.jit import warm_start
    from workstation.backtest.runner import load_market
    from workstation.commands.common import options
    from workstation.data.intervals import parse_time
    from workstation.data.store import CandleStore
    from workstation.runtime import resolve_home

    warm_start()
    freeze_heap()
    try:
        lo = None if start is None else parse_time(start)
        hi = None if end is None else parse_time(end)
        path = db or resolve_home(options(ctx).home) / "candles.db"
        with CandleStore.open(path) as store:
            return load_market(store, symbol, interval, venue=venue, start=lo, end=hi, allow_gaps=allow_gaps)
    except (LookupError, ValueError) as exc:
        raise fail(str(exc)) from exc


def with_inputs(ctx: typer.Context, db: str | None, strategy: Strategy, mkt: Market) -> Strategy:
    """`strategy` bound to the extra series it declares (funding, a peer's candles) from the same
    store, as discovery and the paper replay bind them; itself when it declares none."""
    if not strategy.inputs():
        return strategy
    from workstation.backtest.inputs import bind_inputs
    from workstation.commands.common import options
    from workstation.data.store import CandleStore
    from workstation.runtime import resolve_home

    path = db or resolve_home(options(ctx).home) / "candles.db"
    try:
        with CandleStore.open(path) as store:
            return bind_inputs(store, strategy, mkt.venue, mkt.symbol, mkt.interval, mkt.candles)
    except LookupError as exc:
        raise fail(str(exc.args[0] if exc.args else exc)) from exc


def fmt(value: Any, pct: bool = False) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.2%}" if pct else f"{value:,.4g}"
    return str(value)


def combos_of(strategy: str, grid: list[str], param: list[str] | None) -> list[dict[str, Any]]:
    from workstation.backtest.runner import combinations, parse_grid

    try:
        grids = [parse_grid(g) for g in grid]
        combos = list(combinations(strategy, grids, parse_params(param)))
    except (KeyError, ValueError) as exc:
        raise fail(str(exc).strip("'\"")) from exc
    if not combos:
        raise fail("the grid has no valid combination")
    return combos


def progress_bar(label: str, quiet: bool) -> Progress:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(
        TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn(),
        console=err, transient=quiet,
    )  # fmt: skip


def monte_carlo_or_none(result: SimResult, method: str, iterations: int, seed: int, **kw: Any) -> MonteCarlo | None:
    from workstation.backtest.montecarlo import monte_carlo

    try:
        return monte_carlo(result, method=method, iterations=iterations, seed=seed, **kw)
    except ValueError as exc:
        err.print(f"Monte Carlo skipped: {exc}", style="yellow", markup=False)
        return None


def write_html(
    path: str, market: Market, label: str, result: SimResult, metrics: dict[str, Any], bt: Backtest | None,
    *, mc: MonteCarlo | None = None, wf: WalkForward | None = None,
) -> None:  # fmt: skip
    from workstation.backtest.report import write_report

    src = f" (resampled from {market.resampled_from})" if market.resampled_from else ""
    start, end = metrics["start"], metrics["end"]
    written = write_report(
        path, title=f"{label} on {market.symbol} {market.interval}",
        subtitle=f"{market.venue} {market.symbol} {market.interval}{src}, {start} → {end}, {len(result.ts):,} bars",
        candles=market.candles.between(int(result.ts[0]), int(result.ts[-1]) + 1), result=result, metrics=metrics,
        benchmark=None if bt is None else bt.benchmark, benchmark_metrics=None if bt is None else bt.benchmark_metrics,
        walkforward=wf, montecarlo=mc,
    )  # fmt: skip
    err.print(f"report written to {written}", markup=False, highlight=False)
