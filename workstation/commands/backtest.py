"""`workstation backtest run|sweep` on stored candles; walkforward/montecarlo live in backtest_validate.

The engine modules are imported inside the commands, so building the CLI stays cheap.
"""

from __future__ import annotations

import json
import sys
import time
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table
from typer.core import TyperGroup

from workstation.backtest.costs import BYBIT_MAINTENANCE_MARGIN
from workstation.commands import backtest_common as bc
from workstation.commands import backtest_validate

if TYPE_CHECKING:
    from workstation.backtest.runner import Market


class _RunByDefault(TyperGroup):
    """`workstation backtest --strategy ...` (the issue's form) is `workstation backtest run --strategy ...`."""

    def parse_args(self, ctx: typer.Context, args: list[str]) -> list[str]:
        if args and args[0].startswith("-") and args[0] not in ("--help", "-h"):
            args = ["run", *args]
        return super().parse_args(ctx, args)


app = typer.Typer(
    name="backtest", help="Backtests and parameter sweeps on stored candles.", no_args_is_help=True, cls=_RunByDefault
)


@app.command("run")
def run(
    ctx: typer.Context,
    strategy: bc.StrategyOpt,
    symbol: bc.SymbolOpt,
    interval: bc.IntervalOpt = "1h",
    venue: bc.VenueOpt = None,
    param: bc.ParamOpt = None,
    start: bc.StartOpt = None,
    end: bc.EndOpt = None,
    cash: bc.CashOpt = 10_000.0,
    fee_bps: bc.FeeOpt = 5.5,
    maker_fee_bps: bc.MakerOpt = 2.0,
    slippage_bps: bc.SlipOpt = 0.0,
    vol_impact: bc.VolImpactOpt = 0.0,
    volume_impact: bc.VolumeImpactOpt = 0.0,
    leverage: bc.LevOpt = 1.0,
    mmr: bc.MmrOpt = BYBIT_MAINTENANCE_MARGIN,
    size: bc.SizeOpt = 1.0,
    sizer: bc.SizerOpt = "fraction",
    risk_per_trade: bc.RiskOpt = None,
    check: Annotated[
        bool, typer.Option("--check-lookahead", help="Fail if signals change on truncated history")
    ] = False,
    report_path: bc.ReportOpt = None,
    mc_iterations: Annotated[
        int, typer.Option("--mc-iterations", help="Monte Carlo paths for the report/JSON (0 = none)")
    ] = 0,
    allow_gaps: bc.AllowGapsOpt = False,
    db: bc.DbOpt = None,
    as_json: bc.JsonOpt = False,
) -> None:
    """Backtest one strategy on stored candles, with the benchmark (buy and hold)."""
    from workstation.backtest.runner import run_backtest
    from workstation.data.intervals import format_ms
    from workstation.strategies.base import StrategyError
    from workstation.strategies.builtin import build

    started = time.perf_counter()
    try:
        strat = build(strategy, bc.parse_params(param))
    except (KeyError, ValueError) as exc:
        raise bc.fail(str(exc).strip("'\"")) from exc
    cost = bc.cost_model(
        fee_bps, maker_fee_bps, slippage_bps, vol_impact, volume_impact, leverage, mmr, size, sizer, risk_per_trade
    )
    mkt = bc.market(ctx, db, symbol, interval, venue, start, end, allow_gaps)
    strat = bc.with_inputs(ctx, db, strat, mkt)
    try:
        bt = run_backtest(strat, mkt.candles, cost, cash=cash, funding=mkt.funding)
        if check:
            from workstation.backtest.lookahead import check_lookahead

            report = check_lookahead(strat, mkt.candles)
        else:
            report = None
    except StrategyError as exc:
        raise bc.fail(str(exc)) from exc
    doc = bt.to_dict(mkt)
    doc["sizing"] = bc.sizing(cost)
    doc["funding_settlements"] = mkt.funding_settlements
    if report is not None:
        doc["lookahead"] = {
            "ok": report.ok,
            "cuts_checked": report.cuts_checked,
            "violations": [
                {"cut": format_ms(v.cut_ts), "bar": format_ms(v.bar_ts), "column": v.column} for v in report.violations
            ],
        }
    mc_iterations = mc_iterations or (1000 if report_path else 0)
    mc = bc.monte_carlo_or_none(bt.result, "bootstrap", mc_iterations, 0) if mc_iterations else None
    if mc is not None:
        doc["montecarlo"] = mc.band.to_dict()
    if report_path:
        bc.write_html(report_path, mkt, strat.label(), bt.result, bt.metrics, bt, mc=mc)
    if as_json:
        sys.stdout.write(json.dumps(doc) + "\n")
    else:
        _print_run(doc, mkt, time.perf_counter() - started)
    if report is not None and not report.ok:
        first = report.violations[0]
        raise bc.fail(
            f"lookahead: {strat.name} signal '{first.column}' at {format_ms(first.bar_ts)} changed when history "
            f"was cut after {format_ms(first.cut_ts)} ({len(report.violations)} of {report.cuts_checked} cuts)"
        )


def _print_run(doc: dict[str, Any], mkt: Market, seconds: float) -> None:
    m, b = doc["metrics"], doc["benchmark"]
    src = f" (resampled from {mkt.resampled_from})" if mkt.resampled_from else ""
    bc.out.print(
        f"{doc['strategy']} {doc['params']} on {mkt.venue} {mkt.symbol} {mkt.interval}{src}: "
        f"{m['bars']:,} bars {m['start']} -> {m['end']}, {mkt.funding_settlements} funding settlements"
    )
    sz = doc["sizing"]
    if sz["risk_per_trade"] is not None:
        bc.out.print(
            f"sized by stop distance: {sz['risk_per_trade']:.2%} of equity lost at each stop, "
            f"notional at most {sz['leverage']:g} x equity"
        )
    table = Table("metric", "strategy", "buy & hold")
    for key in ("final_equity", "total_return", "cagr", "sharpe", "sortino", "calmar", "max_drawdown"):
        table.add_row(key, bc.fmt(m[key], key in bc.PCT), bc.fmt(b.get(key), key in bc.PCT))
    for key in (
        "max_drawdown_duration_days",
        "volatility",
        "win_rate",
        "profit_factor",
        "expectancy",
        "average_trade_return",
        "exposure",
        "trade_count",
        "fees_paid",
        "funding_paid",
    ):  # fmt: skip
        table.add_row(key, bc.fmt(m[key], key in bc.PCT), "")
    table.add_row("alpha (annual)", bc.fmt(b["alpha"], True), "")
    table.add_row("beta", bc.fmt(b["beta"]), "")
    bc.out.print(table)
    if "lookahead" in doc:
        la = doc["lookahead"]
        bc.out.print(f"lookahead check: {'ok' if la['ok'] else 'FAILED'} ({la['cuts_checked']} truncations)")
    bc.out.print(f"done in {seconds:.2f} s")


@app.command("sweep")
def sweep_cmd(
    ctx: typer.Context,
    strategy: bc.StrategyOpt,
    symbol: bc.SymbolOpt,
    grid: bc.GridOpt,
    interval: bc.IntervalOpt = "1h",
    venue: bc.VenueOpt = None,
    param: bc.ParamOpt = None,
    start: bc.StartOpt = None,
    end: bc.EndOpt = None,
    cash: bc.CashOpt = 10_000.0,
    fee_bps: bc.FeeOpt = 5.5,
    maker_fee_bps: bc.MakerOpt = 2.0,
    slippage_bps: bc.SlipOpt = 0.0,
    leverage: bc.LevOpt = 1.0,
    mmr: bc.MmrOpt = BYBIT_MAINTENANCE_MARGIN,
    size: bc.SizeOpt = 1.0,
    sizer: bc.SizerOpt = "fraction",
    risk_per_trade: bc.RiskOpt = None,
    jobs: bc.JobsOpt = 0,
    sort: Annotated[str, typer.Option("--sort", help="Metric to rank by")] = "sharpe",
    top: Annotated[int, typer.Option("--top", help="Rows to print")] = 20,
    allow_gaps: bc.AllowGapsOpt = False,
    db: bc.DbOpt = None,
    as_json: bc.JsonOpt = False,
) -> None:
    """Run every combination of a parameter grid in parallel and rank the results."""
    from workstation.backtest.runner import sweep

    combos = bc.combos_of(strategy, grid, param)
    cost = bc.cost_model(fee_bps, maker_fee_bps, slippage_bps, 0.0, 0.0, leverage, mmr, size, sizer, risk_per_trade)
    mkt = bc.market(ctx, db, symbol, interval, venue, start, end, allow_gaps)
    started = time.perf_counter()
    with bc.progress_bar("sweep", as_json) as progress:
        task = progress.add_task("sweep", total=len(combos))
        results = sweep(
            strategy,
            combos,
            mkt.candles,
            cost=cost,
            cash=cash,
            funding=mkt.funding,
            jobs=jobs or None,
            progress=lambda k: progress.advance(task, k),
        )  # fmt: skip
    seconds = time.perf_counter() - started

    def key(r: dict[str, Any]) -> float:
        v = r.get("metrics", {}).get(sort)
        return float("-inf") if v is None else float(v)

    ranked = sorted(results, key=key, reverse=True)
    if as_json:
        doc = {
            "strategy": strategy,
            "symbol": mkt.symbol,
            "interval": mkt.interval,
            "runs": len(results),
            "seconds": seconds,
            "sort": sort,
            "sizing": bc.sizing(cost),
            "results": ranked,
        }  # fmt: skip
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
            *(str(r["params"][n]) for n in names),
            bc.fmt(m["total_return"], True),
            bc.fmt(m["sharpe"]),
            bc.fmt(m["max_drawdown"], True),
            str(m["trade_count"]),
            bc.fmt(m["fees_paid"]),
        )  # fmt: skip
    bc.out.print(table)
    bars = len(mkt.candles) * len(results)
    bc.out.print(
        f"{len(results)} runs on {len(mkt.candles):,} bars in {seconds:.2f} s: "
        f"{len(results) / seconds:.1f} runs/s, {bars / seconds / 1e6:.1f} M bars/s"
    )  # fmt: skip


app.command("walkforward")(backtest_validate.walkforward_cmd)
app.command("montecarlo")(backtest_validate.montecarlo_cmd)
