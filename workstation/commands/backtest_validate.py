"""`workstation backtest walkforward|montecarlo` (also top-level `workstation walkforward|montecarlo`)."""

from __future__ import annotations

import json
import sys
import time
from typing import Annotated

import typer
from rich.table import Table

from workstation.backtest.costs import BYBIT_MAINTENANCE_MARGIN
from workstation.commands import backtest_common as bc

McOpt = Annotated[
    int, typer.Option("--mc-iterations", help="Monte Carlo paths over the out-of-sample trades (0 = none)")
]


def walkforward_cmd(
    ctx: typer.Context,
    strategy: bc.StrategyOpt,
    symbol: bc.SymbolOpt,
    grid: bc.GridOpt,
    train: Annotated[str, typer.Option("--train", help="Train window length, e.g. 90d, 12w, 720h")] = "90d",
    test: Annotated[str, typer.Option("--test", help="Test window length, e.g. 30d")] = "30d",
    step: Annotated[str | None, typer.Option("--step", help="Move between windows [default: the test length]")] = None,
    anchored: Annotated[bool, typer.Option("--anchored", help="Train from the start of the data every time")] = False,
    objective: Annotated[str, typer.Option("--objective", help="Metric the train windows maximise")] = "sharpe",
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
    mc_iterations: McOpt = 1000,
    report_path: bc.ReportOpt = None,
    allow_gaps: bc.AllowGapsOpt = False,
    db: bc.DbOpt = None,
    as_json: bc.JsonOpt = False,
) -> None:
    """Walk-forward: choose parameters on each train window, trade them on the next test window."""
    from workstation.data.intervals import interval_ms

    combos = bc.combos_of(strategy, grid, param)
    cost = bc.cost_model(fee_bps, maker_fee_bps, slippage_bps, 0.0, 0.0, leverage, mmr, size, sizer, risk_per_trade)
    try:
        train_ms, test_ms = interval_ms(train), interval_ms(test)
        step_ms = interval_ms(step) if step else None
    except ValueError as exc:
        raise bc.fail(str(exc)) from exc
    mkt = bc.market(ctx, db, symbol, interval, venue, start, end, allow_gaps)

    from workstation.backtest.walkforward import make_windows, oos_benchmark, split_by_warmup, walk_forward

    windows = make_windows(mkt.candles.ts, train_ms, test_ms, anchored=anchored, step_ms=step_ms)
    if not windows:
        raise bc.fail(f"{len(mkt.candles):,} bars are too few for a {train} train plus a {test} test window")
    try:
        fitting, _ = split_by_warmup(strategy, combos, windows, mkt.candles.ts)
    except ValueError as exc:
        raise bc.fail(f"--train {train}: {exc}") from exc
    started = time.perf_counter()
    with bc.progress_bar("walk-forward", as_json) as progress:
        task = progress.add_task("wf", total=len(windows) * (len(fitting) + 1))
        try:
            wf = walk_forward(
                strategy,
                combos,
                mkt.candles,
                train_ms=train_ms,
                test_ms=test_ms,
                anchored=anchored,
                step_ms=step_ms,
                objective=objective,
                cost=cost,
                cash=cash,
                funding=mkt.funding,
                jobs=jobs or None,
                progress=lambda k: progress.advance(task, k),
            )  # fmt: skip
        except ValueError as exc:
            raise bc.fail(str(exc)) from exc
    seconds = time.perf_counter() - started
    mc_iterations = mc_iterations if as_json or report_path else 0
    mc = bc.monte_carlo_or_none(wf.result, "bootstrap", mc_iterations, 0) if mc_iterations > 0 else None
    if report_path:
        bench = oos_benchmark(wf, strategy, combos[0], mkt.candles, mkt.funding, cost, cash)
        bc.write_html(report_path, mkt, f"{strategy} walk-forward", wf.result, wf.metrics, bench, mc=mc, wf=wf)
    if as_json:
        doc = {"symbol": mkt.symbol, "interval": mkt.interval, "seconds": seconds, "sizing": bc.sizing(cost)}
        doc |= wf.to_dict()
        if mc is not None:
            doc["montecarlo"] = mc.band.to_dict()
        sys.stdout.write(json.dumps(doc) + "\n")
        return
    names = list(combos[0])
    table = Table("#", "train", "test", *names, f"IS {objective}", "OOS return", "OOS sharpe", "OOS max DD")
    for w in wf.windows:
        d, oos = w.to_dict(), w.out_of_sample or {}
        table.add_row(
            str(w.window.index),
            f"{d['train_start'][:10]} -> {d['train_end'][:10]}",
            f"{d['test_start'][:10]} -> {d['test_end'][:10]}",
            *(str((w.params or {}).get(n, "-")) for n in names),
            bc.fmt(w.objective_value),
            bc.fmt(oos.get("total_return"), True),
            bc.fmt(oos.get("sharpe")),
            bc.fmt(oos.get("max_drawdown"), True),
        )  # fmt: skip
    bc.out.print(table)
    m = wf.metrics
    bc.out.print(
        f"out of sample ({'anchored' if anchored else 'rolling'}, {len(wf.windows)} windows): return "
        f"{bc.fmt(m['total_return'], True)}, sharpe {bc.fmt(m['sharpe'])}, max drawdown {bc.fmt(m['max_drawdown'], True)}, "
        f"{m['trade_count']} trades; {len(fitting)} variants per window, {seconds:.2f} s"
    )
    if wf.skipped:
        train_bars = min(w.window.train_end - w.window.train_start for w in wf.windows)
        bc.out.print(
            f"skipped {len(wf.skipped)} of {len(combos)} variants whose warm-up is not shorter than the "
            f"{train_bars:,}-bar train window (lengthen --train to include them): "
            + "; ".join(f"{','.join(f'{k}={v}' for k, v in s.params.items())} ({s.warmup:,} bars)" for s in wf.skipped),
            markup=False,
        )


def montecarlo_cmd(
    ctx: typer.Context,
    strategy: bc.StrategyOpt,
    symbol: bc.SymbolOpt,
    iterations: Annotated[int, typer.Option("--iterations", help="Paths to simulate")] = 5000,
    method: Annotated[str, typer.Option("--method", help="bootstrap, shuffle (trades) or block (days)")] = "bootstrap",
    seed: Annotated[int, typer.Option("--seed", help="Random seed (same seed, same result)")] = 0,
    block_days: Annotated[int, typer.Option("--block-days", help="Block length for --method block")] = 10,
    noise: Annotated[float, typer.Option("--noise", help="Add N(0, noise x sd) to each drawn return")] = 0.0,
    ruin: Annotated[float, typer.Option("--ruin", help="Ruin = equity touching this fraction of the start")] = 0.5,
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
    report_path: bc.ReportOpt = None,
    allow_gaps: bc.AllowGapsOpt = False,
    db: bc.DbOpt = None,
    as_json: bc.JsonOpt = False,
) -> None:
    """Backtest once, then resample its trades (or days) into a distribution of outcomes."""
    from workstation.backtest.montecarlo import monte_carlo
    from workstation.backtest.runner import run_backtest
    from workstation.strategies.base import StrategyError
    from workstation.strategies.builtin import build

    try:
        strat = build(strategy, bc.parse_params(param))
    except (KeyError, ValueError) as exc:
        raise bc.fail(str(exc).strip("'\"")) from exc
    cost = bc.cost_model(fee_bps, maker_fee_bps, slippage_bps, 0.0, 0.0, leverage, mmr, size, sizer, risk_per_trade)
    mkt = bc.market(ctx, db, symbol, interval, venue, start, end, allow_gaps)
    try:
        bt = run_backtest(strat, mkt.candles, cost, cash=cash, funding=mkt.funding)
        mc = monte_carlo(
            bt.result,
            method=method,
            iterations=iterations,
            seed=seed,
            block_days=block_days,
            noise=noise,
            ruin_level=ruin,
        )  # fmt: skip
    except (StrategyError, ValueError) as exc:
        raise bc.fail(str(exc)) from exc
    if report_path:
        bc.write_html(report_path, mkt, strat.label(), bt.result, bt.metrics, bt, mc=mc)
    if as_json:
        doc = bt.to_dict(mkt) | {"sizing": bc.sizing(cost), "montecarlo": mc.band.to_dict()}
        sys.stdout.write(json.dumps(doc) + "\n")
        return
    b = mc.band
    table = Table("statistic", "p5", "p25", "p50", "p75", "p95", "original", "original's percentile")
    for name, band in (("final_return", b.final_return), ("max_drawdown", b.max_drawdown), ("sharpe", b.sharpe)):
        pct = name != "sharpe"
        table.add_row(
            name,
            *(bc.fmt(band.at(p), pct) for p in (5, 25, 50, 75, 95)),
            bc.fmt(band.original, pct),
            f"{band.rank(band.original):.0f}",
        )  # fmt: skip
    bc.out.print(f"{strat.label()} on {mkt.symbol} {mkt.interval}: {b.method}, {b.iterations:,} paths of {b.steps:,}")
    bc.out.print(table)
    bc.out.print(f"probability of ruin (equity touching {b.ruin_level:.0%} of the start): {b.ruin_probability:.2%}")
