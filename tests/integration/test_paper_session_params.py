"""A paper-session replay of `SYMBOL:INTERVAL:STRATEGY:NAME=VALUE,...` trades the strategy with
those parameters: its round trips equal the backtest of the same strategy and parameters (sized like
the backtest, risk manager off), and differ from the defaults'. Bad specs are refused by
`workstation headless --replay` with the parameter named."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import SHARED_DATA
from tests.integration.cli_runner import run_cli
from tests.integration.test_parity_paper_backtest import trades_from_fills
from workstation.backtest import fills as F
from workstation.backtest import simulator as S
from workstation.backtest.inputs import bind_inputs
from workstation.backtest.runner import Backtest, load_market, run_backtest
from workstation.core.types import Fill
from workstation.data.arrays import CandleArrays
from workstation.data.store import CandleStore
from workstation.paper.account_session import PaperSession
from workstation.paper.session import ReplaySpec, candle_store_path
from workstation.runtime import build_runtime
from workstation.strategies.builtin import build

H1 = SHARED_DATA / "ohlcv" / "bybit_linear" / "5pairs_1h_2023-11_2026-02"
OVERRIDES = ("trading.venue=paper", "debug_mode=false")
BARS = 2000


def _store(home: Path) -> None:
    """Real Bybit ETHUSDT and BTCUSDT 1h candles and ETHUSDT funding in the home's candle store."""
    with CandleStore.open(candle_store_path(home)) as s:
        for sym, prefix in (("ETHUSDT", "ETH"), ("BTCUSDT", "BTC")):
            frame = pd.read_feather(H1 / f"{prefix}_USDT_USDT-1h-futures.feather").set_index("date").iloc[:BARS]
            s.upsert_candles("bybit", sym, "1h", CandleArrays.from_frame(frame))
        funding = pd.read_feather(H1 / "ETH_USDT_USDT-1h-funding_rate.feather")
        ts = funding["date"].astype("int64").to_numpy() // 1_000_000
        s.upsert_funding("bybit", "ETHUSDT", ts, funding["open"].to_numpy())


def _replay(home: Path, text: str) -> tuple[list[Fill], PaperSession]:
    runtime = build_runtime(home=home, config_file=None, overrides=OVERRIDES)

    async def go() -> tuple[list[Fill], PaperSession]:
        session = await PaperSession.open(runtime, ReplaySpec.parse(text), risk=False)
        try:
            assert await session.run(0.0) > 0
            kernel = session.kernel
            fills = await kernel.ledger.call(kernel.ledger.fills, venue="paper")
        finally:
            await session.close()
        return fills, session

    return asyncio.run(go())


def _backtest(home: Path, symbol: str, interval: str, name: str, params: dict, session: PaperSession) -> Backtest:
    with CandleStore.open(candle_store_path(home)) as store:
        mkt = load_market(store, symbol, interval)
        strategy = bind_inputs(store, build(name, params), mkt.venue, symbol, interval, mkt.candles)
    cash = float(session.runtime.settings.trading.paper_balance)
    return run_backtest(strategy, mkt.candles, session.paper.account.cost, cash=cash, funding=mkt.funding)


def _assert_same_trades(fills: list[Fill], bt: Backtest) -> int:
    trades = trades_from_fills(sorted(fills, key=lambda f: int(f.exec_id.rsplit("e", 1)[1])))
    closed = bt.result.trades[bt.result.trades[:, S.T_REASON] != F.EXIT_END]
    ts = bt.result.ts
    assert len(trades) == len(closed)
    for (entry_ts, side, qty, exit_ts, exit_px, fees), row in zip(trades, closed, strict=True):
        assert (entry_ts, side, exit_ts) == (ts[int(row[S.T_ENTRY_I])], row[S.T_SIDE], ts[int(row[S.T_EXIT_I])])
        assert qty == pytest.approx(row[S.T_QTY], rel=1e-9)
        assert exit_px == pytest.approx(row[S.T_EXIT_PX], rel=1e-9)
        assert fees == pytest.approx(row[S.T_FEES], rel=1e-9)
    return len(trades)


def test_paper_session_when_spec_has_params_then_trades_equal_backtest_with_those_params(
    isolated_home: Path,
) -> None:
    _store(isolated_home)
    params = {"fast": 7, "slow": 30, "short": 1}
    fills, session = _replay(isolated_home, "BTCUSDT:1h:sma_cross:fast=7,slow=30,short=1")
    bt = _backtest(isolated_home, "BTCUSDT", "1h", "sma_cross", params, session)
    assert _assert_same_trades(fills, bt) > 20
    default = _backtest(isolated_home, "BTCUSDT", "1h", "sma_cross", {}, session)
    assert default.metrics["trade_count"] != bt.metrics["trade_count"]  # the params changed what it traded


def test_paper_session_when_ml_spec_has_funding_and_peer_then_trades_equal_bound_backtest(
    isolated_home: Path,
) -> None:
    _store(isolated_home)
    params = {"features": 2, "peer": 1, "train": 300, "refit": 240, "horizon": 6, "embargo": 6}
    params |= {"threshold": 0.52, "short": 1}
    text = "ETHUSDT:1h:ml_classifier:" + ",".join(f"{k}={v}" for k, v in params.items())
    fills, session = _replay(isolated_home, text)
    bt = _backtest(isolated_home, "ETHUSDT", "1h", "ml_classifier", params, session)
    assert bt.result.funding_paid != 0.0
    assert _assert_same_trades(fills, bt) > 5


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("BTCUSDT:1m:sma_cross:fast=abc", "sma_cross parameter fast='abc': expected an integer in 2..200"),
        ("BTCUSDT:1m:sma_cross:speed=3", "sma_cross has no parameter 'speed'"),
        ("BTCUSDT:1m:nope", "unknown strategy 'nope'"),
    ],
)
def test_headless_when_replay_spec_is_bad_then_refused_naming_the_parameter(
    isolated_home: Path, spec: str, message: str
) -> None:
    done = run_cli("--set", "trading.venue=paper", "headless", "--replay", spec, home=isolated_home, timeout=60)
    assert done.returncode == 2
    assert message in " ".join((done.stdout + done.stderr).split())
