"""Pairing a venue's round trips with a backtest's (graduation.compare)."""

from __future__ import annotations

import pytest

from workstation.graduation.compare import Trade, fee_bps, pair, totals

HOUR = 3_600_000


def trade(entry_ts: int, side: int = 1, price: float = 100.0, fees: float = 0.11, funding: float | None = 0.0) -> Trade:
    return Trade(entry_ts, entry_ts + HOUR, side, 1.0, price, price, fees, funding, -fees, "signal")


def test_pair_when_live_fills_land_a_moment_into_their_bar_then_they_pair_with_that_bars_backtest_entry() -> None:
    rows = pair([trade(HOUR), trade(3 * HOUR, -1)], [trade(HOUR + 1_500, price=100.1), trade(3 * HOUR + 900, -1)], HOUR)
    assert [r.status for r in rows] == ["matched", "matched"]
    assert rows[0].entry_slippage_bps() == pytest.approx(10.0)


def test_pair_when_two_live_trades_entered_in_one_bar_then_neither_is_lost() -> None:
    rows = pair([trade(HOUR)], [trade(HOUR + 10), trade(HOUR + 20)], HOUR)
    assert [r.status for r in rows] == ["matched", "only live"]
    assert rows[0].actual is not None and rows[0].actual.entry_ts == HOUR + 10


def test_pair_when_no_bar_is_given_then_entries_pair_on_their_exact_time() -> None:
    assert [r.status for r in pair([trade(HOUR)], [trade(HOUR + 10)])] == ["only backtest", "only live"]


def test_fee_bps_when_a_round_trip_paid_the_taker_fee_twice_then_it_is_the_taker_rate() -> None:
    assert fee_bps(trade(HOUR, fees=2 * 100.0 * 0.00055)) == pytest.approx(5.5)
    assert fee_bps(None) is None


def test_totals_when_the_venue_did_not_record_funding_then_actual_funding_is_none() -> None:
    rows = pair([trade(HOUR, funding=0.3)], [trade(HOUR, funding=None)], HOUR)
    assert totals(rows)["actual_funding"] is None and totals(rows)["expected_funding"] == pytest.approx(0.3)
