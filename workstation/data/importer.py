"""Import one file into the store: pick the parser, check, then upsert all-or-nothing."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from workstation.core.types import Instrument
from workstation.data import chunks
from workstation.data.intervals import infer_interval
from workstation.data.markets import MarketKind, record_market
from workstation.data.sources.binance_files import looks_like_binance, parse_binance
from workstation.data.sources.common import BadRow, DataImportError, ParsedFile
from workstation.data.sources.csv_import import CsvFormat, parse_csv
from workstation.data.sources.feather import parse_feather
from workstation.data.store import CandleStore

# freqtrade keeps data under user_data/data/<exchange>/...; the folder names the venue.
KNOWN_VENUES = ("binance", "bybit", "okx", "kraken", "kucoin", "gateio", "bitget", "coinbase", "htx")


class FileFormat(StrEnum):
    AUTO = "auto"
    BINANCE = "binance"
    FEATHER = "feather"
    FREQTRADE = "freqtrade"  # freqtrade's data files are feather files: the same parser
    CSV = "csv"


@dataclass(frozen=True, slots=True)
class ImportReport:
    path: Path
    venue: str
    symbol: str
    interval: str | None  # None for funding rates
    kind: str
    ts_unit: str
    rows_read: int
    added: int
    changed: int
    duplicates: int  # rows in the file repeating an earlier timestamp (the last one was kept)
    bad_rows: tuple[BadRow, ...]
    instrument: Instrument | None = None  # recorded when a market was given

    @property
    def skipped(self) -> int:
        return len(self.bad_rows)


def detect_format(path: Path) -> FileFormat:
    if path.suffix == ".feather":
        return FileFormat.FEATHER
    return FileFormat.BINANCE if looks_like_binance(path) else FileFormat.CSV


def parse_file(
    path: Path, fmt: FileFormat = FileFormat.AUTO, *, interval: str | None = None, csv_format: CsvFormat | None = None
) -> ParsedFile:
    if not path.is_file():
        raise DataImportError(path, "no such file")
    fmt = detect_format(path) if fmt is FileFormat.AUTO else fmt
    if fmt in (FileFormat.FEATHER, FileFormat.FREQTRADE):
        return parse_feather(path, interval=interval)
    if fmt is FileFormat.BINANCE:
        return parse_binance(path, interval=interval)
    return parse_csv(path, csv_format, interval=interval)


def _venue(path: Path, fmt: FileFormat, venue: str | None) -> str:
    if venue:
        return venue
    if fmt is FileFormat.BINANCE:
        return "binance"
    parts = [p.lower() for p in path.resolve().parts]
    found = [v for v in KNOWN_VENUES if v in parts]
    if found:
        return found[-1]
    raise DataImportError(path, "cannot tell the venue from the file; pass venue= / --venue")


def import_file(
    store: CandleStore,
    path: Path | str,
    *,
    venue: str | None = None,
    symbol: str | None = None,
    interval: str | None = None,
    fmt: FileFormat = FileFormat.AUTO,
    csv_format: CsvFormat | None = None,
    skip_bad_rows: bool = False,
    market: MarketKind | None = None,
) -> ImportReport:
    """Parse and store one file. With bad rows and skip_bad_rows=False nothing is stored.

    `market` (crypto, equity, fx, commodity, bond) is recorded on the symbol's instrument.
    """
    path = Path(path)
    fmt = detect_format(path) if fmt is FileFormat.AUTO and path.is_file() else fmt
    parsed = parse_file(path, fmt, interval=interval, csv_format=csv_format)
    if not skip_bad_rows:
        parsed.require_clean()
    symbol = symbol or parsed.symbol
    if not symbol:
        raise DataImportError(path, "cannot tell the symbol from the file name; pass symbol= / --symbol")
    venue = _venue(path, fmt, venue)
    candles = parsed.candles
    unique = chunks.normalise(candles)
    if parsed.kind == "funding":
        added = store.upsert_funding(venue, symbol, unique.ts, unique.open)
        return ImportReport(
            path,
            venue,
            symbol,
            None,
            "funding",
            parsed.ts_unit,
            parsed.rows_read,
            added,
            0,
            len(candles) - len(unique),
            parsed.bad_rows,
        )
    interval = interval or parsed.interval or infer_interval(unique.ts)
    if interval is None:
        raise DataImportError(path, "cannot tell the interval from the file; pass interval= / --interval")
    try:
        stats = store.upsert_candles(venue, symbol, interval, candles, kind=parsed.kind)
    except ValueError as exc:
        raise DataImportError(path, str(exc)) from exc
    instrument = None if market is None else record_market(store, venue, symbol, market, unique)
    return ImportReport(
        path,
        venue,
        symbol,
        interval,
        parsed.kind,
        parsed.ts_unit,
        parsed.rows_read,
        stats.added,
        stats.changed,
        len(candles) - len(unique),
        parsed.bad_rows,
        instrument,
    )
