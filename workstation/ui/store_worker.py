"""The candle store, worked from one background thread so the UI thread never waits on SQLite.

Jobs are plain functions of the store; their results come back to the UI thread through a
queued Qt signal and are handed to the callback given at submit. One thread means the store
(and its SQLite connection pool) is only ever touched from one place.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Signal, Slot

from workstation.core.enums import Category
from workstation.data.arrays import CandleArrays
from workstation.data.intervals import interval_ms
from workstation.data.resample import ratio
from workstation.data.sample import SAMPLE_SYMBOL, load_bundled_sample
from workstation.data.store import CandleStore
from workstation.ui.overlays import compute_overlays

log = logging.getLogger(__name__)

CHART_INTERVALS = ("1m", "5m", "15m", "1h", "4h", "1d", "1w")
BYBIT_LINEAR_VENUE = "bybit"  # data.sources.bybit.venue_for(Category.LINEAR), without importing pybit here


@dataclass(frozen=True, slots=True)
class SeriesKey:
    venue: str
    symbol: str

    def label(self) -> str:
        return f"{self.symbol} · {self.venue}"


@dataclass(frozen=True, slots=True)
class Catalog:
    """What the store holds: for each venue/symbol, the stored trade intervals."""

    stored: dict[SeriesKey, tuple[str, ...]]
    imported_sample: bool = False
    bybit_linear: frozenset[str] | None = (
        None  # Bybit's linear contracts from the stored instrument list; None: none stored
    )

    def keys(self) -> list[SeriesKey]:
        return sorted(self.stored, key=lambda k: (k.symbol != SAMPLE_SYMBOL, k.symbol, k.venue))

    def intervals(self, key: SeriesKey) -> list[str]:
        """Stored intervals plus every chart interval that can be resampled from one of them."""
        stored = self.stored.get(key, ())
        out = [i for i in CHART_INTERVALS if i in stored or resample_source(stored, i) is not None]
        return out + sorted(set(stored) - set(out), key=interval_ms)


@dataclass(frozen=True, slots=True)
class ChartData:
    key: SeriesKey
    interval: str
    candles: CandleArrays
    overlays: dict[str, tuple[np.ndarray, ...]]
    source_interval: str  # what was read from the store (resampled when it differs)

    @property
    def bar_seconds(self) -> float:
        return interval_ms(self.interval) / 1000.0


def resample_source(stored: tuple[str, ...] | list[str], target: str) -> str | None:
    """The coarsest stored interval that builds `target` exactly, if any."""
    usable = []
    for source in stored:
        try:
            ratio(source, target)
        except ValueError:
            continue
        usable.append(source)
    return max(usable, key=interval_ms) if usable else None


def read_catalog(store: CandleStore) -> Catalog:
    stored: dict[SeriesKey, list[str]] = {}
    for info in store.series():
        if info.kind == "trade" and info.rows:
            stored.setdefault(SeriesKey(info.venue, info.symbol), []).append(info.interval)
    linear = [i.symbol for i in store.instruments(BYBIT_LINEAR_VENUE) if i.category is Category.LINEAR]
    return Catalog(
        {k: tuple(sorted(v, key=interval_ms)) for k, v in stored.items()}, bybit_linear=frozenset(linear) or None
    )


def open_catalog(store: CandleStore, progress: Callable[[str], None]) -> Catalog:
    """The store's catalog; on first launch (no candles at all) import the bundled sample first."""
    catalog = read_catalog(store)
    if catalog.stored:
        return catalog
    progress("First launch: importing the bundled BTCUSDT 1-minute sample (no network needed)…")
    report = load_bundled_sample(store)
    log.info("imported the bundled sample: %s candles of %s %s", report.added, report.symbol, report.interval)
    again = read_catalog(store)
    return Catalog(again.stored, imported_sample=True, bybit_linear=again.bybit_linear)


def load_chart(store: CandleStore, key: SeriesKey, interval: str, stored: tuple[str, ...]) -> ChartData:
    if interval in stored:
        candles, source = store.read(key.venue, key.symbol, interval), interval
    else:
        source = resample_source(stored, interval)
        if source is None:
            raise ValueError(f"{key.symbol} has no stored interval that builds {interval}")
        candles = store.read_resampled(key.venue, key.symbol, source, interval).candles
    return ChartData(key, interval, candles, compute_overlays(candles.close), source)


class StoreWorker(QObject):
    progress = Signal(str)
    failed = Signal(str)
    _done = Signal(int, object, object)  # token, result, error

    def __init__(self, path: Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.path = path
        self._store: CandleStore | None = None
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="candle-store")
        self._tokens = itertools.count(1)
        self._callbacks: dict[int, Callable[[Any], None]] = {}
        self._closed = threading.Event()
        self._done.connect(self._deliver)

    def store(self) -> CandleStore:
        """Only call from jobs (the worker thread)."""
        if self._store is None:
            self._store = CandleStore.open(self.path)
        return self._store

    def submit(self, job: Callable[[CandleStore], Any], on_done: Callable[[Any], None]) -> Future | None:
        """Run `job(store)` on the store thread, then `on_done(result)` on the UI thread. None
        once shut down (the window is closing)."""
        if self._closed.is_set():
            return None
        token = next(self._tokens)
        self._callbacks[token] = on_done
        future = self._pool.submit(lambda: job(self.store()))
        future.add_done_callback(lambda f: self._finish(token, f))
        return future

    def report(self, text: str) -> None:
        """Progress from inside a job (any thread)."""
        if not self._closed.is_set():
            self.progress.emit(text)

    def _finish(self, token: int, future: Future) -> None:
        if self._closed.is_set() or future.cancelled():
            return
        error = future.exception()
        try:
            self._done.emit(token, None if error else future.result(), error)
        except RuntimeError:  # the window (and this QObject) went away meanwhile
            pass

    @Slot(int, object, object)
    def _deliver(self, token: int, result: object, error: BaseException | None) -> None:
        callback = self._callbacks.pop(token, None)
        if error is not None:
            log.error("candle store job failed: %s", error, exc_info=error)
            self.failed.emit(f"{type(error).__name__}: {error}")
        elif callback is not None:
            callback(result)

    def shutdown(self) -> None:
        """Drop queued jobs, wait for the running one (reads take tens of ms), close the store."""
        self._closed.set()
        self._callbacks.clear()
        self._pool.shutdown(wait=True, cancel_futures=True)
        if self._store is not None:
            self._store.close()
            self._store = None
