"""Paper replay from the GUI: strategy picker + Start/Stop on the shipped sample; fills reach the
order/trade panels and the chart; in debug mode every order is denied and shown."""

from __future__ import annotations

from pathlib import Path

from pytestqt.qtbot import QtBot

from workstation.runtime import build_runtime
from workstation.ui.main_window import MainWindow


def window(qtbot: QtBot, qloop, home: Path, *overrides: str) -> MainWindow:
    win = MainWindow(build_runtime(home=home, config_file=None, overrides=overrides), qloop)
    win.save_layout = False
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win.chart.data is not None, timeout=20_000)
    return win


def test_paper_replay_when_started_from_the_gui_then_fills_show_in_panels_and_chart(
    qtbot: QtBot, qloop, isolated_home: Path
) -> None:
    win = window(qtbot, qloop, isolated_home, "debug_mode=false")
    panel = win.paper_panel
    panel.strategy_box.setCurrentText("sma_cross")
    panel.speed_box.setValue(0)  # as fast as possible
    panel.start_button.click()
    assert panel.running and not panel.start_button.isEnabled() and panel.stop_button.isEnabled()
    qtbot.waitUntil(lambda: panel.counts["fills"] >= 2 or not panel.running, timeout=30_000)
    assert panel.running, panel.status.text()
    qtbot.waitUntil(lambda: len(win.chart.trade_markers.data) >= 2, timeout=5_000)  # fill markers
    qtbot.waitUntil(lambda: win.orders.model.rowCount() >= 1, timeout=10_000)  # through the engine's reads
    with qtbot.waitSignal(panel.finished, timeout=10_000) as finished:
        panel.stop_button.click()
    assert "Replay stopped" in finished.args[0] and "fill(s)" in finished.args[0]
    assert panel.start_button.isEnabled() and not panel.stop_button.isEnabled()
    win.close()


def test_paper_replay_when_debug_mode_on_then_it_runs_and_every_order_is_denied(
    qtbot: QtBot, qloop, isolated_home: Path
) -> None:
    win = window(qtbot, qloop, isolated_home)
    panel = win.paper_panel
    assert "every order is DENIED" in panel.status.text()
    panel.speed_box.setValue(0)
    panel.start()
    qtbot.waitUntil(lambda: panel.counts["denied"] >= 1 or not panel.running, timeout=30_000)
    assert panel.running, panel.status.text()
    with qtbot.waitSignal(panel.finished, timeout=10_000):
        panel.stop()
    assert panel.counts["fills"] == 0
    win.close()
