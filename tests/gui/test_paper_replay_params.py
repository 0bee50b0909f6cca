"""The Paper panel's Parameters field: the replay trades the strategy with those parameters (the
same round trips as the backtest of them, risk manager off); a bad parameter is named and nothing
starts."""

from __future__ import annotations

from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from workstation.backtest.runner import load_market, run_backtest
from workstation.data.importer import import_file
from workstation.data.store import CandleStore
from workstation.runtime import build_runtime
from workstation.strategies.builtin import build
from workstation.ui.main_window import MainWindow

XRP_1H = Path("/work/shared/data/ohlcv/freqtrade_testdata_binance/XRP_USDT_USDT-1h-futures.feather")
PARAMS = {"fast": 3, "slow": 10, "short": 1}


def test_paper_replay_when_parameters_given_then_the_strategy_trades_with_them(
    qtbot: QtBot, qloop, isolated_home: Path
) -> None:
    with CandleStore.open(isolated_home / "candles.db") as store:
        import_file(store, XRP_1H, venue="binance", symbol="XRPUSDT", interval="1h")
        mkt = load_market(store, "XRPUSDT", "1h")
    runtime = build_runtime(home=isolated_home, config_file=None, overrides=("debug_mode=false",))
    win = MainWindow(runtime, qloop)
    win.save_layout = False
    qtbot.addWidget(win)
    win.show()
    panel = win.paper_panel
    qtbot.waitUntil(lambda: panel.series_box.count() >= 1, timeout=20_000)
    labels = [panel.series_box.itemText(i) for i in range(panel.series_box.count())]
    panel.series_box.setCurrentIndex(labels.index("XRPUSDT · binance"))
    panel.strategy_box.setCurrentText("sma_cross")
    panel.speed_box.setValue(0)
    panel.risk_box.setChecked(False)

    panel.params_edit.setText("fast=7,slow=abc")
    panel.start_button.click()
    assert panel.task is None and panel.series_box.isEnabled()
    assert "sma_cross parameter slow='abc': expected an integer in 3..500" in panel.status.text()

    panel.params_edit.setText("fast=3, slow=10, short=1")
    with qtbot.waitSignal(panel.finished, timeout=60_000):
        panel.start_button.click()
        assert not panel.params_edit.isEnabled()
    session = panel.session
    assert session is not None and session.spec.build() == build("sma_cross", PARAMS)
    cash = float(runtime.settings.trading.paper_balance)
    cost = session.paper.account.cost
    bt = run_backtest(build("sma_cross", PARAMS), mkt.candles, cost, cash=cash, funding=mkt.funding)
    default = run_backtest(build("sma_cross"), mkt.candles, cost, cash=cash, funding=mkt.funding)
    fills = session.paper.account.fills
    entries = sorted({int(t) for t in mkt.candles.ts[bt.result.trades[:, 0].astype(int)]})
    assert len(entries) >= 5 and bt.metrics["trade_count"] != default.metrics["trade_count"]
    # every backtest entry bar has a paper fill at that bar (the replay traded these parameters)
    assert set(entries) <= {f.ts for f in fills}
    assert session.paper.account.equity() == pytest.approx(bt.result.equity[-1], rel=1e-9)
    win.close()
