"""`workstation backtest run|sweep|walkforward|montecarlo` on stored candles; `--report` writes HTML."""

from __future__ import annotations

import json
import sys
import time
from typing import Annotated, Any

import numpy as np
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from workstation.backtest import metrics as M
from workstation.backtest.costs import BYBIT_MAINTENANCE_MARGIN, CostModel
from workstation.backtest.lookahead import check_lookahead
from workstation.backtest.montecarlo import MonteCarlo, monte_carlo
from workstation.backtest.report import write_report
from workstation.backtest.runner import Backtest, Market, combinations, load_market, parse_grid, run_backtest, sweep
from workstation.backtest.simulator import SimResult, simulate
from workstation.backtest.walkforward import WalkForward, make_windows, walk_forward
from workstation.commands.common import options
from workstation.data.intervals import format_ms, interval_ms, parse_time
from workstation.data.store import CandleStore
from workstation.runtime import resolve_home
from workstation.strategies.base import StrategyError, signals
from workstation.strategies.builtin import REGISTRY, BuyAndHold, build

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
ReportOpt = Annotated[str | None, typer.Option("--report", help="Write a self-contained HTML report here")]
JobsOpt = Annotated[int, typer.Option("--jobs", help="Worker threads (0 = all cores)")]
GridOpt = Annotated[list[str], typer.Option("--grid", help="name=start:stop:step or name=a,b,c (repeatable)")]
AllowGapsOpt = Annotated[bool, typer.Option("--allow-gaps", help="Backtest even if bars are missing (unrepaired)")]


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
    allow_gaps: bool = False,
) -> Market:
    try:
        lo = None if start is None else parse_time(start)
        hi = None if end is None else parse_time(end)
        path = db or resolve_home(options(ctx).home) / "candles.db"
        with CandleStore.open(path) as store:
            return load_market(store, symbol, interval, venue=venue, start=lo, end=hi, allow_gaps=allow_gaps)
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
    report_path: ReportOpt = None,
    mc_iterations: Annotated[
        int, typer.Option("--mc-iterations", help="Monte Carlo paths for the report/JSON (0 = none)")
    ] = 0,
    allow_gaps: AllowGapsOpt = False,
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
    market = _market(ctx, db, symbol, interval, venue, start, end, allow_gaps)
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
    mc_iterations = mc_iterations or (1000 if report_path else 0)
    mc = _monte_carlo(bt.result, "bootstrap", mc_iterations, 0) if mc_iterations else None
    if mc is not None:
        doc["montecarlo"] = mc.band.to_dict()
    if report_path:
        _write_report(report_path, market, strat.label(), bt.result, bt.metrics, bt, mc=mc)
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
    grid: GridOpt,
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
    jobs: JobsOpt = 0,
    sort: Annotated[str, typer.Option("--sort", help="Metric to rank by")] = "sharpe",
    top: Annotated[int, typer.Option("--top", help="Rows to print")] = 20,
    allow_gaps: AllowGapsOpt = False,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Run every combination of a parameter grid in parallel and rank the results."""
    combos = _combos(strategy, grid, param)
    cost = _cost(fee_bps, maker_fee_bps, slippage_bps, 0.0, 0.0, leverage, mmr, size)
    market = _market(ctx, db, symbol, interval, venue, start, end, allow_gaps)
    started = time.perf_counter()
    with _progress("sweep", as_json) as progress:
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


def _combos(strategy: str, grid: list[str], param: list[str] | None) -> list[dict[str, Any]]:
    try:
        grids = [parse_grid(g) for g in grid]
        combos = list(combinations(strategy, grids, _params(param)))
    except (KeyError, ValueError) as exc:
        raise _fail(str(exc).strip("'\"")) from exc
    if not combos:
        raise _fail("the grid has no valid combination")
    return combos


def _progress(label: str, quiet: bool) -> Progress:
    return Progress(
        TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn(),
        console=err, transient=quiet,
    )  # fmt: skip


def _monte_carlo(result: SimResult, method: str, iterations: int, seed: int, **kw: Any) -> MonteCarlo | None:
    try:
        return monte_carlo(result, method=method, iterations=iterations, seed=seed, **kw)
    except ValueError as exc:
        err.print(f"Monte Carlo skipped: {exc}", style="yellow", markup=False)
        return None


def _write_report(
    path: str, market: Market, label: str, result: SimResult, metrics: dict[str, Any], bt: Backtest | None,
    *, mc: MonteCarlo | None = None, wf: WalkForward | None = None,
) -> None:  # fmt: skip
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


@app.command("walkforward")
def walkforward_cmd(
    ctx: typer.Context,
    strategy: StrategyOpt,
    symbol: SymbolOpt,
    grid: GridOpt,
    train: Annotated[str, typer.Option("--train", help="Train window length, e.g. 90d, 12w, 720h")] = "90d",
    test: Annotated[str, typer.Option("--test", help="Test window length, e.g. 30d")] = "30d",
    step: Annotated[str | None, typer.Option("--step", help="Move between windows [default: the test length]")] = None,
    anchored: Annotated[bool, typer.Option("--anchored", help="Train from the start of the data every time")] = False,
    objective: Annotated[str, typer.Option("--objective", help="Metric the train windows maximise")] = "sharpe",
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
    jobs: JobsOpt = 0,
    report_path: ReportOpt = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Walk-forward: choose parameters on each train window, trade them on the next test window."""
    combos = _combos(strategy, grid, param)
    cost = _cost(fee_bps, maker_fee_bps, slippage_bps, 0.0, 0.0, leverage, mmr, size)
    try:
        train_ms, test_ms = interval_ms(train), interval_ms(test)
        step_ms = interval_ms(step) if step else None
    except ValueError as exc:
        raise _fail(str(exc)) from exc
    market = _market(ctx, db, symbol, interval, venue, start, end)
    windows = make_windows(market.candles.ts, train_ms, test_ms, anchored=anchored, step_ms=step_ms)
    if not windows:
        raise _fail(f"{len(market.candles):,} bars are too few for a {train} train plus a {test} test window")
    started = time.perf_counter()
    with _progress("walk-forward", as_json) as progress:
        task = progress.add_task("wf", total=len(windows) * (len(combos) + 1))
        try:
            wf = walk_forward(
                strategy, combos, market.candles, train_ms=train_ms, test_ms=test_ms, anchored=anchored,
                step_ms=step_ms, objective=objective, cost=cost, cash=cash, funding=market.funding,
                jobs=jobs or None, progress=lambda k: progress.advance(task, k),
            )  # fmt: skip
        except ValueError as exc:
            raise _fail(str(exc)) from exc
    seconds = time.perf_counter() - started
    if report_path:
        mc = _monte_carlo(wf.result, "bootstrap", 1000, 0)
        oos = wf.result
        span = market.candles.between(int(oos.ts[0]), int(oos.ts[-1]) + 1)
        bench = None
        if len(span) == len(oos.ts):  # contiguous test windows: buy and hold over the same bars
            fund = market.funding[np.searchsorted(market.candles.ts, oos.ts)]
            held = simulate(span, signals(BuyAndHold(), span), cost, cash=cash, funding=fund)
            bench = Backtest(build(strategy, combos[0]), signals(BuyAndHold(), span), oos, held, wf.metrics,
                             M.benchmark_metrics(oos, held))  # fmt: skip
        _write_report(report_path, market, f"{strategy} walk-forward", oos, wf.metrics, bench, mc=mc, wf=wf)
    if as_json:
        doc = {"symbol": market.symbol, "interval": market.interval, "seconds": seconds, **wf.to_dict()}
        sys.stdout.write(json.dumps(doc) + "\n")
        return
    names = list(combos[0])
    table = Table("#", "train", "test", *names, f"IS {objective}", "OOS return", "OOS sharpe", "OOS max DD")
    for w in wf.windows:
        d, oos = w.to_dict(), w.out_of_sample or {}
        table.add_row(
            str(w.window.index), f"{d['train_start'][:10]} -> {d['train_end'][:10]}",
            f"{d['test_start'][:10]} -> {d['test_end'][:10]}", *(str((w.params or {}).get(n, "-")) for n in names),
            _fmt(w.objective_value), _fmt(oos.get("total_return"), True), _fmt(oos.get("sharpe")),
            _fmt(oos.get("max_drawdown"), True),
        )  # fmt: skip
    out.print(table)
    m = wf.metrics
    out.print(
        f"out of sample ({'anchored' if anchored else 'rolling'}, {len(wf.windows)} windows): return "
        f"{_fmt(m['total_return'], True)}, sharpe {_fmt(m['sharpe'])}, max drawdown {_fmt(m['max_drawdown'], True)}, "
        f"{m['trade_count']} trades; {len(combos)} variants per window, {seconds:.2f} s"
    )


@app.command("montecarlo")
def montecarlo_cmd(
    ctx: typer.Context,
    strategy: StrategyOpt,
    symbol: SymbolOpt,
    iterations: Annotated[int, typer.Option("--iterations", help="Paths to simulate")] = 5000,
    method: Annotated[str, typer.Option("--method", help="bootstrap, shuffle (trades) or block (days)")] = "bootstrap",
    seed: Annotated[int, typer.Option("--seed", help="Random seed (same seed, same result)")] = 0,
    block_days: Annotated[int, typer.Option("--block-days", help="Block length for --method block")] = 10,
    noise: Annotated[float, typer.Option("--noise", help="Add N(0, noise x sd) to each drawn return")] = 0.0,
    ruin: Annotated[float, typer.Option("--ruin", help="Ruin = equity touching this fraction of the start")] = 0.5,
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
    report_path: ReportOpt = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Backtest once, then resample its trades (or days) into a distribution of outcomes."""
    try:
        strat = build(strategy, _params(param))
    except (KeyError, ValueError) as exc:
        raise _fail(str(exc).strip("'\"")) from exc
    cost = _cost(fee_bps, maker_fee_bps, slippage_bps, 0.0, 0.0, leverage, mmr, size)
    market = _market(ctx, db, symbol, interval, venue, start, end)
    try:
        bt = run_backtest(strat, market.candles, cost, cash=cash, funding=market.funding)
        mc = monte_carlo(
            bt.result, method=method, iterations=iterations, seed=seed, block_days=block_days, noise=noise,
            ruin_level=ruin,
        )  # fmt: skip
    except (StrategyError, ValueError) as exc:
        raise _fail(str(exc)) from exc
    if report_path:
        _write_report(report_path, market, strat.label(), bt.result, bt.metrics, bt, mc=mc)
    if as_json:
        doc = bt.to_dict(market) | {"montecarlo": mc.band.to_dict()}
        sys.stdout.write(json.dumps(doc) + "\n")
        return
    b = mc.band
    table = Table("statistic", "p5", "p25", "p50", "p75", "p95", "original", "original's percentile")
    for name, band in (("final_return", b.final_return), ("max_drawdown", b.max_drawdown), ("sharpe", b.sharpe)):
        pct = name != "sharpe"
        table.add_row(
            name, *(_fmt(band.at(p), pct) for p in (5, 25, 50, 75, 95)), _fmt(band.original, pct),
            f"{band.rank(band.original):.0f}",
        )  # fmt: skip
    out.print(
        f"{strat.label()} on {market.symbol} {market.interval}: {b.method}, {b.iterations:,} paths of {b.steps:,}"
    )
    out.print(table)
    out.print(f"probability of ruin (equity touching {b.ruin_level:.0%} of the start): {b.ruin_probability:.2%}")
