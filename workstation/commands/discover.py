"""`workstation discover | regimes | correlations`: strategy discovery on stored candles."""

from __future__ import annotations

import datetime as dt
import getpass
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich import box
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from workstation.backtest.costs import CostModel
from workstation.backtest.metrics import periods_per_year
from workstation.backtest.runner import load_market
from workstation.commands.common import options
from workstation.data.intervals import format_ms, parse_time
from workstation.data.store import CandleStore
from workstation.discovery import crossmarket
from workstation.discovery import regimes as RG
from workstation.discovery.run import discover as run_discovery
from workstation.discovery.run import load_inputs
from workstation.discovery.search import BACKENDS, ML, ML_FEATURES, RULE_FAMILIES, SearchConfig
from workstation.runtime import resolve_home
from workstation.strategies.builtin.ml import PEERS

out = Console(soft_wrap=True, emoji=False, highlight=False)
err = Console(stderr=True, soft_wrap=True, emoji=False, highlight=False)

DbOpt = Annotated[str | None, typer.Option("--db", help="Store file or URL [default: <home>/candles.db]")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document and nothing else on stdout")]
VenueOpt = Annotated[str | None, typer.Option("--venue", help="Needed when a symbol is stored for several")]
StartOpt = Annotated[str | None, typer.Option("--start", help="UTC date/time or ms")]
EndOpt = Annotated[str | None, typer.Option("--end", help="UTC date/time or ms (exclusive)")]


def _fail(message: str, code: int = 1) -> typer.Exit:
    err.print(message, style="red", markup=False)
    return typer.Exit(code)


def _db(ctx: typer.Context, db: str | None) -> str | Path:
    return db or resolve_home(options(ctx).home) / "candles.db"


def _range(start: str | None, end: str | None) -> tuple[int | None, int | None]:
    try:
        return (None if start is None else parse_time(start), None if end is None else parse_time(end))
    except ValueError as exc:
        raise _fail(str(exc)) from exc


def _symbols(text: str) -> list[str]:
    return [s.strip().upper() for s in text.split(",") if s.strip()]


def _ml_features(text: str) -> int:
    level = ML_FEATURES.get(text.strip().lower())
    if level is None and text.strip() in {str(v) for v in ML_FEATURES.values()}:
        level = int(text)
    if level is None:
        names = ", ".join(f"{k} ({v})" for k, v in ML_FEATURES.items())
        raise _fail(f"--ml-features {text!r} is not one of: {names}")
    return level


def _peer(text: str | None, no_peer: bool) -> int:
    if text is None:
        return 0
    if no_peer:
        raise _fail("give --peer SYMBOL or --no-peer, not both")
    symbol = text.strip().upper()
    if symbol not in PEERS[1:]:
        raise _fail(f"--peer {text!r} is not a known peer; known: {', '.join(PEERS[1:])}")
    return PEERS.index(symbol)


def ml_settings(cfg: SearchConfig) -> dict[str, Any]:
    """The ML family's inputs as --json and the report show them."""
    name = next(k for k, v in ML_FEATURES.items() if v == cfg.features)
    return {"features": name, "features_level": cfg.features, "peer": PEERS[cfg.peer] or None}


def discover(
    ctx: typer.Context,
    symbols: Annotated[str, typer.Option("--symbols", help="Comma-separated, e.g. BTCUSDT,ETHUSDT")],
    interval: Annotated[str, typer.Option("--interval", help="1h, 4h, ... (resampled when not stored)")] = "1h",
    start: StartOpt = None,
    end: EndOpt = None,
    budget: Annotated[int, typer.Option("--budget", help="Variants to try in all (rules + ML)")] = 500,
    families: Annotated[
        str, typer.Option("--families", help=f"Comma-separated: {', '.join((*RULE_FAMILIES, ML))}")
    ] = ",".join((*RULE_FAMILIES, ML)),
    models: Annotated[str, typer.Option("--models", help="ML models: hgb, logreg")] = "hgb,logreg",
    horizons: Annotated[str, typer.Option("--horizons", help="ML label horizons in bars")] = "6,24",
    min_train: Annotated[int, typer.Option("--min-train", help="Bars before the first out-of-sample fold")] = 3000,
    fold_bars: Annotated[int, typer.Option("--fold-bars", help="Bars per out-of-sample fold / ML refit")] = 1000,
    embargo: Annotated[int, typer.Option("--embargo", help="Bars kept clear around each test fold")] = 24,
    ml_features: Annotated[
        str,
        typer.Option(
            "--ml-features",
            help="ML feature set: returns (returns and volatility), technical (plus indicators), "
            "funding (plus the symbol's funding rate; its funding history must be stored)",
        ),
    ] = "technical",
    peer: Annotated[
        str | None,
        typer.Option(
            "--peer",
            help=f"Give ML candidates a peer market's returns as features: one of {', '.join(PEERS[1:])}, "
            "stored at the same interval and venue (a market is never its own peer)",
        ),
    ] = None,
    no_peer: Annotated[bool, typer.Option("--no-peer", help="ML candidates use no peer market (the default)")] = False,
    fee_bps: Annotated[float, typer.Option("--fee-bps", help="Taker fee in bps (Bybit linear: 5.5)")] = 5.5,
    slippage_bps: Annotated[float, typer.Option("--slippage-bps", help="Slippage in bps on market fills")] = 1.0,
    jobs: Annotated[int | None, typer.Option("--jobs", help="Worker processes [default: all cores]")] = None,
    backend: Annotated[str, typer.Option("--backend", help=f"One of: {', '.join(BACKENDS)}")] = "process",
    scheduler: Annotated[str | None, typer.Option("--scheduler", help="Dask scheduler, tcp://HOST:PORT")] = None,
    seed: Annotated[int, typer.Option("--seed", help="Sampling and model seed")] = 0,
    top: Annotated[int, typer.Option("--top", help="Candidates to show / put in the JSON")] = 20,
    report: Annotated[Path | None, typer.Option("--report", help="Write an HTML report here")] = None,
    submit: Annotated[
        bool, typer.Option("--submit/--no-submit", help="Queue candidates that pass every gate for graduation")
    ] = True,
    venue: VenueOpt = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Search rule families and ML classifiers; rank by out-of-sample, deflated Sharpe and PBO."""
    lo, hi = _range(start, end)
    fams = tuple(f.strip() for f in families.split(",") if f.strip())
    level, peer_code = _ml_features(ml_features), _peer(peer, no_peer)
    if (level != ML_FEATURES["technical"] or peer_code) and ML not in fams:
        raise _fail("--ml-features/--peer set the ML family's inputs: add ml to --families")
    try:
        cfg = SearchConfig(
            families=fams,
            budget=budget,
            models=tuple(m.strip() for m in models.split(",") if m.strip()),
            horizons=tuple(int(h) for h in horizons.split(",") if h.strip()),
            min_train=min_train,
            step=fold_bars,
            embargo=embargo,
            features=level,
            peer=peer_code,
            cost=CostModel(taker_fee=fee_bps * 1e-4, slippage_bps=slippage_bps),
            jobs=jobs,
            backend=backend,
            scheduler=scheduler,
            seed=seed,
        )
        with CandleStore.open(_db(ctx, db)) as store:
            markets = load_inputs(store, _symbols(symbols), interval, venue=venue, start=lo, end=hi, cfg=cfg)
        with Progress(
            TextColumn("discovering {task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=err,
            transient=as_json,
        ) as bar:
            task = bar.add_task(symbols, total=None)

            def progress(done: int, total: int, _what: str) -> None:
                bar.update(task, completed=done, total=total)

            result = run_discovery(markets, cfg, progress=progress)
    except (LookupError, ValueError, RuntimeError) as exc:
        raise _fail(str(exc)) from exc
    doc: dict[str, Any] = {"symbols": [m.symbol for m in markets], "interval": interval}
    if ML in fams:
        doc["ml"] = ml_settings(cfg)
    doc |= result.to_dict(top)
    if report is not None:
        from workstation.discovery.report import write

        write(result, report, title=f"Discovery {','.join(doc['symbols'])} {interval}", ml=doc.get("ml"))
        doc["report"] = str(report)
    if submit and result.passed:
        doc["graduation"] = _submit(ctx, result.passed[:top])
    if as_json:
        out.print_json(json.dumps(doc, default=str))
        return
    _print_discovery(result, doc, top)


def _submit(ctx: typer.Context, candidates: list) -> list[dict[str, Any]]:
    from workstation.commands.discover_handoff import submit as hand_over
    from workstation.core.clock import SystemClock
    from workstation.graduation.pipeline import GraduationPipeline
    from workstation.graduation.store import GraduationStore, store_path

    rt = options(ctx).runtime()
    store = GraduationStore.open(store_path(rt.home))
    try:
        pipeline = GraduationPipeline(store, rt.settings.graduation, bus=rt.bus, clock=SystemClock())
        who = f"discover:{getpass.getuser()}"
        stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return hand_over(pipeline, candidates, source=f"workstation discover {stamp}", by=who)
    finally:
        store.close()


def _spaced(label: str) -> str:
    """name(a=1,b=2) -> "name a=1 b=2": wraps between parameters, never inside one."""
    return label.replace("(", " ", 1).removesuffix(")").replace(",", " ")


def _print_discovery(result: Any, doc: dict[str, Any], top: int) -> None:
    # fixed-width numbers never wrap; only the candidate column folds (at its ", "), so the table
    # reads at 80 columns and puts each candidate on one line from about 120
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True, header_style="bold")
    table.add_column("#", justify="right", no_wrap=True)
    table.add_column("candidate", ratio=1, min_width=18, overflow="fold")
    for name in ("Sharpe", "return", "trades", "DSR", "PBO", "P(win)"):
        table.add_column(name, justify="right", no_wrap=True)
    table.add_column("verdict", no_wrap=True)
    for c in result.candidates[:top]:
        table.add_row(
            str(c.rank),
            f"{c.trial.symbol} {_spaced(c.trial.label)}",
            f"{c.oos['sharpe']:.2f}",
            f"{c.oos['total_return']:.1%}",
            str(c.oos["trades"]),
            f"{c.dsr:.3f}",
            "-" if c.pbo is None else f"{c.pbo:.2f}",
            f"{c.success.mean:.2f}",
            "[green]PASS[/]" if c.passed else f"fails {len(c.reasons)}",
        )
    out.print(table)
    out.print(
        "Out of sample, after costs. DSR: deflated Sharpe; PBO: probability of backtest overfitting; "
        "P(win): P(profitable fold) (90% interval and gate reasons in --json / --report).",
        style="dim",
        soft_wrap=False,
    )
    for c in result.candidates[: min(3, top)]:
        out.print(f"#{c.rank}: {'; '.join(c.reasons)}", markup=False, soft_wrap=False)
    out.print(
        f"{result.trials} variants in {result.elapsed_s:.1f} s ({result.trials / max(result.elapsed_s, 1e-9):.1f}/s); "
        f"{len(result.passed)} passed every gate"
    )
    if "ml" in doc:
        ml = doc["ml"]
        out.print(f"ML inputs: features {ml['features']}, peer {ml['peer'] or 'none'}")
    for g in doc.get("graduation", []):
        out.print(f"graduation: {g['label']} {g['symbol']}: {g['note']}" + (f" (id {g['id']})" if g["id"] else ""))
    if "report" in doc:
        out.print(f"report: {doc['report']}")


def regimes(
    ctx: typer.Context,
    symbol: Annotated[str, typer.Option("--symbol", help="e.g. BTCUSDT")],
    interval: Annotated[str, typer.Option("--interval", help="1d, 4h, 1h, ...")] = "1d",
    window: Annotated[int, typer.Option("--window", help="Trend and volatility window (bars)")] = 20,
    causal: Annotated[bool, typer.Option("--causal", help="Expanding-window labels (no hindsight)")] = False,
    start: StartOpt = None,
    end: EndOpt = None,
    venue: VenueOpt = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Bull / bear / sideways and high / low volatility periods from Gaussian mixtures."""
    lo, hi = _range(start, end)
    try:
        with CandleStore.open(_db(ctx, db)) as store:
            candles = load_market(store, symbol.upper(), interval, venue=venue, start=lo, end=hi).candles
        if causal:
            reg = RG.causal_labels(candles.close, candles.ts, window=window, min_train=max(100, len(candles) // 4))
        else:
            reg = RG.describe(candles, window=window)
    except (LookupError, ValueError) as exc:
        raise _fail(str(exc)) from exc
    periods = reg.periods()
    stats = RG.summary(reg, candles.close, periods_per_year(candles.ts))
    doc = {
        "symbol": symbol.upper(),
        "interval": interval,
        "bars": len(candles),
        "causal": causal,
        "window": window,
        "summary": stats,
        "periods": [{**p, "start": format_ms(p["start_ts"]), "end": format_ms(p["end_ts"])} for p in periods],
    }
    if as_json:
        out.print_json(json.dumps(doc))
        return
    table = Table("regime", "share", "bars", "market return", "market Sharpe")
    for name, s in stats.items():
        sharpe = "-" if s["market_sharpe"] is None else f"{s['market_sharpe']:.2f}"
        table.add_row(name, f"{s['share']:.1%}", str(s["bars"]), f"{s['market_return']:.1%}", sharpe)
    out.print(table)
    long_runs = [p for p in doc["periods"] if p["bars"] >= 5]
    out.print(f"{len(periods)} periods; the ones lasting 5+ bars:")
    for p in long_runs:
        out.print(f"  {p['start']} -> {p['end']}  {p['regime']:<20} {p['bars']} bars")


def correlations(
    ctx: typer.Context,
    symbols: Annotated[str, typer.Option("--symbols", help="Comma-separated, e.g. BTCUSDT,ETHUSDT,SOLUSDT")],
    interval: Annotated[str, typer.Option("--interval", help="1h, 4h, 1d, ...")] = "1h",
    window: Annotated[int, typer.Option("--window", help="Rolling correlation window (bars)")] = 168,
    max_lag: Annotated[int, typer.Option("--max-lag", help="Lead-lag checked up to this many bars")] = 6,
    start: StartOpt = None,
    end: EndOpt = None,
    venue: VenueOpt = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Return correlation matrix, rolling correlations and lead-lag between symbols."""
    lo, hi = _range(start, end)
    try:
        with CandleStore.open(_db(ctx, db)) as store:
            markets = {
                s: load_market(store, s, interval, venue=venue, start=lo, end=hi).candles for s in _symbols(symbols)
            }
        doc = crossmarket.analyse(markets, window=window, max_lag=max_lag)
    except (LookupError, ValueError) as exc:
        raise _fail(str(exc)) from exc
    doc["interval"] = interval
    if as_json:
        out.print_json(json.dumps(doc))
        return
    syms = doc["symbols"]
    table = Table("", *syms)
    for s, row in zip(syms, doc["matrix"], strict=True):
        table.add_row(s, *(f"{x:.2f}" for x in row))
    out.print(f"{doc['bars']} common bars, {format_ms(doc['start_ts'])} -> {format_ms(doc['end_ts'])}")
    out.print(table)
    pairs = Table("pair", "corr", f"rolling {window} last [min, max]", "best lag", "leader", "lag corr")
    for p in doc["pairs"]:
        pairs.add_row(
            f"{p['a']}/{p['b']}",
            f"{p['correlation']:.2f}",
            f"{p['rolling_last']:.2f} [{p['rolling_min']:.2f}, {p['rolling_max']:.2f}]",
            str(p["best_lag"]),
            p["leader"],
            f"{p['best_lag_corr']:.3f}",
        )
    out.print(pairs)
