"""`workstation backtest ...`: run one backtest or a parameter sweep on stored candles."""

from __future__ import annotations

import json
import sys
import time
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from workstation.backtest.costs import BYBIT_MAINTENANCE_MARGIN, CostModel
from workstation.backtest.lookahead import check_lookahead
from workstation.backtest.runner import Market, combinations, load_market, parse_grid, run_backtest, sweep
from workstation.commands.common import options
from workstation.data.intervals import format_ms, parse_time
from workstation.data.store import CandleStore
from workstation.runtime import resolve_home
from workstation.strategies.base import StrategyError
from workstation.strategies.builtin import REGISTRY, build

app = typer.Typer(name="backtest", help="Backtests and parameter sweeps on stored candles.", no_args_is_help=True)
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
SizeOpt = Annotated[float, typer.Option("--size", help="Fraction of equity per position (sizing hook)")]
DbOpt = Annotated[str | None, typer.Option("--db", help="Store file or URL [default: <home>/candles.db]")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document and nothing else on stdout")]


def _fail(message: str, code: int = 1) -> typer.Exit:
    err.print(message, style="red", markup=False)
    return typer.Exit(code)


def _params(items: list[str] | None) -> dict[str, str]:
    result = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        if not sep:
            raise _fail(f"--param {item!r} is not name=value")
        result[name.strip()] = value.strip()
    return result


def _cost(
    fee: float, maker: float, slip: float, vol: float, volume: float, lev: float, mmr: float, size: float
) -> CostModel:
    try:
        return CostModel(
            taker_fee=fee * 1e-4,
            maker_fee=maker * 1e-4,
            slippage_bps=slip,
            volatility_impact=vol,
            volume_impact=volume,
            leverage=lev,
            maintenance_margin=mmr,
            size=size,
        )
    except ValueError as exc:
        raise _fail(str(exc)) from exc


def _market(
    ctx: typer.Context,
    db: str | None,
    symbol: str,
    interval: str,
    venue: str | None,
    start: str | None,
    end: str | None,
) -> Market:
    try:
        lo = None if start is None else parse_time(start)
        hi = None if end is None else parse_time(end)
        path = db or resolve_home(options(ctx).home) / "candles.db"
        with CandleStore.open(path) as store:
            return load_market(store, symbol, interval, venue=venue, start=lo, end=hi)
    except (LookupError, ValueError) as exc:
        raise _fail(str(exc)) from exc


def _fmt(value: Any, pct: bool = False) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.2%}" if pct else f"{value:,.4g}"
    return str(value)


PCT = {"total_return", "cagr", "max_drawdown", "win_rate", "exposure", "volatility", "average_trade_return"}


@app.command("run")
def run(
    ctx: typer.Context,
    strategy: StrategyOpt,
    symbol: SymbolOpt,
    interval: IntervalOpt = "1h",
    venue: VenueOpt = None,
    param: ParamOpt = None,
    start: StartOpt = None,
    end: EndOpt = None,
    cash: CashOpt = 10_000.0,
    fee_bps: FeeOpt = 5.5,
    maker_fee_bps: MakerOpt = 2.0,
    slippage_bps: SlipOpt = 0.0,
    vol_impact: VolImpactOpt = 0.0,
    volume_impact: VolumeImpactOpt = 0.0,
    leverage: LevOpt = 1.0,
    mmr: MmrOpt = BYBIT_MAINTENANCE_MARGIN,
    size: SizeOpt = 1.0,
    check: Annotated[
        bool, typer.Option("--check-lookahead", help="Fail if signals change on truncated history")
    ] = False,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Backtest one strategy on stored candles, with the benchmark (buy and hold)."""
    started = time.perf_counter()
    try:
        strat = build(strategy, _params(param))
    except (KeyError, ValueError) as exc:
        raise _fail(str(exc).strip("'\"")) from exc
    cost = _cost(fee_bps, maker_fee_bps, slippage_bps, vol_impact, volume_impact, leverage, mmr, size)
    market = _market(ctx, db, symbol, interval, venue, start, end)
    try:
        bt = run_backtest(strat, market.candles, cost, cash=cash, funding=market.funding)
        report = check_lookahead(strat, market.candles) if check else None
    except StrategyError as exc:
        raise _fail(str(exc)) from exc
    doc = bt.to_dict(market)
    doc["funding_settlements"] = market.funding_settlements
    if report is not None:
        doc["lookahead"] = {
            "ok": report.ok,
            "cuts_checked": report.cuts_checked,
            "violations": [
                {"cut": format_ms(v.cut_ts), "bar": format_ms(v.bar_ts), "column": v.column} for v in report.violations
            ],
        }
    if as_json:
        sys.stdout.write(json.dumps(doc) + "\n")
    else:
        _print_run(doc, market, time.perf_counter() - started)
    if report is not None and not report.ok:
        first = report.violations[0]
        raise _fail(
            f"lookahead: {strat.name} signal '{first.column}' at {format_ms(first.bar_ts)} changed when history "
            f"was cut after {format_ms(first.cut_ts)} ({len(report.violations)} of {report.cuts_checked} cuts)"
        )


def _print_run(doc: dict[str, Any], market: Market, seconds: float) -> None:
    m, b = doc["metrics"], doc["benchmark"]
    src = f" (resampled from {market.resampled_from})" if market.resampled_from else ""
    out.print(
        f"{doc['strategy']} {doc['params']} on {market.venue} {market.symbol} {market.interval}{src}: "
        f"{m['bars']:,} bars {m['start']} -> {m['end']}, {market.funding_settlements} funding settlements"
    )
    table = Table("metric", "strategy", "buy & hold")
    for key in ("final_equity", "total_return", "cagr", "sharpe", "sortino", "calmar", "max_drawdown"):
        table.add_row(key, _fmt(m[key], key in PCT), _fmt(b.get(key), key in PCT))
    for key in (
        "max_drawdown_duration_days", "volatility", "win_rate", "profit_factor", "expectancy",
        "average_trade_return", "exposure", "trade_count", "fees_paid", "funding_paid",
    ):  # fmt: skip
        table.add_row(key, _fmt(m[key], key in PCT), "")
    table.add_row("alpha (annual)", _fmt(b["alpha"], True), "")
    table.add_row("beta", _fmt(b["beta"]), "")
    out.print(table)
    if "lookahead" in doc:
        la = doc["lookahead"]
        out.print(f"lookahead check: {'ok' if la['ok'] else 'FAILED'} ({la['cuts_checked']} truncations)")
    out.print(f"done in {seconds:.2f} s")


@app.command("sweep")
def sweep_cmd(
    ctx: typer.Context,
    strategy: StrategyOpt,
    symbol: SymbolOpt,
    grid: Annotated[list[str], typer.Option("--grid", help="name=start:stop:step or name=a,b,c (repeatable)")],
    interval: IntervalOpt = "1h",
    venue: VenueOpt = None,
    param: ParamOpt = None,
    start: StartOpt = None,
    end: EndOpt = None,
    cash: CashOpt = 10_000.0,
    fee_bps: FeeOpt = 5.5,
    maker_fee_bps: MakerOpt = 2.0,
    slippage_bps: SlipOpt = 0.0,
    leverage: LevOpt = 1.0,
    mmr: MmrOpt = BYBIT_MAINTENANCE_MARGIN,
    size: SizeOpt = 1.0,
    jobs: Annotated[int, typer.Option("--jobs", help="Worker processes (0 = all cores)")] = 0,
    sort: Annotated[str, typer.Option("--sort", help="Metric to rank by")] = "sharpe",
    top: Annotated[int, typer.Option("--top", help="Rows to print")] = 20,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Run every combination of a parameter grid in parallel and rank the results."""
    try:
        grids = [parse_grid(g) for g in grid]
        combos = list(combinations(strategy, grids, _params(param)))
    except (KeyError, ValueError) as exc:
        raise _fail(str(exc).strip("'\"")) from exc
    if not combos:
        raise _fail("the grid has no valid combination")
    cost = _cost(fee_bps, maker_fee_bps, slippage_bps, 0.0, 0.0, leverage, mmr, size)
    market = _market(ctx, db, symbol, interval, venue, start, end)
    started = time.perf_counter()
    with Progress(
        TextColumn("sweep"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn(),
        console=err, transient=as_json,
    ) as progress:  # fmt: skip
        task = progress.add_task("sweep", total=len(combos))
        results = sweep(
            strategy, combos, market.candles, cost=cost, cash=cash, funding=market.funding,
            jobs=jobs or None, progress=lambda k: progress.advance(task, k),
        )  # fmt: skip
    seconds = time.perf_counter() - started

    def key(r: dict[str, Any]) -> float:
        v = r.get("metrics", {}).get(sort)
        return float("-inf") if v is None else float(v)

    ranked = sorted(results, key=key, reverse=True)
    if as_json:
        doc = {"strategy": strategy, "symbol": market.symbol, "interval": market.interval, "runs": len(results),
               "seconds": seconds, "sort": sort, "results": ranked}  # fmt: skip
        sys.stdout.write(json.dumps(doc) + "\n")
        return
    names = list(combos[0])
    table = Table(*names, "total_return", "sharpe", "max_drawdown", "trades", "fees_paid")
    for r in ranked[:top]:
        m = r.get("metrics")
        if m is None:
            table.add_row(*(str(r["params"][n]) for n in names), "error", r.get("error", ""), "", "", "")
            continue
        table.add_row(
            *(str(r["params"][n]) for n in names), _fmt(m["total_return"], True), _fmt(m["sharpe"]),
            _fmt(m["max_drawdown"], True), str(m["trade_count"]), _fmt(m["fees_paid"]),
        )  # fmt: skip
    out.print(table)
    bars = len(market.candles) * len(results)
    out.print(f"{len(results)} runs on {len(market.candles):,} bars in {seconds:.2f} s: "
              f"{len(results) / seconds:.1f} runs/s, {bars / seconds / 1e6:.1f} M bars/s")  # fmt: skip
