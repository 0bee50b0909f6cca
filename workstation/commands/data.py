"""`workstation data ...`: import files, list what is stored, check quality, show candles.

download/update/instruments/compare live in data_download.py; export/repair/sync in data_maintain.py.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from workstation.commands import data_download, data_maintain
from workstation.commands.common import options
from workstation.commands.data_maintain import one_series
from workstation.data.filled import read_filled
from workstation.data.importer import FileFormat, import_file
from workstation.data.intervals import format_ms, parse_time
from workstation.data.markets import MarketKind
from workstation.data.quality import QualityReport, check, find_gaps
from workstation.data.sample import load_bundled_sample
from workstation.data.sources.common import DataImportError
from workstation.data.sources.csv_import import CsvFormat
from workstation.data.store import CandleStore, SeriesInfo
from workstation.runtime import resolve_home

app = typer.Typer(
    name="data",
    help="Market data: download, sync, import, export, list, check, repair, compare and show candles.",
    no_args_is_help=True,
)
data_download.register(app)
data_maintain.register(app)
console = Console(soft_wrap=True, emoji=False)
err = Console(stderr=True, soft_wrap=True, emoji=False)


def default_db(ctx: typer.Context | None = None) -> Path:
    """candles.db in the home directory: --home, else $WORKSTATION_HOME, else the per-user data dir."""
    return resolve_home(options(ctx).home if ctx is not None else None) / "candles.db"


DbOption = Annotated[
    str | None,
    typer.Option("--db", help="Store file or SQLAlchemy URL [default: <home>/candles.db]"),
]
VenueOption = Annotated[str | None, typer.Option("--venue", help="binance, bybit, ...")]
SymbolOption = Annotated[str, typer.Option("--symbol", help="e.g. BTCUSDT")]
IntervalOption = Annotated[str, typer.Option("--interval", help="1m, 5m, 15m, 1h, 4h, 1d, 1w")]
KindOption = Annotated[str, typer.Option("--kind", help="trade or mark")]


def _open(ctx: typer.Context, db: str | None) -> CandleStore:
    return CandleStore.open(db or default_db(ctx))


def _fail(message: str) -> typer.Exit:
    err.print(message, style="red", markup=False, highlight=False)
    return typer.Exit(1)


@app.command("import")
def import_(
    ctx: typer.Context,
    paths: Annotated[list[Path], typer.Argument(help="Files to import")],
    venue: VenueOption = None,
    symbol: Annotated[str | None, typer.Option("--symbol", help="Default: from the file name")] = None,
    interval: Annotated[str | None, typer.Option("--interval", help="Default: from the file")] = None,
    fmt: Annotated[FileFormat, typer.Option("--format", help="File format (freqtrade = feather)")] = FileFormat.AUTO,
    market: Annotated[MarketKind | None, typer.Option("--market", help="Recorded on the instrument (category)")] = None,
    skip_bad_rows: Annotated[
        bool, typer.Option("--skip-bad-rows", help="Import the good rows of a file that has bad ones")
    ] = False,
    ts_column: Annotated[str | None, typer.Option("--ts-column", help="CSV timestamp column")] = None,
    ts_unit: Annotated[str, typer.Option("--ts-unit", help="CSV: auto, s, ms, us, ns, iso")] = "auto",
    timezone: Annotated[str, typer.Option("--timezone", help="CSV: zone of naive dates")] = "UTC",
    db: DbOption = None,
) -> None:
    """Import Binance dumps, freqtrade feather files or CSV files (all-or-nothing per file)."""
    csv_format = CsvFormat(ts=ts_column, ts_unit=ts_unit, timezone=timezone)
    failed = 0
    with (
        _open(ctx, db) as store,
        Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total} files"),
            TimeElapsedColumn(),
            console=console,
        ) as progress,
    ):
        task = progress.add_task("importing", total=len(paths))
        for path in paths:
            progress.update(task, description=f"importing {path.name}")
            started = time.perf_counter()
            try:
                report = import_file(
                    store,
                    path,
                    venue=venue,
                    symbol=symbol,
                    interval=interval,
                    fmt=fmt,
                    csv_format=csv_format,
                    skip_bad_rows=skip_bad_rows,
                    market=market,
                )
            except DataImportError as exc:
                failed += 1
                progress.console.print(str(exc), style="red", markup=False, highlight=False)
            else:
                rate = report.rows_read / max(time.perf_counter() - started, 1e-9)
                what = report.interval or "funding"
                progress.console.print(
                    f"{path.name}: {report.venue} {report.symbol} {what} {report.kind}, "
                    f"{report.rows_read} rows read ({report.ts_unit}), {report.added} added, "
                    f"{report.changed} changed, {report.skipped} bad rows skipped, "
                    f"{report.duplicates} duplicates, {rate:,.0f} rows/s",
                    highlight=False,
                )
                if report.instrument is not None:
                    i = report.instrument
                    progress.console.print(
                        f"  instrument {i.venue} {i.symbol}: {i.category.value}, {i.base}/{i.quote}, "
                        f"tick {i.tick_size}, qty step {i.qty_step}",
                        highlight=False,
                    )
                for bad in report.bad_rows[:20]:
                    progress.console.print(f"  skipped {bad}", highlight=False)
            progress.advance(task)
    if failed:
        raise typer.Exit(1)


def _stored_quality(store: CandleStore, s: SeriesInfo) -> QualityReport:
    candles = store.read(s.venue, s.symbol, s.interval, kind=s.kind)
    return check(candles, s.interval, filled=read_filled(store, s.venue, s.symbol, s.interval, kind=s.kind))


@app.command("list")
def list_(
    ctx: typer.Context, db: DbOption = None, as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False
) -> None:
    """What is stored: venue, symbol, interval, kind, first, last, rows, gaps (and filled bars)."""
    rows = []
    with _open(ctx, db) as store:
        for s in store.series():
            gaps = find_gaps(store.read(s.venue, s.symbol, s.interval, kind=s.kind).ts, s.interval)
            filled = read_filled(store, s.venue, s.symbol, s.interval, kind=s.kind)
            rows.append((s, gaps, sum(f.bars for f in filled)))
    if as_json:
        console.print_json(
            json.dumps(
                [
                    {
                        "venue": s.venue,
                        "symbol": s.symbol,
                        "interval": s.interval,
                        "kind": s.kind,
                        "first": format_ms(s.first_ts),
                        "last": format_ms(s.last_ts),
                        "first_ts": s.first_ts,
                        "last_ts": s.last_ts,
                        "rows": s.rows,
                        "gaps": len(gaps),
                        "missing_bars": sum(g.missing for g in gaps),
                        "filled_bars": filled,
                        "bytes_per_candle": s.stored_bytes / max(s.rows, 1),
                    }
                    for s, gaps, filled in rows
                ]
            )
        )
        return
    table = Table(
        "venue", "symbol", "interval", "kind", "first (UTC)", "last (UTC)", "rows", "gaps", "filled", "bytes/row"
    )
    for s, gaps, filled in rows:
        table.add_row(
            s.venue,
            s.symbol,
            s.interval,
            s.kind,
            format_ms(s.first_ts),
            format_ms(s.last_ts),
            f"{s.rows:,}",
            f"{len(gaps)} ({sum(g.missing for g in gaps):,} bars)" if gaps else "0",
            f"{filled:,}",
            f"{s.stored_bytes / max(s.rows, 1):.1f}",
        )
    console.print(table if rows else "nothing stored yet")


@app.command("check")
def check_cmd(
    ctx: typer.Context,
    symbol: Annotated[str | None, typer.Option("--symbol", help="Only this symbol [default: all]")] = None,
    interval: Annotated[str | None, typer.Option("--interval", help="Only this interval [default: all]")] = None,
    venue: VenueOption = None,
    kind: Annotated[str | None, typer.Option("--kind", help="trade or mark [default: both]")] = None,
    db: DbOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Gaps, duplicates, ordering, OHLC consistency, outliers, zero-volume and stale runs, filled bars.

    Exit status 1 when a series has errors (gaps, duplicates, misaligned bars, OHLC violations).
    """
    with _open(ctx, db) as store:
        chosen = [
            s
            for s in store.series()
            if symbol in (None, s.symbol)
            and interval in (None, s.interval)
            and venue in (None, s.venue)
            and kind in (None, s.kind)
        ]
        if not chosen:
            what = " ".join(x for x in (symbol, interval, kind, venue and f"on {venue}") if x)
            raise _fail(f"no candles stored{' for ' + what if what else ''}")
        reports = [(s, _stored_quality(store, s)) for s in chosen]
    ok = all(r.ok for _, r in reports)
    if as_json:
        series = [{"venue": s.venue, "symbol": s.symbol, "kind": s.kind, **r.to_dict()} for s, r in reports]
        console.print_json(json.dumps({"ok": ok, "series": series}))
    else:
        for s, report in reports:
            _print_report(s, report)
    if not ok:
        raise typer.Exit(1)


# the name this command had first
app.command("quality", hidden=True, help="Alias of `data check`.")(check_cmd)


def _print_report(info: SeriesInfo, report: QualityReport) -> None:
    verdict = "[green]ok[/green]" if report.ok else "[red]problems found[/red]"
    console.print(
        f"{info.venue} {info.symbol} {info.interval} {info.kind}: {report.rows:,} rows, "
        f"{format_ms(report.first_ts)} -> {format_ms(report.last_ts)} UTC: {verdict}"
    )
    console.print(f"gaps: {len(report.gaps)} ({report.missing_bars} bars missing)")
    for gap in report.gaps[:50]:
        console.print(f"  {gap}")
    if report.filled:
        console.print(f"filled (made up, not real): {len(report.filled)} ranges, {report.filled_bars} bars")
        for f in report.filled[:50]:
            console.print(f"  {f}")
    console.print(
        f"duplicates: {len(report.duplicates)}, out of order: {report.out_of_order}, "
        f"misaligned: {len(report.misaligned)}, OHLC violations: {len(report.ohlc_violations)}"
    )
    for v in report.ohlc_violations[:20]:
        console.print(f"  {format_ms(v.ts)}: {v.problem}")
    console.print(
        f"warnings: {len(report.outliers)} outliers, {len(report.zero_volume_runs)} zero-volume "
        f"runs, {len(report.stale_runs)} stale-price runs"
    )
    for o in report.outliers[:20]:
        console.print(f"  outlier {format_ms(o.ts)}: log return {o.log_return:+.4f}, z {o.z:+.0f}")
    for r in report.zero_volume_runs[:20]:
        console.print(f"  zero volume {format_ms(r.start_ts)} -> {format_ms(r.end_ts)} ({r.bars} bars)")
    for r in report.stale_runs[:20]:
        console.print(f"  stale price {format_ms(r.start_ts)} -> {format_ms(r.end_ts)} ({r.bars} bars)")


@app.command("show")
def show(
    ctx: typer.Context,
    symbol: SymbolOption,
    interval: IntervalOption,
    venue: VenueOption = None,
    start: Annotated[str | None, typer.Option("--start", help="UTC date/time or ms")] = None,
    end: Annotated[str | None, typer.Option("--end", help="UTC date/time or ms (exclusive)")] = None,
    resample_to: Annotated[str | None, typer.Option("--resample", help="e.g. 1h")] = None,
    limit: Annotated[int, typer.Option("--limit", help="Rows to print (the last ones)")] = 20,
    kind: KindOption = "trade",
    db: DbOption = None,
) -> None:
    """Print stored candles, optionally resampled (incomplete buckets are left out and counted)."""
    try:
        lo = None if start is None else parse_time(start)
        hi = None if end is None else parse_time(end)
    except ValueError as exc:
        raise _fail(str(exc)) from exc
    with _open(ctx, db) as store:
        info = one_series(store, venue, symbol, interval, kind)
        note = ""
        if resample_to:
            try:
                result = store.read_resampled(info.venue, symbol, interval, resample_to, lo, hi, kind=kind)
            except ValueError as exc:
                raise _fail(str(exc)) from exc
            candles = result.candles
            note = f", {result.dropped} incomplete {resample_to} buckets left out"
        else:
            candles = store.read(info.venue, symbol, interval, lo, hi, kind=kind)
    shown = candles.take(slice(max(len(candles) - limit, 0), None))
    table = Table("open time (UTC)", "open", "high", "low", "close", "volume")
    for c in shown.candles():
        table.add_row(format_ms(c.ts), f"{c.open:g}", f"{c.high:g}", f"{c.low:g}", f"{c.close:g}", f"{c.volume:g}")
    console.print(table)
    console.print(f"{len(candles):,} candles in range, last {len(shown)} shown{note}")


@app.command("load-sample")
def load_sample(ctx: typer.Context, db: DbOption = None) -> None:
    """Import the bundled Binance BTCUSDT 1m sample (idempotent)."""
    with _open(ctx, db) as store:
        report = load_bundled_sample(store)
    console.print(f"sample: {report.symbol} {report.interval}, {report.added} candles added")
