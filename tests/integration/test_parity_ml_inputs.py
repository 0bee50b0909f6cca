"""Parity for a strategy with declared inputs: ml_classifier with ETHUSDT funding (features=2) and
BTCUSDT as peer, both bound from the same real candle store by the backtest path (load_market +
bind_inputs) and by the paper replay path (session.load_series + bind_inputs, as run_replay does),
gives the same fills, fees, funding and final equity in the paper venue as in the batch backtest."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.conftest import SHARED_DATA
from tests.integration.test_parity_paper_backtest import trades_from_fills
from workstation.backtest import fills as F
from workstation.backtest import simulator as S
from workstation.backtest.costs import CostModel
from workstation.backtest.inputs import bind_inputs
from workstation.backtest.runner import load_market, run_backtest
from workstation.data.arrays import CandleArrays
from workstation.data.store import CandleStore
from workstation.engine.kernel import EngineKernel
from workstation.exchanges.simulated import PaperExecutionClient
from workstation.paper.replay import replay
from workstation.paper.runner import StrategyRunner
from workstation.paper.session import ReplaySpec, load_series
from workstation.strategies.base import Strategy
from workstation.strategies.builtin import build

H1 = SHARED_DATA / "ohlcv" / "bybit_linear" / "5pairs_1h_2023-11_2026-02"
PARAMS = {"horizon": 6, "train": 400, "refit": 240, "embargo": 6, "threshold": 0.52, "short": 1}
PARAMS |= {"features": 2, "peer": 1}
BARS = 2000
CASH = 10_000.0


def _frame(name: str) -> pd.DataFrame:
    return pd.read_feather(H1 / name)


@pytest.fixture(scope="module")
def store_path(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    path = tmp_path_factory.mktemp("store") / "candles.db"
    with CandleStore.open(path) as s:
        for sym, prefix in (("ETHUSDT", "ETH"), ("BTCUSDT", "BTC")):
            frame = _frame(f"{prefix}_USDT_USDT-1h-futures.feather").set_index("date").iloc[: BARS + 200]
            s.upsert_candles("bybit", sym, "1h", CandleArrays.from_frame(frame))
        funding = _frame("ETH_USDT_USDT-1h-funding_rate.feather")
        s.upsert_funding(
            "bybit", "ETHUSDT", funding["date"].astype("int64").to_numpy() // 1_000_000, funding["open"].to_numpy()
        )
    yield path


def test_replay_when_ml_classifier_has_funding_and_peer_then_paper_equals_backtest(
    store_path: Path, tmp_path: Path
) -> None:
    cost = CostModel()
    with CandleStore.open(store_path) as store:
        mkt = load_market(store, "ETHUSDT", "1h", venue="bybit")
        mkt_candles = mkt.candles.take(slice(0, BARS))
        batch_strategy = bind_inputs(store, build("ml_classifier", PARAMS), "bybit", "ETHUSDT", "1h", mkt_candles)
        venue, data = load_series(store, ReplaySpec("ETHUSDT", "1h", "ml_classifier"), end=int(mkt_candles.ts[-1]) + 1)
        paper_strategy = bind_inputs(store, build("ml_classifier", PARAMS), venue, "ETHUSDT", "1h", data.candles)
    assert len(data.candles) == BARS
    np.testing.assert_array_equal(data.candles.ts, mkt_candles.ts)
    np.testing.assert_array_equal(data.funding, mkt.funding[:BARS])

    bt = run_backtest(batch_strategy, mkt_candles, cost, cash=CASH, funding=mkt.funding[:BARS])
    assert (bt.signals.target != 0).sum() > 100
    assert bt.result.funding_paid != 0.0

    async def go(strategy: Strategy) -> tuple[PaperExecutionClient, list, StrategyRunner]:
        client = PaperExecutionClient(cost=cost, cash=CASH)
        kernel = EngineKernel(client=client, ledger_path=tmp_path / "ledger.sqlite")
        await kernel.start()
        runner = StrategyRunner(kernel, strategy, "ETHUSDT", cost, window=strategy.warmup + 50)
        await replay(client, "ETHUSDT", data, runner)
        fills = await kernel.ledger.call(kernel.ledger.fills, venue="paper")
        await kernel.stop()
        return client, fills, runner

    client, fills, runner = asyncio.run(go(paper_strategy))
    assert runner.refusals == 0 and runner.strategy_errors == 0
    account = client.account
    ledger_fills = sorted(fills, key=lambda f: int(f.exec_id.rsplit("e", 1)[1]))
    trades = trades_from_fills(ledger_fills)
    closed = bt.result.trades[bt.result.trades[:, S.T_REASON] != F.EXIT_END]
    ts = data.candles.ts
    assert len(trades) == len(closed) > 10
    for (entry_ts, side, qty, exit_ts, exit_px, fees), row in zip(trades, closed, strict=True):
        assert (entry_ts, side, exit_ts) == (ts[int(row[S.T_ENTRY_I])], row[S.T_SIDE], ts[int(row[S.T_EXIT_I])])
        assert qty == pytest.approx(row[S.T_QTY], rel=1e-9)
        assert exit_px == pytest.approx(row[S.T_EXIT_PX], rel=1e-9)
        assert fees == pytest.approx(row[S.T_FEES], rel=1e-9)
    assert account.fees_paid == pytest.approx(bt.result.fees_paid, rel=1e-12)
    assert account.funding_paid == pytest.approx(bt.result.funding_paid, rel=1e-12, abs=1e-12)
    assert account.equity() == pytest.approx(bt.result.equity[-1], rel=1e-12)
