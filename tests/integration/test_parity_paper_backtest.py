"""Parity: real candles replayed from the store through strategy -> OMS -> paper venue produce the
batch backtest's fills (times, prices, quantities, fees), trades and final equity."""

from __future__ import annotations

import asyncio
import math
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.conftest import SHARED_DATA
from workstation.backtest import events as E
from workstation.backtest import fills as F
from workstation.backtest import simulator as S
from workstation.backtest.costs import CostModel, Sizer
from workstation.core.types import Candle, Fill
from workstation.data.arrays import CandleArrays
from workstation.data.sample import SAMPLE_INTERVAL, SAMPLE_SYMBOL, SAMPLE_VENUE, load_bundled_sample
from workstation.data.store import CandleStore
from workstation.engine.kernel import EngineKernel
from workstation.exchanges.simulated import PaperExecutionClient
from workstation.paper.replay import ReplayData, load_replay, replay
from workstation.paper.runner import StrategyRunner
from workstation.strategies import indicators as ind
from workstation.strategies.base import Signals, Strategy, signals
from workstation.strategies.builtin import build
from workstation.strategies.builtin.trend import DonchianBreakout

BYBIT_1H = SHARED_DATA / "ohlcv" / "bybit_linear" / "5pairs_1h_2023-11_2026-02"
CASH = 10_000.0
REL = 1e-12  # "float tolerance": in practice every number below is bit-identical


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CandleStore]:
    """A real candle store holding Bybit BTCUSDT 1h (with its funding history) and the Binance 1m sample."""
    frame = pd.read_feather(BYBIT_1H / "BTC_USDT_USDT-1h-futures.feather").set_index("date")
    funding = pd.read_feather(BYBIT_1H / "BTC_USDT_USDT-1h-funding_rate.feather")
    with CandleStore.open(tmp_path_factory.mktemp("store") / "candles.db") as s:
        s.upsert_candles("bybit", "BTCUSDT", "1h", CandleArrays.from_frame(frame))
        s.upsert_funding(
            "bybit", "BTCUSDT", funding["date"].astype("int64").to_numpy() // 1_000_000, funding["open"].to_numpy()
        )
        load_bundled_sample(s)
        yield s


@pytest.fixture
def ledger_dir(tmp_path: Path) -> Iterator[Path]:
    """A real SQLite ledger (WAL, synchronous=FULL), on a RAM disk when there is one: fsyncs are the
    slowest part of a 20 000-bar replay and say nothing about parity."""
    shm = Path("/dev/shm")
    path = Path(tempfile.mkdtemp(dir=shm)) if shm.is_dir() else tmp_path
    yield path
    if path != tmp_path:
        shutil.rmtree(path, ignore_errors=True)


@dataclass
class Paper:
    client: PaperExecutionClient
    ledger_fills: list[Fill]
    runner: StrategyRunner


def run_paper(
    data: ReplayData,
    strategy_name: str,
    params: dict[str, float],
    cost: CostModel,
    ledger: Path,
    strategy: Strategy | None = None,
) -> Paper:
    async def go() -> Paper:
        client = PaperExecutionClient(cost=cost, cash=CASH)
        kernel = EngineKernel(client=client, ledger_path=ledger / "ledger.sqlite")
        await kernel.start()
        runner = StrategyRunner(kernel, strategy or build(strategy_name, params), "BTCUSDT", cost, window=1000)
        await replay(client, "BTCUSDT", data, runner)
        fills = await kernel.ledger.call(kernel.ledger.fills, venue="paper")
        await kernel.stop()
        return Paper(client, fills, runner)

    return asyncio.run(go())


def event_fills(data: ReplayData, sig: object, cost: CostModel) -> tuple[E.EventSimulator, float]:
    c = data.candles
    bars = [Candle(int(t), *map(float, x)) for t, *x in zip(*c.columns(), strict=True)]
    rows = [
        E.SignalRow(*(float(col[i]) if k != 1 else int(col[i]) for k, col in enumerate(sig.columns())))
        for i in range(len(c))
    ]  # type: ignore[attr-defined]
    sim, curve = E.replay(bars, rows, data.funding, cost=cost, cash=CASH, pure=False)
    return sim, curve[-1]


def trades_from_fills(fills: list[Fill]) -> list[tuple[int, float, float, int, float, float]]:
    """(entry ts, side, largest qty, exit ts, exit VWAP, fees) per round trip, from venue executions."""
    out, pos, cur = [], 0.0, None
    for f in fills:
        signed = float(f.qty) * (1 if f.side.value == "Buy" else -1)
        if pos == 0.0:
            cur = [f.ts, math.copysign(1, signed), float(f.qty), -1, 0.0, 0.0, float(f.fee)]
        elif (pos > 0) != (signed > 0):
            assert cur is not None
            cur[3], cur[4], cur[5] = f.ts, cur[4] + float(f.qty) * float(f.price), cur[5] + float(f.qty)
            cur[6] += float(f.fee)
        else:
            assert cur is not None
            cur[2] = max(cur[2], abs(pos + signed))  # the largest size it reached, as the trade matrix keeps
            cur[6] += float(f.fee)
        pos = pos + signed if abs(pos + signed) > 1e-12 * abs(signed) else 0.0
        if pos == 0.0 and cur is not None:
            out.append((int(cur[0]), cur[1], cur[2], int(cur[3]), cur[4] / cur[5], cur[6]))
            cur = None
    return out


def assert_parity(
    data: ReplayData,
    name: str,
    params: dict[str, float],
    cost: CostModel,
    ledger: Path,
    strategy: Strategy | None = None,
) -> Paper:
    """`strategy`: traded instead of the built-in `name` with `params`."""
    sig = signals(strategy or build(name, params), data.candles)
    batch = S.simulate(data.candles, sig, cost, cash=CASH, funding=data.funding)
    events, event_equity = event_fills(data, sig, cost)
    paper = run_paper(data, name, params, cost, ledger, strategy)
    account = paper.client.account
    assert paper.runner.refusals == 0 and paper.runner.strategy_errors == 0

    # every execution, as the ledger stored it, against the event-by-event backtest's fills
    ledger_fills = sorted(paper.ledger_fills, key=lambda f: int(f.exec_id.rsplit("e", 1)[1]))
    assert len(ledger_fills) == len(events.fills) == len(account.fills) > 0
    for mine, ref, raw in zip(ledger_fills, events.fills, account.fills, strict=True):
        assert (mine.ts, 1.0 if mine.side.value == "Buy" else -1.0) == (ref.ts, ref.side)
        assert float(mine.qty) == pytest.approx(ref.qty, rel=REL)
        assert float(mine.price) == pytest.approx(ref.price, rel=REL)
        assert float(mine.fee) == pytest.approx(ref.fee, rel=REL, abs=1e-12)
        assert raw.reason == (F.EXIT_NONE if ref.reason == F.EXIT_SIGNAL else ref.reason)

    # round trips against the batch kernel's trade matrix, and the money
    trades = trades_from_fills(ledger_fills)
    closed = batch.trades[batch.trades[:, S.T_REASON] != F.EXIT_END]
    assert len(trades) == len(closed)
    ts = data.candles.ts
    for (entry_ts, side, qty, exit_ts, exit_px, fees), row in zip(trades, closed, strict=True):
        assert (entry_ts, side, exit_ts) == (ts[int(row[S.T_ENTRY_I])], row[S.T_SIDE], ts[int(row[S.T_EXIT_I])])
        assert qty == pytest.approx(row[S.T_QTY], rel=1e-9)
        assert exit_px == pytest.approx(row[S.T_EXIT_PX], rel=1e-9)
        assert fees == pytest.approx(row[S.T_FEES], rel=1e-9)
    assert account.fees_paid == pytest.approx(batch.fees_paid, rel=REL)
    assert account.funding_paid == pytest.approx(batch.funding_paid, rel=REL, abs=1e-12)
    assert account.equity() == pytest.approx(batch.equity[-1], rel=REL) == pytest.approx(event_equity, rel=REL)
    return paper


def bybit(store: CandleStore, bars: int | None = None) -> ReplayData:
    data = load_replay(store, "bybit", "BTCUSDT", "1h")
    if bars is None:
        return data
    return ReplayData(data.candles.take(slice(0, bars)), data.funding[:bars])


def test_replay_when_sma_cross_long_short_on_bybit_btc_1h_with_funding_then_paper_fills_equal_backtest(
    store: CandleStore, ledger_dir: Path
) -> None:
    data = bybit(store)
    assert len(data.candles) > 19_000 and np.count_nonzero(data.funding) > 2000
    cost = CostModel(slippage_bps=2.0, volatility_impact=0.05, leverage=3.0)
    paper = assert_parity(data, "sma_cross", {"short": 1}, cost, ledger_dir)
    assert len(paper.ledger_fills) > 1000 and paper.client.account.funding_paid != 0


@pytest.mark.parametrize(
    ("name", "params", "reasons"),
    [
        ("rsi_reversion", {"stop_pct": 0.02, "take_pct": 0.03}, {F.EXIT_STOP_LOSS, F.EXIT_TAKE_PROFIT}),
        ("donchian", {"stop_atr": 2.0}, {F.EXIT_STOP_LOSS}),
        ("bollinger_reversion", {}, set()),
    ],
    ids=["trailing-sl-tp", "stop-entries", "limit-entries"],
)
def test_replay_when_sl_tp_stop_or_limit_entries_then_paper_fills_equal_backtest(
    store: CandleStore, ledger_dir: Path, name: str, params: dict[str, float], reasons: set[int]
) -> None:
    cost = CostModel(slippage_bps=3.0, leverage=2.0)
    paper = assert_parity(bybit(store, 6000), name, params, cost, ledger_dir)
    seen = {f.reason for f in paper.client.account.fills}
    assert reasons <= seen
    if name == "bollinger_reversion":
        assert any(f.is_maker for f in paper.client.account.fills)


def test_replay_when_20x_leverage_then_liquidations_match_backtest(store: CandleStore, ledger_dir: Path) -> None:
    cost = CostModel(leverage=20.0, slippage_bps=1.0)
    paper = assert_parity(bybit(store, 4000), "sma_cross", {"fast": 5, "slow": 20, "short": 1}, cost, ledger_dir)
    liquidations = [f for f in paper.client.account.fills if f.reason == F.EXIT_LIQUIDATION]
    assert liquidations and all(f.fee == 0.0 for f in liquidations)


def test_replay_when_binance_1m_sample_then_paper_fills_equal_backtest(store: CandleStore, ledger_dir: Path) -> None:
    data = load_replay(store, SAMPLE_VENUE, SAMPLE_SYMBOL, SAMPLE_INTERVAL)
    data = ReplayData(data.candles.take(slice(0, 12_000)), data.funding[:12_000])
    cost = CostModel(slippage_bps=1.0, volume_impact=0.0, volatility_impact=0.1)
    paper = assert_parity(data, "ema_cross", {}, cost, ledger_dir)
    assert len(paper.ledger_fills) > 100


def test_replay_when_stop_distance_sizer_then_paper_fills_equal_backtest(store: CandleStore, ledger_dir: Path) -> None:
    """`--no-risk` sizes with the backtest's sizer, whichever it is: risking 1% of equity at the
    strategy's stop (donchian's ATR stop, stop entries) gives the backtest's quantities, fees and equity."""
    data = bybit(store, 6000)
    params = {"stop_atr": 2.0}
    cost = CostModel(slippage_bps=3.0, leverage=3.0, sizer=Sizer.STOP_DISTANCE, size=0.01)
    paper = assert_parity(data, "donchian", params, cost, ledger_dir)
    assert F.EXIT_STOP_LOSS in {f.reason for f in paper.client.account.fills}
    # not the fraction sizer's quantities: the same entries, sized by the distance to their stop
    sig = signals(build("donchian", params), data.candles)
    by_fraction = S.simulate(data.candles, sig, replace(cost, sizer=Sizer.FIXED_FRACTION, size=1.0), cash=CASH)
    by_stop = S.simulate(data.candles, sig, cost, cash=CASH, funding=data.funding)
    assert len(by_stop.trades) > 20
    np.testing.assert_array_equal(by_stop.trades[:, S.T_ENTRY_I], by_fraction.trades[:, S.T_ENTRY_I])
    qty_ratio = by_stop.trades[:, S.T_QTY] / by_fraction.trades[:, S.T_QTY]
    assert np.ptp(qty_ratio) > 0.1  # not one fraction of the other: each follows its own stop distance


@dataclass(frozen=True)
class HalvedBreakout(DonchianBreakout):
    """donchian whose position is halved while the close is under its 50-bar mean: resizes at the open."""

    def compute(self, candles: CandleArrays) -> Signals:
        sig = super().compute(candles)
        scale = np.where(candles.close < ind.sma(candles.close, 50), 0.5, 1.0)
        return Signals.from_target(sig.target * scale, stop_loss=sig.stop_loss)


def test_replay_when_stop_distance_sizer_resizes_then_paper_fills_equal_backtest(
    store: CandleStore, ledger_dir: Path
) -> None:
    """A resize under the stop-distance sizer is sized at the position's current stop, as the backtest does."""
    data = bybit(store, 6000)
    cost = CostModel(slippage_bps=3.0, leverage=3.0, sizer=Sizer.STOP_DISTANCE, size=0.01)
    strategy = HalvedBreakout(stop_atr=2.0)
    paper = assert_parity(data, "donchian", {}, cost, ledger_dir, strategy)
    by_stop = S.simulate(data.candles, signals(strategy, data.candles), cost, cash=CASH, funding=data.funding)
    resizes = len(paper.ledger_fills) - 2 * len(by_stop.trades)
    assert resizes > 20
