"""`workstation data export | repair | sync`: write candles out, mend gaps, keep the universe current."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from workstation.commands.common import options
from workstation.commands.data_download import (
    DbOption,
    _fail,
    _source_for_venue,
    _store,
    _time,
    console,
    describe,
    err,
    open_source,
    progress_bars,
)
from workstation.core.errors import ExchangeError
from workstation.data.download import CandleSource
from workstation.data.export import TS_FORMATS, export_csv
from workstation.data.repair import RepairReport, repair
from workstation.data.store import CandleStore, SeriesInfo
from workstation.data.sync import source_factory, sync_universe

SymbolOption = Annotated[str, typer.Option("--symbol", help="e.g. BTCUSDT")]
IntervalOption = Annotated[str, typer.Option("--interval", help="1m, 5m, 15m, 1h, 4h, 1d, 1w")]
VenueOption = Annotated[str | None, typer.Option("--venue", help="Needed when the symbol is stored for several")]
KindOption = Annotated[str, typer.Option("--kind", help="trade or mark")]


def one_series(store: CandleStore, venue: str | None, symbol: str, interval: str, kind: str) -> SeriesInfo:
    found = [
        s
        for s in store.series()
        if s.symbol == symbol and s.interval == interval and s.kind == kind and venue in (None, s.venue)
    ]
    if not found:
        raise _fail(f"no {kind} candles stored for {symbol} {interval}" + (f" on {venue}" if venue else ""))
    if len(found) > 1:
        raise _fail(
            f"{symbol} {interval} is stored for several venues ({', '.join(s.venue for s in found)}); pass --venue"
        )
    return found[0]


def export_cmd(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="CSV file to write (.csv.gz compresses)")],
    symbol: SymbolOption,
    interval: IntervalOption,
    venue: VenueOption = None,
    start: Annotated[str | None, typer.Option("--start", help="UTC date/time or ms")] = None,
    end: Annotated[str | None, typer.Option("--end", help="UTC date/time or ms (exclusive)")] = None,
    ts_format: Annotated[str, typer.Option("--ts-format", help="iso (UTC, ...Z) or ms")] = "iso",
    include_filled: Annotated[
        bool, typer.Option("--include-filled", help="Also write filled bars, with a `filled` column")
    ] = False,
    kind: KindOption = "trade",
    db: DbOption = None,
) -> None:
    """Write stored candles to CSV (open_time, open, high, low, close, volume); `data import` reads it back."""
    if ts_format not in TS_FORMATS:
        raise _fail(f"--ts-format must be one of {', '.join(TS_FORMATS)}", 2)
    lo, hi = _time(start), _time(end)
    with _store(ctx, db) as store:
        info = one_series(store, venue, symbol, interval, kind)
        report = export_csv(
            store, info.venue, symbol, interval, path, kind=kind, start=lo, end=hi,
            ts_format=ts_format, include_filled=include_filled,
        )  # fmt: skip
    note = f", {report.filled_left_out:,} filled bars left out" if report.filled_left_out else ""
    note += f", {report.filled_written:,} filled bars marked" if report.filled_written else ""
    console.print(f"{info.venue} {symbol} {interval} {kind}: {report.rows:,} candles written to {path}{note}")


def _print_repair(r: RepairReport) -> None:
    console.print(
        f"{r.venue} {r.symbol} {r.interval} {r.kind}: {len(r.gaps_before)} gaps ({r.missing_before:,} bars) before, "
        f"{r.refetched:,} bars refetched, {r.replaced_filled:,} filled bars replaced by real ones, "
        f"{sum(f.bars for f in r.filled):,} bars filled, {len(r.gaps_after)} gaps ({r.missing_after:,} bars) left"
    )
    for f in r.filled[:50]:
        console.print(f"  filled {f}")
    for g in r.gaps_after[:50]:
        console.print(f"  gap {g}")


def repair_cmd(
    ctx: typer.Context,
    symbol: SymbolOption,
    interval: IntervalOption,
    venue: VenueOption = None,
    source: Annotated[
        str | None, typer.Option("--source", help="bybit or ccxt:NAME [default: the series' own exchange]")
    ] = None,
    category: Annotated[str | None, typer.Option("--category", help="spot, linear or inverse")] = None,
    no_fetch: Annotated[bool, typer.Option("--no-fetch", help="Do not ask any source (offline)")] = False,
    fill: Annotated[
        bool, typer.Option("--fill", help="Fill the gaps left with flat bars at the previous close, marked as filled")
    ] = False,
    start: Annotated[str | None, typer.Option("--start", help="Only gaps after this UTC date/time or ms")] = None,
    end: Annotated[str | None, typer.Option("--end", help="Only gaps before this UTC date/time or ms")] = None,
    kind: KindOption = "trade",
    db: DbOption = None,
) -> None:
    """Refetch a series' gaps (and filled bars) from a source; with --fill, fill what is left, marked.

    Exit status 1 when gaps remain.
    """
    lo, hi = _time(start), _time(end)
    with _store(ctx, db) as store:
        info = one_series(store, venue, symbol, interval, kind)
        src: CandleSource | None = None
        if not no_fetch:
            src = open_source(ctx, source, category) if source else _source_for_venue(ctx)(info.venue)
        try:
            with progress_bars() as progress:
                report = repair(
                    store, info.venue, symbol, interval, source=src, fill=fill, kind=kind, start=lo, end=hi,
                    progress=progress,
                )  # fmt: skip
        except ValueError as exc:
            raise _fail(str(exc)) from exc
        except ExchangeError as exc:
            raise _fail(f"error: {exc}\nwhat was fetched is stored: run the same command again to resume") from exc
        finally:
            if src is not None:
                src.close()
    _print_repair(report)
    if report.gaps_after:
        hint = "" if fill else "; --fill fills them (marked as filled, never shown as real)"
        err.print(f"{len(report.gaps_after)} gaps remain: the source has no bars for them{hint}", markup=False)
        raise typer.Exit(1)


def sync_cmd(
    ctx: typer.Context,
    symbol: Annotated[list[str] | None, typer.Option("--symbol", help="Only these symbols (repeatable)")] = None,
    db: DbOption = None,
) -> None:
    """Download or top up every symbol and interval of `data.universe` in the settings."""
    settings = options(ctx).runtime().settings
    universe = settings.data.universe
    if not universe:
        console.print("data.universe is empty: nothing to sync")
        return
    try:
        with _store(ctx, db) as store, progress_bars() as progress:
            results = sync_universe(
                store, universe, source_factory(settings), progress=progress, symbols=set(symbol) if symbol else None
            )
    except ValueError as exc:
        raise _fail(str(exc), 2) from exc
    except KeyboardInterrupt:
        raise _fail("interrupted: what was fetched is stored; run `data sync` again to resume", 130) from None
    failed = 0
    for r in results:
        if r.error is not None:
            failed += 1
            err.print(f"{r.source} {r.symbol} {r.interval}: {r.error}", style="red", markup=False)
        elif r.report is not None:
            console.print(describe(r.report))
    if failed:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("export")(export_cmd)
    app.command("repair")(repair_cmd)
    app.command("sync")(sync_cmd)
