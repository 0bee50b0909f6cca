"""Pure parts of the downloader: missing ranges, venue labels, bar alignment."""

from __future__ import annotations

import numpy as np

from workstation.data.download import align_up, missing_ranges, open_bar_start, parse_venue, venue_label

M = 60_000


def test_missing_ranges_when_nothing_stored_then_the_whole_range() -> None:
    assert missing_ranges(np.empty(0, np.int64), 0, 10 * M, M) == [(0, 10 * M)]
    assert missing_ranges(np.empty(0, np.int64), 5 * M, 5 * M, M) == []


def test_missing_ranges_when_head_hole_and_tail_missing_then_three_ranges() -> None:
    stored = np.array([2, 3, 4, 7, 8], dtype=np.int64) * M
    assert missing_ranges(stored, 0, 10 * M, M) == [(0, 2 * M), (5 * M, 7 * M), (9 * M, 10 * M)]


def test_missing_ranges_when_everything_stored_then_none() -> None:
    stored = np.arange(10, dtype=np.int64) * M
    assert missing_ranges(stored, 0, 10 * M, M) == []
    assert missing_ranges(stored, 3 * M, 6 * M, M) == []


def test_venue_label_when_default_category_then_plain_exchange_name_and_parse_inverts_it() -> None:
    assert venue_label("bybit", "linear") == "bybit" and venue_label("bybit", "spot") == "bybit-spot"
    assert venue_label("binance", "spot") == "binance" and venue_label("binance", "linear") == "binance-linear"
    for label in ("bybit", "bybit-spot", "binance", "okx-linear"):
        assert venue_label(*parse_venue(label)) == label


def test_open_bar_when_mid_bar_then_bar_start_and_align_up_rounds_to_next_bar() -> None:
    assert open_bar_start("1h", 3_600_000 * 5 + 1) == 3_600_000 * 5
    assert align_up(M + 1, "1m") == 2 * M and align_up(2 * M, "1m") == 2 * M
    monday = 4 * 86_400_000  # 1970-01-05
    assert open_bar_start("1w", monday + 86_400_000) == monday
