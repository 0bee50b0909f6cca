"""Download candles, funding and instruments from a source into the store, resuming what is there.

The store is the progress record: every page is stored as soon as it arrives, and a download
asks the source only for the ranges the store is missing. Running it again after an interruption
picks up where it stopped; running it twice fetches nothing new (apart from one probe per range
the exchange has no bars for, such as before a listing).

Sources are blocking (pybit, ccxt's sync API): call these functions from a worker thread.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from workstation.core.errors import ExchangeError, ExchangeUnavailable
from workstation.core.types import Instrument
from workstation.data.arrays import CandleArrays
from workstation.data.intervals import bucket_offset_ms, interval_ms
from workstation.data.store import CandleStore, UpsertStats

# The category each exchange's plain venue label means (freqtrade's `bybit` folder holds futures).
DEFAULT_CATEGORY = {"bybit": "linear"}


class CandleSource(Protocol):
    name: str  # "bybit", "ccxt:binance"
    venue: str  # the store label candles are kept under
    category: str
    requests: int  # HTTP requests made so far

    def candle_pages(
        self, symbol: str, interval: str, start: int, end: int, *, kind: str = "trade"
    ) -> Iterator[CandleArrays]: ...

    def funding_pages(self, symbol: str, start: int, end: int) -> Iterator[tuple[np.ndarray, np.ndarray]]: ...

    def instrument_pages(self) -> Iterator[list[Instrument]]: ...

    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class DownloadProgress:
    symbol: str
    interval: str
    kind: str
    fetched: int  # closed bars received so far
    expected: int  # bars the missing ranges can hold (shrinks when the source has fewer)
    requests: int


@dataclass(frozen=True, slots=True)
class DownloadReport:
    venue: str
    symbol: str
    interval: str
    kind: str
    start: int
    end: int
    ranges: tuple[tuple[int, int], ...]  # what was missing and asked for
    fetched: int
    stats: UpsertStats
    requests: int
    seconds: float

    @property
    def added(self) -> int:
        return self.stats.added


ProgressCallback = Callable[[DownloadProgress], None]
BAN_MS = 10 * 60_000  # Bybit bans an IP for at least 10 minutes after an HTTP 403


@dataclass(frozen=True, slots=True)
class Pacing:
    """How fast we ask and how long we back off. Tests shrink these."""

    # 50 requests/s at most: Bybit allows 600 per 5 s per IP.
    min_interval_s: float = 0.02
    max_retries: int = 4
    retry_delay_s: float = 1.0  # first back-off after a 5xx or timeout, doubled each time
    max_wait_s: float = 60.0  # cap on one wait for a rate-limit reset


class IpBanned(ExchangeUnavailable):
    """The venue refused this IP (HTTP 403): stop every request until `until_ms` (local clock)."""

    def __init__(self, message: str, *, until_ms: int) -> None:
        self.until_ms = until_ms
        super().__init__(message)


def default_category(exchange: str) -> str:
    return DEFAULT_CATEGORY.get(exchange, "spot")


def venue_label(exchange: str, category: str) -> str:
    """'bybit' + linear -> 'bybit'; 'binance' + spot -> 'binance'; 'binance' + linear -> 'binance-linear'."""
    return exchange if category == default_category(exchange) else f"{exchange}-{category}"


def parse_venue(venue: str) -> tuple[str, str]:
    """The inverse of venue_label: 'bybit-spot' -> ('bybit', 'spot')."""
    exchange, _, category = venue.partition("-")
    return exchange, category or default_category(exchange)


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def open_bar_start(interval: str, at_ms: int) -> int:
    """Open time of the bar that is still forming at `at_ms`."""
    step, offset = interval_ms(interval), bucket_offset_ms(interval)
    return (at_ms - offset) // step * step + offset


def align_up(ts: int, interval: str) -> int:
    step, offset = interval_ms(interval), bucket_offset_ms(interval)
    return -((offset - ts) // step) * step + offset


def missing_ranges(stored_ts: np.ndarray, start: int, end: int, step: int) -> list[tuple[int, int]]:
    """[start, end) ranges (aligned, end exclusive) holding no stored bar; stored_ts sorted unique."""
    ts = stored_ts[(stored_ts >= start) & (stored_ts < end)]
    if not len(ts):
        return [(start, end)] if end > start else []
    ranges: list[tuple[int, int]] = []
    if ts[0] > start:
        ranges.append((start, int(ts[0])))
    holes = np.flatnonzero(np.diff(ts) > step)
    ranges += [(int(ts[i]) + step, int(ts[i + 1])) for i in holes]
    if int(ts[-1]) + step < end:
        ranges.append((int(ts[-1]) + step, end))
    return ranges


def download(
    store: CandleStore,
    source: CandleSource,
    symbol: str,
    interval: str,
    start: int,
    end: int | None = None,
    *,
    kind: str = "trade",
    progress: ProgressCallback | None = None,
    at_ms: int | None = None,
) -> DownloadReport:
    """Fetch the closed bars of [start, end) the store lacks (end defaults to now), page by page."""
    started = time.perf_counter()
    requests_before = source.requests
    step = interval_ms(interval)
    last_closed_end = open_bar_start(interval, now_ms() if at_ms is None else at_ms)
    start = align_up(start, interval)
    end = last_closed_end if end is None else min(align_up(end, interval), last_closed_end)
    stored = store.read(source.venue, symbol, interval, start, end, kind=kind).ts
    ranges = missing_ranges(stored, start, end, step)
    expected = sum((b - a) // step for a, b in ranges)
    fetched = 0
    stats = UpsertStats()

    def report() -> None:
        if progress is not None:
            progress(DownloadProgress(symbol, interval, kind, fetched, expected, source.requests - requests_before))

    report()
    # Newest range first: an interrupted download then leaves one contiguous recent block.
    for lo, hi in reversed(ranges):
        in_range = 0
        for page in source.candle_pages(symbol, interval, lo, hi, kind=kind):
            stats = stats + store.upsert_candles(source.venue, symbol, interval, page, kind=kind)
            in_range += len(page)
            fetched += len(page)
            report()
        expected -= max((hi - lo) // step - in_range, 0)
        report()
    return DownloadReport(
        source.venue,
        symbol,
        interval,
        kind,
        start,
        end,
        tuple(ranges),
        fetched,
        stats,
        source.requests - requests_before,
        time.perf_counter() - started,
    )


def fetch_candles(
    source: CandleSource, symbol: str, interval: str, start: int, end: int, *, kind: str = "trade"
) -> CandleArrays:
    """Closed candles of [start, end) straight from the source, not stored (for cross-checks)."""
    pages = list(source.candle_pages(symbol, interval, align_up(start, interval), end, kind=kind))
    merged = CandleArrays.concat(pages)
    order = np.argsort(merged.ts, kind="stable")
    merged = merged.take(order)
    keep = np.concatenate([merged.ts[1:] != merged.ts[:-1], [True]]) if len(merged) else np.empty(0, bool)
    return merged.take(keep)


@dataclass(frozen=True, slots=True)
class FundingReport:
    venue: str
    symbol: str
    fetched: int
    changed: int  # rows inserted or changed in the store
    requests: int


def download_funding(
    store: CandleStore, source: CandleSource, symbol: str, start: int, end: int | None = None
) -> FundingReport:
    """Funding settlements in [start, end) outside what is stored (before the first, after the last)."""
    requests_before = source.requests
    end = now_ms() if end is None else end
    stored = store.read_funding(source.venue, symbol, start, end).ts
    ranges = [(start, end)] if not len(stored) else [(start, int(stored[0])), (int(stored[-1]) + 1, end)]
    fetched = changed = 0
    for lo, hi in reversed(ranges):
        if hi <= lo:
            continue
        for ts, rate in source.funding_pages(symbol, lo, hi):
            changed += store.upsert_funding(source.venue, symbol, ts, rate)
            fetched += len(ts)
    return FundingReport(source.venue, symbol, fetched, changed, source.requests - requests_before)


def download_instruments(store: CandleStore, source: CandleSource) -> list[Instrument]:
    """Every instrument of the source's category, stored (updated in place when known)."""
    found: list[Instrument] = []
    for page in source.instrument_pages():
        for instrument in page:
            store.upsert_instrument(instrument)
        found += page
    return found


@dataclass(frozen=True, slots=True)
class UpdateResult:
    venue: str
    symbol: str
    interval: str  # "-" for funding
    kind: str  # trade | mark | funding
    report: DownloadReport | None = None
    funding_added: int = 0
    error: str | None = None


def update_all(
    store: CandleStore,
    open_source: Callable[[str], CandleSource],
    *,
    venues: set[str] | None = None,
    progress: ProgressCallback | None = None,
    at_ms: int | None = None,
) -> list[UpdateResult]:
    """Top up every stored series and funding history from its last entry to now.

    `open_source(venue)` builds the source for a venue label. A series whose source fails is
    reported and the rest carry on; an IP ban stops everything.
    """
    jobs: list[tuple[str, str, str, str, int]] = [
        (s.venue, s.symbol, s.interval, s.kind, s.last_ts + interval_ms(s.interval)) for s in store.series()
    ]
    jobs += [(venue, symbol, "-", "funding", last + 1) for venue, symbol, _first, last, _n in store.funding_series()]
    results: list[UpdateResult] = []
    sources: dict[str, CandleSource] = {}
    try:
        for venue, symbol, interval, kind, start in jobs:
            if venues is not None and venue not in venues:
                continue
            try:
                if venue not in sources:
                    sources[venue] = open_source(venue)
                source = sources[venue]
                if kind == "funding":
                    funding = download_funding(store, source, symbol, start, at_ms)
                    results.append(UpdateResult(venue, symbol, interval, kind, funding_added=funding.changed))
                    continue
                report = download(store, source, symbol, interval, start, kind=kind, progress=progress, at_ms=at_ms)
                results.append(UpdateResult(venue, symbol, interval, kind, report))
            except ExchangeError as exc:
                results.append(UpdateResult(venue, symbol, interval, kind, error=str(exc)))
                if isinstance(exc, IpBanned):
                    break
    finally:
        for source in sources.values():
            source.close()
    return results
