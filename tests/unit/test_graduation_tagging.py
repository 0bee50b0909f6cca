"""A candidate's orders carry its id in the client order id prefix; its fills are those, plus the
venue's untagged stop fills while they close its position; a short span's Sharpe does not count."""

from __future__ import annotations

from decimal import Decimal

import pytest

from workstation.core.enums import Side
from workstation.core.types import Fill
from workstation.graduation.criteria import shortfalls
from workstation.graduation.models import Performance
from workstation.graduation.tagging import candidate_fills, candidate_of, order_prefix
from workstation.settings.models import StageCriteria


def fill(n: int, coid: str, side: Side, qty: str, fee: str = "1") -> Fill:
    return Fill(f"e{n}", coid, "BTCUSDT", side, Decimal(qty), Decimal("100"), Decimal(fee), "USDT", n)


def test_prefix_when_tagged_then_the_id_reads_back_and_untagged_ids_have_none() -> None:
    assert order_prefix("pp", 12) == "ppg12" and order_prefix("lv", 3) == "lvg3"
    assert candidate_of("ppg12-mwvq-ab12") == 12 and candidate_of("lvg3-x-y") == 3
    assert candidate_of("pp-mwvq-ab12") is None and candidate_of("lv-abc-def") is None and candidate_of("") is None
    with pytest.raises(ValueError):
        order_prefix("pp", 1_000_000)  # longer than 8 characters


def test_candidate_fills_when_mixed_then_its_own_plus_venue_stops_closing_its_position() -> None:
    fills = [
        fill(1, "ppg1-a-1", Side.BUY, "2"),
        fill(2, "ppg2-a-2", Side.BUY, "5"),  # another candidate's
        fill(3, "pp-a-3", Side.SELL, "1"),  # an untagged strategy order: not ours
        fill(4, "", Side.SELL, "3", fee="3"),  # a venue stop: closes our 2, the rest is someone else's
        fill(5, "", Side.SELL, "1"),  # a venue stop while we are flat: not ours
    ]
    mine = candidate_fills(fills, 1, "BTCUSDT")
    assert [f.exec_id for f in mine] == ["e1", "e4"]
    assert mine[1].qty == Decimal("2") and mine[1].fee == Decimal("2")


def test_shortfalls_when_the_span_is_shorter_than_min_sharpe_days_then_sharpe_is_not_counted() -> None:
    c = StageCriteria(min_sharpe=0.5, min_sharpe_days=7, require_mc_band=False)
    short = Performance(10, sharpe=-17052.4, days=2.0)
    assert shortfalls(c, short, days=30, band=(-1, 1), window=5) == ["Sharpe not counted: 2 days < 7"]
    long = Performance(10, sharpe=1.2, days=30.0)
    assert shortfalls(c, long, days=30, band=(-1, 1), window=5) == []
    backtest = Performance(10, sharpe=1.2)  # a backtest's: no span recorded, counted
    assert shortfalls(c, backtest, days=30, band=(-1, 1), window=5) == []
