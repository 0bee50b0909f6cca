"""`workstation data download | update | instruments | compare`: market data from exchanges.

This is a composition root: it builds the concrete sources. Market data is public, so no API
key is ever loaded here. `--set exchanges.bybit.base_url=http://127.0.0.1:PORT` points `bybit`
and `ccxt:bybit` at another host (a local fake exchange).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from workstation.commands.common import options
from workstation.core.errors import ExchangeError
from workstation.data.compare import CompareReport, compare_candles
from workstation.data.download import (
    CandleSource,
    DownloadProgress,
    DownloadReport,
    download,
    download_funding,
    download_instruments,
    fetch_candles,
    now_ms,
    parse_venue,
    update_all,
)
from workstation.data.intervals import format_ms, interval_ms, parse_time
from workstation.data.store import CandleStore
from workstation.data.sync import make_source
from workstation.runtime import resolve_home

console = Console(soft_wrap=True, emoji=False, highlight=False)
err = Console(stderr=True, soft_wrap=True, emoji=False, highlight=False)

SourceOption = Annotated[str, typer.Option("--source", help="bybit or ccxt:EXCHANGE (ccxt:binance, ccxt:okx, ...)")]
CategoryOption = Annotated[
    str | None, typer.Option("--category", help="spot, linear or inverse [default: linear on bybit, else spot]")
]
DbOption = Annotated[str | None, typer.Option("--db", help="Store file or SQLAlchemy URL [default: <home>/candles.db]")]


def _fail(message: str, code: int = 1) -> typer.Exit:
    err.print(message, style="red", markup=False)
    return typer.Exit(code)


def _store(ctx: typer.Context, db: str | None) -> CandleStore:
    return CandleStore.open(db or resolve_home(options(ctx).home) / "candles.db")


def _time(text: str | None, default: int | None = None) -> int | None:
    if text is None:
        return default
    try:
        return parse_time(text)
    except ValueError as exc:
        raise _fail(str(exc)) from exc


def open_source(ctx: typer.Context, spec: str, category: str | None) -> CandleSource:
    """`bybit` or `ccxt:NAME` -> a source; settings give Bybit's host override and timeout."""
    try:
        return make_source(spec, category, options(ctx).runtime().settings.exchanges.bybit)
    except ExchangeError as exc:
        raise _fail(f"error: {exc}") from exc
    except ValueError as exc:
        raise _fail(str(exc), 2) from exc


def _source_for_venue(ctx: typer.Context) -> Callable[[str], CandleSource]:
    def build(venue: str) -> CandleSource:
        exchange, category = parse_venue(venue)
        return open_source(ctx, "bybit" if exchange == "bybit" else f"ccxt:{exchange}", category)

    return build


class _RateColumn(ProgressColumn):
    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("" if speed is None else f"{speed:,.0f} bars/s")


@contextmanager
def progress_bars() -> Iterator[Callable[[DownloadProgress], None]]:
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,}/{task.total:,} bars"),
        _RateColumn(),
        TimeRemainingColumn(),
        TimeElapsedColumn(),
    )
    tasks: dict[tuple[str, str, str], TaskID] = {}
    with Progress(*columns, console=console) as bar:

        def update(p: DownloadProgress) -> None:
            key = (p.symbol, p.interval, p.kind)
            if key not in tasks:
                tasks[key] = bar.add_task(f"{p.symbol} {p.interval} {p.kind}", total=max(p.expected, 1))
            bar.update(tasks[key], completed=p.fetched, total=max(p.expected, p.fetched, 1))

        yield update


def describe(r: DownloadReport) -> str:
    rate = r.fetched / max(r.seconds, 1e-9)
    return (
        f"{r.venue} {r.symbol} {r.interval} {r.kind}: {len(r.ranges)} missing ranges, {r.fetched:,} bars fetched, "
        f"{r.stats.added:,} added, {r.stats.changed:,} changed, {r.requests} requests, "
        f"{r.seconds:.1f} s ({rate:,.0f} bars/s)"
    )


def download_cmd(
    ctx: typer.Context,
    symbol: Annotated[str, typer.Option("--symbol", help="e.g. BTCUSDT (or a ccxt symbol, BTC/USDT:USDT)")],
    interval: Annotated[str, typer.Option("--interval", help="1m, 5m, 15m, 1h, 4h, 1d, 1w")],
    start: Annotated[str, typer.Option("--start", help="UTC date/time or ms")],
    source: SourceOption = "bybit",
    end: Annotated[str | None, typer.Option("--end", help="UTC date/time or ms (exclusive) [default: now]")] = None,
    category: CategoryOption = None,
    mark: Annotated[bool, typer.Option("--mark", help="Also mark-price candles")] = False,
    funding: Annotated[bool, typer.Option("--funding", help="Also funding-rate history")] = False,
    db: DbOption = None,
) -> None:
    """Download candles into the store; fetches only what is missing, so it resumes and is idempotent."""
    lo, hi = _time(start), _time(end)
    assert lo is not None
    try:
        interval_ms(interval)
    except ValueError as exc:
        raise _fail(str(exc), 2) from exc
    src = open_source(ctx, source, category)
    kinds = ["trade", "mark"] if mark else ["trade"]
    try:
        with _store(ctx, db) as store, progress_bars() as progress:
            for kind in kinds:
                report = download(store, src, symbol, interval, lo, hi, kind=kind, progress=progress)
                console.print(describe(report))
            if funding:
                f = download_funding(store, src, symbol, lo, hi)
                console.print(f"{f.venue} {f.symbol} funding: {f.fetched:,} rates fetched, {f.changed:,} stored")
    except ExchangeError as exc:
        raise _fail(f"error: {exc}\nwhat was fetched is stored: run the same command again to resume") from exc
    except KeyboardInterrupt:
        raise _fail("interrupted: what was fetched is stored; run the same command again to resume", 130) from None
    finally:
        src.close()


def update_cmd(
    ctx: typer.Context,
    venue: Annotated[list[str] | None, typer.Option("--venue", help="Only these venues (repeatable)")] = None,
    db: DbOption = None,
) -> None:
    """Top up every stored series (candles and funding) from its last bar to now."""
    with _store(ctx, db) as store, progress_bars() as progress:
        results = update_all(store, _source_for_venue(ctx), venues=set(venue) if venue else None, progress=progress)
    if not results:
        console.print("nothing stored to update")
    failed = 0
    for r in results:
        if r.error is not None:
            failed += 1
            err.print(f"{r.venue} {r.symbol} {r.interval} {r.kind}: {r.error}", style="red", markup=False)
        elif r.report is not None:
            console.print(describe(r.report))
        else:
            console.print(f"{r.venue} {r.symbol} funding: {r.funding_added:,} rates stored")
    if failed:
        raise typer.Exit(1)


def instruments_cmd(
    ctx: typer.Context,
    source: SourceOption = "bybit",
    category: CategoryOption = None,
    db: DbOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Download the instrument list (tick size, quantity step, minimums) into the store."""
    src = open_source(ctx, source, category)
    try:
        with _store(ctx, db) as store:
            found = download_instruments(store, src)
    except ExchangeError as exc:
        raise _fail(f"error: {exc}") from exc
    finally:
        src.close()
    if as_json:
        rows = [
            {
                "venue": i.venue,
                "symbol": i.symbol,
                "category": i.category.value,
                "tick_size": str(i.tick_size),
                "qty_step": str(i.qty_step),
                "min_qty": str(i.min_qty),
                "min_notional": str(i.min_notional),
            }
            for i in found
        ]
        console.print_json(json.dumps(rows))
        return
    console.print(f"{src.venue} {src.category}: {len(found)} instruments stored ({src.requests} requests)")


def _series_from(
    ctx: typer.Context,
    store: CandleStore,
    spec: str,
    category: str | None,
    symbol: str,
    interval: str,
    lo: int,
    hi: int,
) -> tuple[str, object]:
    if spec.startswith("store:"):
        venue = spec.removeprefix("store:")
        return spec, store.read(venue, symbol, interval, lo, hi)
    src = open_source(ctx, spec, category)
    try:
        return spec, fetch_candles(src, symbol, interval, lo, hi)
    finally:
        src.close()


def compare_cmd(
    ctx: typer.Context,
    symbol: Annotated[str, typer.Option("--symbol", help="e.g. BTCUSDT")],
    interval: Annotated[str, typer.Option("--interval", help="1m, 5m, 15m, 1h, 4h, 1d, 1w")],
    source_a: Annotated[str | None, typer.Option("--source-a", help="bybit, ccxt:NAME or store:VENUE")] = None,
    source_b: Annotated[str | None, typer.Option("--source-b", help="bybit, ccxt:NAME or store:VENUE")] = None,
    sources: Annotated[str | None, typer.Option("--sources", help="A,B (instead of --source-a/--source-b)")] = None,
    start: Annotated[str | None, typer.Option("--start", help="UTC date/time or ms [default: 1 day ago]")] = None,
    end: Annotated[str | None, typer.Option("--end", help="UTC date/time or ms [default: now]")] = None,
    category: CategoryOption = None,
    tolerance_bps: Annotated[float, typer.Option("--tolerance-bps", help="Price difference allowed")] = 5.0,
    db: DbOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Cross-check two sources' candles: bars missing on either side, prices beyond a tolerance."""
    if sources:
        parts = [p.strip() for p in sources.split(",")]
        if len(parts) != 2:
            raise _fail("--sources takes two sources: A,B", 2)
        source_a, source_b = parts
    if not source_a or not source_b:
        raise _fail("give two sources: --source-a A --source-b B (or --sources A,B)", 2)
    try:
        step = interval_ms(interval)
    except ValueError as exc:
        raise _fail(str(exc), 2) from exc
    hi = _time(end, now_ms())
    assert hi is not None
    lo = _time(start, hi - 86_400_000)
    assert lo is not None
    try:
        with _store(ctx, db) as store:
            name_a, a = _series_from(ctx, store, source_a, category, symbol, interval, lo, hi)
            name_b, b = _series_from(ctx, store, source_b, category, symbol, interval, lo, hi)
    except ExchangeError as exc:
        raise _fail(f"error: {exc}") from exc
    report = compare_candles(
        a,
        b,
        step,
        interval=interval,
        name_a=name_a,
        name_b=name_b,
        tolerance_bps=tolerance_bps,  # type: ignore[arg-type]
    )
    if as_json:
        console.print_json(
            json.dumps({"symbol": symbol, "start": format_ms(lo), "end": format_ms(hi), **report.to_dict()})
        )
        return
    _print_compare(symbol, report)


def _print_compare(symbol: str, r: CompareReport) -> None:
    verdict = "[green]agree[/green]" if r.ok else "[red]differ[/red]"
    console.print(
        f"{symbol} {r.interval}: {r.name_a} {r.rows_a:,} bars, {r.name_b} {r.rows_b:,} bars, "
        f"{r.common:,} in common: {verdict}"
    )
    for name, runs, total in ((r.name_b, r.only_a, r.missing_in_b), (r.name_a, r.only_b, r.missing_in_a)):
        console.print(f"missing in {name}: {total:,} bars in {len(runs)} runs")
        for run in runs[:20]:
            console.print(f"  {run}")
    worst = ", ".join(f"{c} {v:.1f}" for c, v in r.max_bps.items())
    console.print(f"prices beyond {r.tolerance_bps:g} bps: {r.differing_bars:,} bars (max bps: {worst})")
    for d in r.worst[:20]:
        console.print(f"  {d}")
    if r.volume_ratio == r.volume_ratio:  # not NaN
        console.print(f"volume {r.name_a}/{r.name_b} (median ratio): {r.volume_ratio:.3f}")


def register(app: typer.Typer) -> None:
    app.command("download")(download_cmd)
    app.command("update")(update_cmd)
    app.command("instruments")(instruments_cmd)
    app.command("compare")(compare_cmd)
