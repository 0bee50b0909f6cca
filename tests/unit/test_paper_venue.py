"""The paper venue's order rules on real Bybit BTCUSDT 1h candles: each outcome is the value the
shared fill/cost functions give, and the venue answers like Bybit (retCodes, acks, statuses)."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Coroutine
from decimal import Decimal
from functools import cache
from typing import Any, TypeVar

import pandas as pd
import pytest

from tests.conftest import SHARED_DATA
from workstation.backtest import costs as C
from workstation.backtest import fills as F
from workstation.backtest.costs import CostModel
from workstation.core.enums import Category, OrderStatus, OrderType, Side
from workstation.core.errors import ExchangeError
from workstation.core.types import AmendRequest, Candle, OrderRequest
from workstation.exchanges.simulated import PaperExecutionClient
from workstation.exchanges.simulated.book import dec

T = TypeVar("T")
LIN = Category.LINEAR
SYM = "BTCUSDT"


@cache
def bars() -> list[Candle]:
    path = SHARED_DATA / "ohlcv" / "bybit_linear" / "5pairs_1h_2023-11_2026-02" / "BTC_USDT_USDT-1h-futures.feather"
    frame = pd.read_feather(path).iloc[:400]
    ts = frame["date"].astype("int64").to_numpy() // 1_000_000
    return [
        Candle(int(t), o, h, lo, c, v)
        for t, o, h, lo, c, v in zip(ts, *(frame[k] for k in "open high low close volume".split()), strict=True)
    ]


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def venue(**cost: float) -> PaperExecutionClient:
    client = PaperExecutionClient(cost=CostModel(**cost), cash=10_000.0)
    client.on_candle(SYM, bars()[0])  # a closed candle: the slippage reference
    return client


def order(coid: str, side: Side, qty: float, kind: OrderType = OrderType.MARKET, **kw: Any) -> OrderRequest:
    return OrderRequest(client_order_id=coid, symbol=SYM, side=side, qty=dec(qty), order_type=kind, **kw)


def wide_bar() -> tuple[int, Candle]:
    """A real bar whose range is wide enough to hold levels on both sides of its open."""
    for i, b in enumerate(bars()[1:], start=1):
        if b.high - b.open > 150 and b.open - b.low > 150:
            return i, b
    raise AssertionError("no wide bar")


def test_place_order_when_client_order_id_reused_then_110072_and_first_order_kept() -> None:
    client = venue()
    run(client.place_order(order("dup-1", Side.BUY, 0.01, OrderType.LIMIT, price=Decimal(1000))))
    with pytest.raises(ExchangeError) as caught:
        run(client.place_order(order("dup-1", Side.SELL, 0.02, OrderType.LIMIT, price=Decimal(90000))))
    assert caught.value.code == 110072
    (kept,) = run(client.fetch_open_orders(LIN))
    assert kept.side is Side.BUY and kept.qty == Decimal("0.01")


def test_market_order_when_placed_between_candles_then_fills_at_next_open_with_slippage_and_taker_fee() -> None:
    client = venue(slippage_bps=5.0, volatility_impact=0.1)
    ack = run(client.place_order(order("m-1", Side.BUY, 0.1)))
    assert ack.status is OrderStatus.NEW and run(client.fetch_executions(LIN)) == []
    prev, nxt = bars()[0], bars()[1]
    client.on_candle(SYM, nxt)
    (fill,) = run(client.fetch_executions(LIN))
    frac = C.slippage_fraction(5e-4, 0.1, 0.0, prev.high, prev.low, prev.close, 0.1, prev.volume)
    px = C.slipped(nxt.open, 1.0, frac)
    assert (fill.ts, float(fill.price), float(fill.fee)) == (nxt.ts, px, C.fee(0.1 * px, C.BYBIT_TAKER_FEE))
    assert run(client.fetch_order(LIN, "m-1")).status is OrderStatus.FILLED  # type: ignore[union-attr]


@pytest.mark.parametrize("gap", [False, True], ids=["touched", "gapped"])
def test_limit_buy_when_touched_or_gapped_then_fills_by_touch_rule_with_maker_fee(gap: bool) -> None:
    i, bar = wide_bar()
    client = venue()
    client.account.book(SYM).prev = bars()[i - 1]
    limit = bar.open + 50 if gap else bar.open - 100
    run(client.place_order(order("l-1", Side.BUY, 0.05, OrderType.LIMIT, price=dec(limit))))
    client.on_candle(SYM, bar)
    (fill,) = run(client.fetch_executions(LIN))
    expected = F.limit_fill_price(1.0, limit, bar.open, bar.high, bar.low)
    assert float(fill.price) == expected == (bar.open if gap else limit)
    assert fill.is_maker and float(fill.fee) == C.fee(0.05 * expected, C.BYBIT_MAKER_FEE)


def test_limit_buy_when_not_touched_then_rests_new_and_cancel_ends_it() -> None:
    client = venue()
    run(client.place_order(order("l-2", Side.BUY, 0.05, OrderType.LIMIT, price=Decimal(1000))))
    for b in bars()[1:5]:
        client.on_candle(SYM, b)
    assert [o.status for o in run(client.fetch_open_orders(LIN))] == [OrderStatus.NEW]
    assert run(client.cancel_order(SYM, "l-2", LIN)).status is OrderStatus.CANCELLED
    with pytest.raises(ExchangeError) as again:
        run(client.cancel_order(SYM, "l-2", LIN))
    assert again.value.code == 110001  # finished: status never goes back to open
    assert run(client.fetch_order(LIN, "l-2")).status is OrderStatus.CANCELLED  # type: ignore[union-attr]


def test_stop_buy_when_high_crosses_trigger_then_fills_at_trigger_plus_slippage_taker() -> None:
    i, bar = wide_bar()
    client = venue(slippage_bps=4.0)
    prev = bars()[i - 1]
    client.account.book(SYM).prev = prev
    trigger = bar.open + 100
    run(client.place_order(order("s-1", Side.BUY, 0.05, OrderType.STOP, trigger_price=dec(trigger))))
    client.on_candle(SYM, bar)
    (fill,) = run(client.fetch_executions(LIN))
    raw = F.stop_fill_price(1.0, trigger, bar.open, bar.high, bar.low)
    assert float(fill.price) == C.slipped(raw, 1.0, 4e-4) and not fill.is_maker


def test_position_when_sl_and_tp_inside_one_bar_then_stop_loss_wins_as_exit_scan_says() -> None:
    i, bar = wide_bar()
    client = venue()
    client.account.book(SYM).prev = bars()[i - 1]
    sl, tp = bar.open - 100, bar.open + 100
    client.open_bar(SYM, bar)
    run(client.place_order(order("e-1", Side.BUY, 0.1, stop_loss=dec(sl), take_profit=dec(tp))))
    client.close_bar(SYM)
    entry, exit_ = sorted(run(client.fetch_executions(LIN)), key=lambda f: f.exec_id)
    assert float(entry.price) == bar.open and exit_.side is Side.SELL and exit_.client_order_id == ""
    price, reason = F.exit_scan(
        1.0, sl, tp, F.liquidation_price(1.0, bar.open, 1.0, 0.005), bar.open, bar.high, bar.low, True
    )
    assert (float(exit_.price), reason) == (price, F.EXIT_STOP_LOSS)
    assert run(client.fetch_positions(LIN)) == []


def test_trading_stop_when_take_profit_moved_into_range_then_exits_at_tp_with_maker_fee() -> None:
    client = venue()
    client.open_bar(SYM, bars()[1])
    run(client.place_order(order("e-2", Side.BUY, 0.1)))
    client.close_bar(SYM)
    _, bar = wide_bar()
    run(client.set_trading_stop(SYM, LIN, None, dec(bar.open + 100)))
    client.on_candle(SYM, bar)
    last = run(client.fetch_executions(LIN))[0]
    assert float(last.price) == bar.open + 100 and last.is_maker
    assert client.account.fills[-1].reason == F.EXIT_TAKE_PROFIT


def test_position_when_20x_short_and_high_reaches_liquidation_then_closed_at_bankruptcy_price_without_fee() -> None:
    client = venue(leverage=20.0)
    entry_bar = bars()[1]
    client.open_bar(SYM, entry_bar)
    run(client.place_order(order("e-3", Side.SELL, 1.0)))
    client.close_bar(SYM)
    liq = F.liquidation_price(-1.0, entry_bar.open, 20.0, 0.005)
    (pos,) = run(client.fetch_positions(LIN))
    assert float(pos.liquidation_price) == liq  # type: ignore[arg-type]
    for b in bars()[2:]:
        client.on_candle(SYM, b)
        if b.high >= liq:
            break
    else:
        pytest.skip("no real bar reached the liquidation price")
    last = client.account.fills[-1]
    assert last.reason == F.EXIT_LIQUIDATION and last.fee == 0.0
    assert last.price == F.bankruptcy_price(-1.0, entry_bar.open, 20.0) and last.side == 1.0


def test_funding_when_position_carried_into_a_settlement_then_paid_at_the_open() -> None:
    client = venue()
    client.on_candle(SYM, bars()[1])
    run(client.place_order(order("e-4", Side.BUY, 0.2)))
    client.on_candle(SYM, bars()[2])
    cash = client.account.cash
    client.on_candle(SYM, bars()[3], funding_rate=0.0001)
    assert client.account.cash == cash - C.funding_payment(0.2, bars()[3].open, 0.0001)


def test_reduce_only_when_no_position_then_110017_and_when_larger_then_shrinks_to_position() -> None:
    client = venue()
    with pytest.raises(ExchangeError) as refused:
        run(client.place_order(order("r-1", Side.SELL, 0.1, reduce_only=True)))
    assert refused.value.code == 110017
    client.open_bar(SYM, bars()[1])
    run(client.place_order(order("e-5", Side.BUY, 0.1)))
    run(client.place_order(order("r-2", Side.SELL, 5.0, reduce_only=True)))
    done = run(client.fetch_order(LIN, "r-2"))
    assert done is not None and done.status is OrderStatus.FILLED and done.filled_qty == Decimal("0.1")
    assert run(client.fetch_positions(LIN)) == []


def test_place_order_when_margin_exceeds_equity_then_110007_insufficient_balance() -> None:
    client = venue()
    with pytest.raises(ExchangeError) as caught:
        run(client.place_order(order("big", Side.BUY, 10.0)))  # ~380k notional on 10k at 1x
    assert caught.value.code == 110007


def test_account_calls_when_used_then_behave_like_bybit() -> None:
    client = venue()
    run(client.set_leverage(SYM, Decimal(5), LIN))
    run(client.set_leverage(SYM, Decimal(5), LIN))  # unchanged is success, as 110043
    run(client.place_order(order("a-1", Side.BUY, 0.01, OrderType.LIMIT, price=Decimal(1000))))
    run(client.amend_order(AmendRequest("a-1", SYM, price=Decimal(1100))))
    (amended,) = run(client.fetch_open_orders(LIN))
    assert amended.price == Decimal(1100)
    assert len(run(client.cancel_all_orders(LIN))) == 1
    assert run(client.close_position(SYM, LIN)) is None
    assert run(client.transfer("USDT", Decimal(100), "UNIFIED", "FUND"))
    (bal,) = run(client.fetch_balances())
    assert bal.total == Decimal("9900.0") and bal.extra["fund"] == Decimal("100.0")
    assert run(client.server_time_ms()) == bars()[0].ts
    assert math.isnan(client.account.book(SYM).sl)


def test_order_status_when_reported_backwards_then_refused() -> None:
    client = venue()
    client.open_bar(SYM, bars()[1])
    run(client.place_order(order("f-1", Side.BUY, 0.01)))
    filled = client.account.orders["f-1"]
    with pytest.raises(AssertionError):
        filled.move(OrderStatus.NEW, 0)
