"""Backtest lab: sweep heatmap, walk-forward table, Monte Carlo fan, progress and cancel, trade
list jumping the chart, and "send to graduation queue"."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from pytestqt.qtbot import QtBot

from workstation.api.graduation_view import graduation_snapshot
from workstation.runtime import build_runtime
from workstation.ui.lab_job import LabRequest, parse_grid, run_lab
from workstation.ui.local_engine import LocalEngine
from workstation.ui.panels.backtest_lab import BacktestLab


def lab_on_sample(qtbot: QtBot, chart_panel, link=None) -> BacktestLab:
    lab = BacktestLab(chart_panel.worker, link)
    qtbot.addWidget(lab)
    lab.show()
    with qtbot.waitSignal(lab.series_box.currentIndexChanged, timeout=10_000):
        lab.load_catalog()
    lab.strategy_box.setCurrentText("sma_cross")
    lab.interval_box.setCurrentText("1h")
    return lab


def run_mode(qtbot: QtBot, lab: BacktestLab, mode: str):
    lab.mode_box.setCurrentIndex(lab.mode_box.findData(mode))
    with qtbot.waitSignal(lab.finished, timeout=60_000) as done:
        lab.run()
        assert lab.progress.maximum() == 1000 and lab.cancel_button.isEnabled()  # a fraction, not busy
    assert lab.progress.format() == "done"
    return done.args[0]


def test_lab_when_sweep_walkforward_and_montecarlo_run_then_heatmap_table_and_fan_show(
    qtbot: QtBot, qloop, chart_panel, isolated_home: Path
) -> None:
    rt = build_runtime(home=isolated_home, config_file=None, overrides=())
    lab = lab_on_sample(qtbot, chart_panel, LocalEngine(rt))
    lab.grid_x.setText("fast=5:20:5")
    lab.grid_y.setText("slow=30:90:20")
    sweep = run_mode(qtbot, lab, "sweep")
    z = sweep.heatmap["z"]
    assert z.shape == (4, 4) and np.isfinite(z).sum() == 16
    assert lab.heatmap.z is not None and lab.tabs.currentWidget() is lab.heatmap
    j, i = np.unravel_index(np.nanargmax(z), z.shape)
    best = sweep.params
    assert (best["fast"], best["slow"]) == (sweep.heatmap["xs"][i], sweep.heatmap["ys"][j])
    assert "best fast=" in lab.heatmap.caption.text()
    assert lab.trade_list.model.rowCount() == len(sweep.trades) > 0

    lab.train_box.setValue(20)
    lab.test_box.setValue(7)
    wf = run_mode(qtbot, lab, "walkforward")
    assert len(wf.windows) >= 4 and lab.windows.model.rowCount() == len(wf.windows)
    assert wf.evidence["walk_forward"] is not None

    mc = run_mode(qtbot, lab, "montecarlo")
    assert mc.fan["bands"].shape[0] == 101
    assert "paths over" in lab.fan.caption.text()
    xs, _ = lab.fan.median.getData()
    assert len(xs) == mc.fan["bands"].shape[1]

    with qtbot.waitSignal(lab.sent, timeout=10_000) as sent:  # through the graduation pipeline
        lab.send_button.click()
    assert sent.args[1] is True and "queued as candidate" in sent.args[0]
    (cand,) = graduation_snapshot(rt)["candidates"]
    assert cand["stage"] == "CANDIDATE" and cand["params"] == mc.params
    assert cand["evidence"]["source"].startswith("lab montecarlo")
    lab.shutdown()


def test_lab_when_trade_clicked_then_chart_jumps_to_it(qtbot: QtBot, qloop, chart_panel) -> None:
    lab = lab_on_sample(qtbot, chart_panel)
    lab.jump_to.connect(chart_panel.jump_to)
    chart_panel.interval_box.setCurrentText("1h")
    with qtbot.waitSignal(lab.finished, timeout=60_000) as done:
        lab.run()
    assert done.args[0].trades
    view = lab.trade_list.view
    index = view.model().index(0, 0)
    trade = lab.trade_list.model.rows()[view.model().mapToSource(index).row()]
    with qtbot.waitSignal(lab.jump_to) as jumped:
        view.clicked.emit(index)
    assert jumped.args[0] == trade["entry_ts"]
    x0, x1 = chart_panel.price_plot.vb.viewRange()[0]
    assert x0 <= trade["entry_ts"] / 1000 <= x1 and (x1 - x0) < 86_400 * 30
    lab.shutdown()


def test_lab_when_cancelled_mid_sweep_then_worker_stopped_and_idle(qtbot: QtBot, qloop, chart_panel) -> None:
    lab = lab_on_sample(qtbot, chart_panel)
    lab.interval_box.setCurrentText("1m")
    lab.grid_x.setText("fast=2:60:1")
    lab.grid_y.setText("slow=61:400:3")
    lab.mode_box.setCurrentIndex(lab.mode_box.findData("sweep"))
    lab.run()
    qtbot.waitUntil(lambda: 0 < lab.fraction() < 1, timeout=30_000)  # real progress from the worker
    process = next(iter(lab.pool.processes()))
    lab.cancel()
    assert lab.progress.format() == "cancelled" and lab.run_button.isEnabled()
    qtbot.waitUntil(lambda: not process.is_alive(), timeout=5_000)
    lab.shutdown()


def test_lab_job_when_grid_is_bad_then_a_clear_error(isolated_home: Path) -> None:
    assert parse_grid("fast=5:15:5") == ("fast", [5.0, 10.0, 15.0])
    for bad in ("fast", "fast=1:2", "fast=1:5:0", "fast=a,b"):
        try:
            parse_grid(bad)
        except ValueError as exc:
            assert "grid" in str(exc)
        else:
            raise AssertionError(bad)
    request = LabRequest(isolated_home / "none.db", "binance", "BTCUSDT", "1h", "sma_cross", {}, mode="sweep",
                         grid=(("fast", (50.0,)), ("slow", (10.0,))))  # fmt: skip
    try:
        run_lab(request)
    except (ValueError, LookupError) as exc:
        assert str(exc)


def test_lab_job_when_some_walkforward_variants_cannot_warm_up_then_note_says_so_and_progress_counts_the_rest(
    isolated_home: Path,
) -> None:
    from multiprocessing import RawArray

    import workstation.ui.lab_job as job
    from workstation.data.sample import load_bundled_sample
    from workstation.data.store import CandleStore

    db = isolated_home / "candles.db"
    with CandleStore.open(db) as store:
        load_bundled_sample(store)
    progress = RawArray("d", 2)
    job.init_worker(progress)
    request = LabRequest(db, "binance", "BTCUSDT", "1h", "sma_cross", {}, mode="walkforward",
                         grid=(("fast", (5.0, 10.0)), ("slow", (100.0, 490.0))), train_days=15, test_days=7)  # fmt: skip
    result = run_lab(request)
    assert "2 of 4 variants skipped" in result.note and "491+ bars" in result.note, result.note
    assert all(w["params"] is None or w["params"]["slow"] == 100 for w in result.windows)
    assert progress[0] == progress[1] > 0  # the bar reaches its total: skipped variants are not counted
