"""CandleStore: candles in month chunks of compressed column arrays, plus instruments and funding.

Time ranges are UTC milliseconds, start inclusive and end exclusive. `kind` is 'trade' (last
price) or 'mark' (mark price). Opening a store upgrades its schema to the newest migration.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from types import TracebackType

import numpy as np
import pandas as pd
from sqlalchemy import Engine, and_, create_engine, delete, event, func, insert, select, update

from workstation.core.enums import Category
from workstation.core.types import Instrument
from workstation.data import chunks
from workstation.data.arrays import CandleArrays
from workstation.data.codec import DEFAULT_CODEC, N_COLUMNS, Codec, decode, decode_into, encode, unpack
from workstation.data.intervals import bucket_offset_ms, interval_ms, month_start_ms
from workstation.data.migrate import upgrade_to_head
from workstation.data.resample import Resampled, align_up, resample
from workstation.data.schema import candle_chunks, filled_ranges, funding_rates, instruments

KINDS = ("trade", "mark")


@dataclass(frozen=True, slots=True)
class UpsertStats:
    added: int = 0
    changed: int = 0
    chunks_written: int = 0

    def __add__(self, other: UpsertStats) -> UpsertStats:
        return UpsertStats(
            self.added + other.added,
            self.changed + other.changed,
            self.chunks_written + other.chunks_written,
        )


@dataclass(frozen=True, slots=True)
class SeriesInfo:
    venue: str
    symbol: str
    interval: str
    kind: str
    first_ts: int
    last_ts: int
    rows: int
    chunks: int
    stored_bytes: int


@dataclass(frozen=True, slots=True)
class FundingRates:
    ts: np.ndarray  # int64 UTC ms of each settlement
    rate: np.ndarray  # float64, e.g. 0.0001 = 0.01 %


def _url(location: str | Path) -> str:
    text = str(location)
    if "://" in text:
        return text
    path = Path(text).expanduser().resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


def _sqlite_pragmas(dbapi_connection: object, _record: object) -> None:
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _check(interval: str, kind: str) -> None:
    interval_ms(interval)
    if kind not in KINDS:
        raise ValueError(f"kind {kind!r} is not one of {', '.join(KINDS)}")


class CandleStore:
    def __init__(self, engine: Engine, codec: Codec = DEFAULT_CODEC) -> None:
        self.engine = engine
        self.codec = codec

    @classmethod
    def open(cls, location: str | Path, *, codec: Codec = DEFAULT_CODEC) -> CandleStore:
        """Open (creating if needed) a store at a file path or SQLAlchemy URL; migrate to head."""
        url = _url(location)
        engine = create_engine(url)
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", _sqlite_pragmas)
        upgrade_to_head(engine)
        return cls(engine, codec)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> CandleStore:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # ---- candles -----------------------------------------------------------------------------

    def _key(self, venue: str, symbol: str, interval: str, kind: str) -> object:
        c = candle_chunks.c
        return and_(c.venue == venue, c.symbol == symbol, c.interval == interval, c.kind == kind)

    def upsert_candles(
        self, venue: str, symbol: str, interval: str, candles: CandleArrays, *, kind: str = "trade"
    ) -> UpsertStats:
        """Merge candles into the stored series in one transaction; re-importing changes nothing."""
        _check(interval, kind)
        step = interval_ms(interval)
        new = chunks.normalise(candles)
        misaligned = np.flatnonzero((new.ts - bucket_offset_ms(interval)) % step)
        if len(misaligned):
            bad = int(new.ts[misaligned[0]])
            raise ValueError(f"timestamp {bad} is not aligned to the {interval} interval")
        stats = UpsertStats()
        now = int(time.time() * 1000)
        c = candle_chunks.c
        with self.engine.begin() as conn:
            for month, part in chunks.split_by_month(new):
                key = and_(self._key(venue, symbol, interval, kind), c.month_ms == month)
                row = conn.execute(select(c.codec, c.n_rows, c.data).where(key)).first()
                old = CandleArrays.empty() if row is None else decode(row.data, Codec(row.codec), row.n_rows)
                merged = chunks.merge(old, part)
                if not merged.modified:
                    continue
                values = {
                    "codec": self.codec.value,
                    "n_rows": len(merged.candles),
                    "first_ts": int(merged.candles.ts[0]),
                    "last_ts": int(merged.candles.ts[-1]),
                    "data": encode(merged.candles, self.codec),
                    "updated_ms": now,
                }
                if row is None:
                    conn.execute(
                        insert(candle_chunks).values(
                            venue=venue, symbol=symbol, interval=interval, kind=kind, month_ms=month, **values
                        )
                    )
                else:
                    conn.execute(update(candle_chunks).where(key).values(**values))
                stats = stats + UpsertStats(merged.added, merged.changed, 1)
        return stats

    def read(
        self,
        venue: str,
        symbol: str,
        interval: str,
        start: int | None = None,
        end: int | None = None,
        *,
        kind: str = "trade",
    ) -> CandleArrays:
        """Stored candles with start <= ts < end, as numpy columns."""
        _check(interval, kind)
        c = candle_chunks.c
        query = select(c.codec, c.n_rows, c.data).where(self._key(venue, symbol, interval, kind))
        if start is not None:
            query = query.where(c.month_ms >= month_start_ms(start))
        if end is not None:
            query = query.where(c.month_ms < end)
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(c.month_ms)).all()
        total = sum(r.n_rows for r in rows)
        block = np.empty((N_COLUMNS, total), dtype=np.float64)
        offset = 0
        for r in rows:
            decode_into(r.data, Codec(r.codec), r.n_rows, block, offset)
            offset += r.n_rows
        return unpack(block).between(start, end)

    def read_frame(
        self,
        venue: str,
        symbol: str,
        interval: str,
        start: int | None = None,
        end: int | None = None,
        *,
        kind: str = "trade",
    ) -> pd.DataFrame:
        return self.read(venue, symbol, interval, start, end, kind=kind).to_frame()

    def read_resampled(
        self,
        venue: str,
        symbol: str,
        source: str,
        target: str,
        start: int | None = None,
        end: int | None = None,
        *,
        kind: str = "trade",
        keep_partial: bool = False,
    ) -> Resampled:
        """Buckets of `target` whose open is in [start, end), built from stored `source` candles.

        Buckets missing any source bar are dropped unless keep_partial (then `complete` says which).
        """
        lo = None if start is None else align_up(start, target)
        hi = None if end is None else align_up(end, target)
        raw = self.read(venue, symbol, source, lo, hi, kind=kind)
        return resample(raw, source, target, keep_partial=keep_partial)

    def series(self) -> list[SeriesInfo]:
        c = candle_chunks.c
        query = (
            select(
                c.venue,
                c.symbol,
                c.interval,
                c.kind,
                func.min(c.first_ts),
                func.max(c.last_ts),
                func.sum(c.n_rows),
                func.count(),
                func.sum(func.length(c.data)),
            )
            .group_by(c.venue, c.symbol, c.interval, c.kind)
            .order_by(c.venue, c.symbol, c.interval, c.kind)
        )
        with self.engine.connect() as conn:
            return [SeriesInfo(*(int(v) if isinstance(v, int) else v for v in row)) for row in conn.execute(query)]

    def delete_series(self, venue: str, symbol: str, interval: str, *, kind: str = "trade") -> int:
        """Drop a series and its filled-range markers. Returns the chunks deleted."""
        f = filled_ranges.c
        with self.engine.begin() as conn:
            conn.execute(
                delete(filled_ranges).where(
                    f.venue == venue, f.symbol == symbol, f.interval == interval, f.kind == kind
                )
            )
            return conn.execute(delete(candle_chunks).where(self._key(venue, symbol, interval, kind))).rowcount

    # ---- funding -----------------------------------------------------------------------------

    def upsert_funding(self, venue: str, symbol: str, ts: np.ndarray, rate: np.ndarray) -> int:
        """Store funding settlements (newer value wins). Returns rows inserted or changed."""
        ts = np.asarray(ts, dtype=np.int64)
        rate = np.asarray(rate, dtype=np.float64)
        latest = dict(zip(ts.tolist(), rate.tolist(), strict=True))
        if not latest:
            return 0
        f = funding_rates.c
        key = and_(f.venue == venue, f.symbol == symbol)
        with self.engine.begin() as conn:
            existing = dict(
                conn.execute(select(f.ts, f.rate).where(key, f.ts >= min(latest), f.ts <= max(latest))).all()
            )
            new_rows = [
                {"venue": venue, "symbol": symbol, "ts": t, "rate": r} for t, r in latest.items() if t not in existing
            ]
            changed = [(t, r) for t, r in latest.items() if t in existing and existing[t] != r]
            if new_rows:
                conn.execute(insert(funding_rates), new_rows)
            for t, r in changed:
                conn.execute(update(funding_rates).where(key, f.ts == t).values(rate=r))
        return len(new_rows) + len(changed)

    def read_funding(self, venue: str, symbol: str, start: int | None = None, end: int | None = None) -> FundingRates:
        f = funding_rates.c
        query = select(f.ts, f.rate).where(f.venue == venue, f.symbol == symbol)
        if start is not None:
            query = query.where(f.ts >= start)
        if end is not None:
            query = query.where(f.ts < end)
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(f.ts)).all()
        return FundingRates(
            np.array([r[0] for r in rows], dtype=np.int64), np.array([r[1] for r in rows], dtype=np.float64)
        )

    def funding_series(self) -> list[tuple[str, str, int, int, int]]:
        """(venue, symbol, first_ts, last_ts, rows) of every stored funding history."""
        f = funding_rates.c
        query = (
            select(f.venue, f.symbol, func.min(f.ts), func.max(f.ts), func.count())
            .group_by(f.venue, f.symbol)
            .order_by(f.venue, f.symbol)
        )
        with self.engine.connect() as conn:
            return [(r[0], r[1], int(r[2]), int(r[3]), int(r[4])) for r in conn.execute(query)]

    # ---- instruments -------------------------------------------------------------------------

    def upsert_instrument(self, instrument: Instrument) -> None:
        values = {
            "category": instrument.category.value,
            "base": instrument.base,
            "quote": instrument.quote,
            "tick_size": str(instrument.tick_size),
            "qty_step": str(instrument.qty_step),
            "min_qty": str(instrument.min_qty),
            "min_notional": str(instrument.min_notional),
            "contract_size": str(instrument.contract_size),
            "updated_ms": int(time.time() * 1000),
        }
        i = instruments.c
        key = and_(i.venue == instrument.venue, i.symbol == instrument.symbol)
        with self.engine.begin() as conn:
            if conn.execute(select(i.symbol).where(key)).first() is None:
                conn.execute(insert(instruments).values(venue=instrument.venue, symbol=instrument.symbol, **values))
            else:
                conn.execute(update(instruments).where(key).values(**values))

    def instruments(self, venue: str | None = None) -> list[Instrument]:
        i = instruments.c
        query = select(instruments).order_by(i.venue, i.symbol)
        if venue is not None:
            query = query.where(i.venue == venue)
        with self.engine.connect() as conn:
            return [
                Instrument(
                    venue=r.venue,
                    symbol=r.symbol,
                    category=Category(r.category),
                    base=r.base,
                    quote=r.quote,
                    tick_size=Decimal(r.tick_size),
                    qty_step=Decimal(r.qty_step),
                    min_qty=Decimal(r.min_qty),
                    min_notional=Decimal(r.min_notional),
                    contract_size=Decimal(r.contract_size),
                )
                for r in conn.execute(query)
            ]

    def instrument(self, venue: str, symbol: str) -> Instrument | None:
        return next((x for x in self.instruments(venue) if x.symbol == symbol), None)
