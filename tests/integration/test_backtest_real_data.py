"""The simulator on real Bybit data: funding at settlement times, liquidation, and parity between
the numba kernel and the event-by-event Python path (the paper venue's basis)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from workstation.backtest import fills as F
from workstation.backtest import simulator as S
from workstation.backtest.costs import CostModel, funding_per_bar
from workstation.backtest.events import SignalRow, replay
from workstation.backtest.simulator import simulate
from workstation.data.arrays import CandleArrays
from workstation.strategies.base import OrderKind, Signals, signals
from workstation.strategies.builtin import build

DIR = Path(__file__).resolve().parents[3] / "shared" / "data" / "ohlcv" / "bybit_linear" / "5pairs_1h_2023-11_2026-02"


@pytest.fixture(scope="module")
def btc() -> tuple[CandleArrays, pd.DataFrame]:
    candles = CandleArrays.from_frame(pd.read_feather(DIR / "BTC_USDT_USDT-1h-futures.feather").set_index("date"))
    funding = pd.read_feather(DIR / "BTC_USDT_USDT-1h-funding_rate.feather")
    return candles, funding


def test_funding_when_long_through_bybit_btc_history_then_paid_at_each_settlement(
    btc: tuple[CandleArrays, pd.DataFrame],
) -> None:
    candles, funding = btc
    rates = funding_per_bar(
        candles.ts, funding["date"].astype("int64").to_numpy() // 1_000_000, funding["open"].to_numpy()
    )
    cost = CostModel(taker_fee=0.0, maintenance_margin=0.0)
    held = simulate(candles, Signals.from_target(np.ones(len(candles))), cost, cash=10_000, funding=rates)
    # independently: settlements rounded to the second, joined to bars on the exact open time
    frame = candles.to_frame()
    settle = funding.assign(date=funding["date"].dt.round("1s")).set_index("date")["open"]
    joined = frame.join(settle.rename("rate"), how="inner")
    joined = joined[joined.index > frame.index[1]]  # the position exists from bar 1's open
    qty = 10_000 / candles.open[1]
    expected = float((qty * joined["open"] * joined["rate"]).sum())
    assert len(joined) > 2000
    assert held.funding_paid == pytest.approx(expected, rel=1e-12)
    (trade,) = held.trades
    assert trade[S.T_FUNDING] == pytest.approx(expected, rel=1e-12)
    assert held.equity[-1] == pytest.approx(qty * (candles.close[-1] - candles.open[1]) + 10_000 - expected)


def test_liquidation_when_20x_short_on_real_bars_then_first_bar_above_maintenance_price(
    btc: tuple[CandleArrays, pd.DataFrame],
) -> None:
    candles, _ = btc
    cost = CostModel(taker_fee=0.0, leverage=20, maintenance_margin=0.005)
    r = simulate(candles, Signals.from_target(-np.ones(len(candles))), cost, cash=10_000)
    entry = candles.open[1]
    liq = entry * (1 + 1 / 20 - 0.005)
    first = 1 + int(np.flatnonzero(candles.high[1:] >= liq)[0])
    assert first > 2
    t = r.trades[0]
    assert (int(t[S.T_EXIT_I]), t[S.T_REASON]) == (first, F.EXIT_LIQUIDATION)
    assert t[S.T_PNL] == pytest.approx(-10_000, rel=1e-9)
    assert len(r.trades) == 1  # no re-entry until the target changes


def _rows(sig: Signals) -> list[SignalRow]:
    return [
        SignalRow(*(float(x) if j != 1 else int(x) for j, x in enumerate(row)))
        for row in zip(*sig.columns(), strict=True)
    ]


def _mixed_signals(candles: CandleArrays, seed: int) -> Signals:
    """Random targets, order kinds, entry prices and protective levels: every code path."""
    rng = np.random.default_rng(seed)
    n = len(candles)
    blocks = np.repeat(rng.choice([-1.0, -0.5, 0.0, 0.5, 1.0], n // 6 + 1), 6)[:n]
    kinds = rng.integers(0, 3, n).astype(np.int8)
    c = candles.close
    side = np.sign(blocks)
    offset = rng.uniform(0.001, 0.01, n)
    entry = np.where(kinds == OrderKind.LIMIT, c * (1 - side * offset), c * (1 + side * offset))
    stop = np.where(rng.random(n) < 0.7, c * (1 - side * 0.02), np.nan)
    take = np.where(rng.random(n) < 0.7, c * (1 + side * 0.03), np.nan)
    return Signals.from_target(blocks, stop_loss=stop, take_profit=take, order_kind=kinds, entry_price=entry)


@pytest.mark.parametrize(
    "source", ["mixed", "rsi_reversion:stop_pct=0.03,take_pct=0.05", "bollinger_reversion", "sma_cross:short=1"]
)
def test_kernel_when_replayed_event_by_event_in_python_then_same_trades_and_equity(
    btc: tuple[CandleArrays, pd.DataFrame], source: str
) -> None:
    candles, funding = btc
    candles = candles.take(slice(0, 6000))
    rates = funding_per_bar(
        candles.ts, funding["date"].astype("int64").to_numpy() // 1_000_000, funding["open"].to_numpy()
    )
    if source == "mixed":
        sig = _mixed_signals(candles, 7)
    else:
        name, _, args = source.partition(":")
        sig = signals(build(name, dict(a.split("=") for a in args.split(",") if a)), candles)
    cost = CostModel(slippage_bps=2, volatility_impact=0.05, volume_impact=0.001, leverage=3, maintenance_margin=0.005)
    batch = simulate(candles, sig, cost, cash=10_000, funding=rates)
    venue, curve = replay(list(candles.candles()), _rows(sig), rates, cost=cost, cash=10_000)
    assert len(batch.trades) == len(venue.trades) > 5
    ts = candles.ts
    for row, t in zip(batch.trades, venue.trades, strict=True):
        assert (ts[int(row[S.T_ENTRY_I])], ts[int(row[S.T_EXIT_I])], row[S.T_REASON]) == (
            t.entry_ts,
            t.exit_ts,
            t.reason,
        )
        got = [row[S.T_QTY], row[S.T_ENTRY_PX], row[S.T_EXIT_PX], row[S.T_PNL], row[S.T_FEES], row[S.T_FUNDING]]
        assert got == pytest.approx([t.qty, t.entry_price, t.exit_price, t.pnl, t.fees, t.funding], rel=1e-9, abs=1e-9)
    np.testing.assert_allclose(batch.equity, curve, rtol=1e-9)
    assert batch.fees_paid == pytest.approx(venue.fees_paid, rel=1e-9)
    assert batch.funding_paid == pytest.approx(venue.funding_paid, rel=1e-9, abs=1e-9)
    if source == "mixed":
        reasons = set(batch.trades[:, S.T_REASON].astype(int))
        assert {F.EXIT_SIGNAL, F.EXIT_STOP_LOSS, F.EXIT_TAKE_PROFIT} <= reasons
