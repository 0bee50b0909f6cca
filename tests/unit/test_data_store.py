"""Candle store on real SQLite files: round trips, idempotent upserts, merges, ranges, migrations."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa

from workstation.core.enums import Category
from workstation.core.types import Instrument
from workstation.data import migrate
from workstation.data.arrays import CandleArrays
from workstation.data.codec import Codec
from workstation.data.migrate import current_revision, head_revision
from workstation.data.schema import VERSION_TABLE
from workstation.data.store import CandleStore

MIN = 60_000
JAN_31_2024 = 1_706_659_200_000  # 2024-01-31 00:00 UTC


def make(start: int, n: int, step: int = MIN, price: float = 100.0) -> CandleArrays:
    ts = start + np.arange(n, dtype=np.int64) * step
    close = price + np.arange(n, dtype=np.float64) * 0.5
    return CandleArrays.from_columns(ts, close - 0.25, close + 1, close - 1, close, np.full(n, 2.0))


@pytest.fixture
def store(tmp_path: Path) -> CandleStore:
    with CandleStore.open(tmp_path / "candles.db") as s:
        yield s


def test_open_when_file_is_empty_then_migrations_create_tables(tmp_path: Path) -> None:
    path = tmp_path / "new" / "candles.db"
    store = CandleStore.open(path)
    tables = set(sa.inspect(store.engine).get_table_names())
    assert {"instruments", "candle_chunks", "funding_rates", VERSION_TABLE} <= tables
    assert current_revision(store.engine) == head_revision()
    store.close()


def test_open_when_already_at_head_then_second_open_is_noop_and_keeps_data(tmp_path: Path) -> None:
    path = tmp_path / "candles.db"
    with CandleStore.open(path) as first:
        first.upsert_candles("binance", "BTCUSDT", "1m", make(JAN_31_2024, 10))
    with CandleStore.open(path) as second:
        assert migrate.upgrade_to_head(second.engine) is False
        assert len(second.read("binance", "BTCUSDT", "1m")) == 10


@pytest.mark.parametrize("codec", list(Codec))
def test_read_when_written_with_any_codec_then_round_trips_exactly(tmp_path: Path, codec: Codec) -> None:
    candles = make(JAN_31_2024, 5000)
    with CandleStore.open(tmp_path / f"{codec}.db", codec=codec) as store:
        store.upsert_candles("binance", "BTCUSDT", "1m", candles)
        back = store.read("binance", "BTCUSDT", "1m")
    assert back.equals(candles)
    assert back.ts.dtype == np.int64 and back.close.dtype == np.float64
    assert back.ts.flags.writeable and back.close.flags.c_contiguous


def test_upsert_when_same_data_imported_twice_then_nothing_changes(store: CandleStore) -> None:
    candles = make(JAN_31_2024, 3000)  # spans the January/February boundary
    first = store.upsert_candles("binance", "BTCUSDT", "1m", candles)
    with store.engine.connect() as conn:
        before = conn.execute(sa.text("select month_ms, updated_ms, data from candle_chunks")).all()
    second = store.upsert_candles("binance", "BTCUSDT", "1m", candles)
    with store.engine.connect() as conn:
        after = conn.execute(sa.text("select month_ms, updated_ms, data from candle_chunks")).all()
    assert (first.added, first.chunks_written) == (3000, 2)
    assert (second.added, second.changed, second.chunks_written) == (0, 0, 0)
    assert before == after


def test_upsert_when_overlapping_across_month_boundary_then_merges_sorted_newer_wins(
    store: CandleStore,
) -> None:
    old = make(JAN_31_2024, 1440)  # all of Jan 31
    store.upsert_candles("binance", "BTCUSDT", "1m", old)
    newer = make(JAN_31_2024 + 1000 * MIN, 1000, price=500.0)  # last 440 of Jan 31 + 560 of Feb 1
    stats = store.upsert_candles("binance", "BTCUSDT", "1m", newer)
    back = store.read("binance", "BTCUSDT", "1m")
    assert (stats.added, stats.changed, stats.chunks_written) == (560, 440, 2)
    assert len(back) == 2000
    assert np.all(np.diff(back.ts) == MIN)
    assert back.close[999] == old.close[999]
    assert back.close[1000] == 500.0
    assert [s.rows for s in store.series()] == [2000]


def test_upsert_when_input_unsorted_with_duplicates_then_last_duplicate_wins(store: CandleStore) -> None:
    candles = make(JAN_31_2024, 5)
    shuffled = candles.take(np.array([3, 1, 4, 0, 2, 1]))
    changed = CandleArrays.from_columns(
        shuffled.ts,
        shuffled.open,
        shuffled.high,
        shuffled.low,
        np.where(np.arange(6) == 5, 999.0, shuffled.close),
        shuffled.volume,
    )
    store.upsert_candles("binance", "BTCUSDT", "1m", changed)
    back = store.read("binance", "BTCUSDT", "1m")
    assert np.array_equal(back.ts, candles.ts)
    assert back.close[1] == 999.0


def test_read_when_range_given_then_start_inclusive_end_exclusive(store: CandleStore) -> None:
    candles = make(JAN_31_2024 - 40 * 1440 * MIN, 60 * 1440)  # Dec 22 .. Feb 20, three chunks
    store.upsert_candles("bybit", "ETHUSDT", "1m", candles)
    start, end = JAN_31_2024 + 5 * MIN, JAN_31_2024 + 2 * 1440 * MIN
    part = store.read("bybit", "ETHUSDT", "1m", start, end)
    assert part.ts[0] == start and part.ts[-1] == end - MIN
    assert len(part) == 2 * 1440 - 5
    frame = store.read_frame("bybit", "ETHUSDT", "1m", start, end)
    assert list(frame.columns) == ["open", "high", "low", "close", "volume"]
    assert str(frame.index.tz) == "UTC" and len(frame) == len(part)
    assert len(store.read("bybit", "ETHUSDT", "5m")) == 0


def test_upsert_when_timestamp_not_on_interval_then_raises(store: CandleStore) -> None:
    with pytest.raises(ValueError, match="not aligned to the 5m interval"):
        store.upsert_candles("binance", "BTCUSDT", "5m", make(JAN_31_2024 + MIN, 3, step=5 * MIN))


def test_mark_and_trade_when_same_symbol_then_kept_apart(store: CandleStore) -> None:
    store.upsert_candles("bybit", "BTCUSDT", "1h", make(JAN_31_2024, 5, 3_600_000), kind="mark")
    assert len(store.read("bybit", "BTCUSDT", "1h")) == 0
    assert len(store.read("bybit", "BTCUSDT", "1h", kind="mark")) == 5


def test_funding_when_upserted_twice_then_idempotent_and_newer_rate_wins(store: CandleStore) -> None:
    ts = JAN_31_2024 + np.arange(3, dtype=np.int64) * 8 * 3_600_000
    assert store.upsert_funding("bybit", "BTCUSDT", ts, np.array([1e-4, -2e-4, 3e-4])) == 3
    assert store.upsert_funding("bybit", "BTCUSDT", ts, np.array([1e-4, -2e-4, 3e-4])) == 0
    assert store.upsert_funding("bybit", "BTCUSDT", ts[1:2], np.array([5e-4])) == 1
    funding = store.read_funding("bybit", "BTCUSDT")
    assert funding.ts.tolist() == ts.tolist()
    assert funding.rate.tolist() == [1e-4, 5e-4, 3e-4]


def test_instrument_when_upserted_then_decimals_round_trip_exactly(store: CandleStore) -> None:
    instrument = Instrument(
        "bybit",
        "BTCUSDT",
        Category.LINEAR,
        "BTC",
        "USDT",
        Decimal("0.10"),
        Decimal("0.001"),
        Decimal("0.001"),
        Decimal("5"),
        Decimal("1"),
    )
    store.upsert_instrument(instrument)
    store.upsert_instrument(instrument)
    assert store.instruments() == [instrument]
    assert store.instrument("bybit", "BTCUSDT") == instrument
    assert store.instrument("bybit", "ETHUSDT") is None
