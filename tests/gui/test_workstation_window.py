"""The main window with its panels: first launch, docks and layout, status bar, screenshots."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QDockWidget
from pytestqt.qtbot import QtBot

from tests.integration.cli_runner import run_cli
from workstation.data.store import CandleStore
from workstation.runtime import build_runtime
from workstation.ui.candles_item import DOWN_COLOR, UP_COLOR
from workstation.ui.main_window import MainWindow

DOCKS = ["Positions", "Orders", "Trades", "Balances", "Graduation", "Backtest Lab", "Log", "Paper", "Risk"]


def open_window(qtbot: QtBot, home: Path, loop=None) -> MainWindow:
    window = MainWindow(build_runtime(home=home, config_file=None, overrides=()), loop)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    return window


def test_first_launch_when_store_empty_then_sample_imported_with_progress_and_chart_opens(
    qtbot: QtBot, isolated_home: Path
) -> None:
    assert not (isolated_home / "candles.db").exists()
    window = open_window(qtbot, isolated_home)
    with qtbot.waitSignal(window.chart.loaded, timeout=20_000) as blocker:
        pass
    assert blocker.args[0].key.symbol == "BTCUSDT" and blocker.args[0].interval == "15m"
    assert window.chart.catalog.imported_sample
    log_text = (isolated_home / "logs" / "workstation.log").read_text()
    assert "First launch: importing the bundled BTCUSDT" in log_text  # the progress line the chart showed
    assert "imported the bundled sample: 87840 candles" in log_text
    assert window.chart.busy.isHidden() and "5,856 bars" in window.chart.status.text()
    with CandleStore.open(isolated_home / "candles.db") as store:
        assert [(s.symbol, s.interval, s.rows) for s in store.series()] == [("BTCUSDT", "1m", 87_840)]
    assert "Last data: bar 2024-12-31 23:45 UTC" in window.status.data.text()
    assert window.banner.isVisible()  # still in debug mode on paper


def test_view_menu_when_any_dock_closed_then_it_brings_it_back(qtbot: QtBot, isolated_home: Path) -> None:
    window = open_window(qtbot, isolated_home)
    docks = {d.windowTitle(): d for d in window.findChildren(QDockWidget)}
    assert sorted(docks) == sorted(DOCKS)
    actions = {a.text(): a for a in window.view_menu.actions()}
    for title, dock in docks.items():
        dock.close()
        assert not dock.isVisible()
        actions[title].trigger()
        assert dock.isVisible()
    for dock in docks.values():
        dock.close()
    actions["Reset layout"].trigger()
    assert all(d.isVisible() or window.tabifiedDockWidgets(d) for d in docks.values())


def test_layout_when_window_reopened_then_docks_and_chart_choice_are_restored(
    qtbot: QtBot, isolated_home: Path
) -> None:
    window = open_window(qtbot, isolated_home)
    with qtbot.waitSignal(window.chart.loaded, timeout=20_000):
        pass
    with qtbot.waitSignal(window.chart.loaded, timeout=10_000):
        window.chart.interval_box.setCurrentText("4h")
    window.balances_dock.setFloating(True)
    window.orders_dock.close()
    window.close()

    again = open_window(qtbot, isolated_home)
    with qtbot.waitSignal(again.chart.loaded, timeout=20_000) as blocker:
        pass
    assert blocker.args[0].interval == "4h"
    assert again.balances_dock.isFloating()
    assert not again.orders_dock.isVisible() and again.positions_dock.isVisible()


def test_status_bar_when_running_on_qasync_then_lag_cpu_memory_update(qtbot: QtBot, isolated_home: Path, qloop) -> None:
    window = open_window(qtbot, isolated_home, qloop)
    qtbot.waitUntil(lambda: len(window.status.lag_monitor.samples) >= 3, timeout=5000)
    assert re.fullmatch(r"Loop lag: \d+\.\d ms \(p99 \d+\.\d\)", window.status.lag.text())
    assert all(0 <= s < 1000 for s in window.status.lag_monitor.samples)
    assert re.fullmatch(r"CPU: \d+%", window.status.cpu.text())
    megabytes = int(re.fullmatch(r"Memory: ([\d,]+) MB", window.status.memory.text()).group(1).replace(",", ""))
    assert 20 < megabytes < 4000
    qtbot.waitUntil(lambda: window.status.venues.text() == "Venues: paper: no venue", timeout=5000)
    qtbot.waitUntil(lambda: "2024-12-31" in window.status.data.text(), timeout=20_000)


def test_gui_screenshot_when_first_launch_then_png_shows_candles(isolated_home: Path, tmp_path: Path) -> None:
    shot = tmp_path / "window.png"
    done = run_cli("gui", "--screenshot", str(shot), home=isolated_home, env={"QT_QPA_PLATFORM": "offscreen"})
    assert done.returncode == 0, done.stderr
    image = QImage(str(shot))
    colours = {QColor(UP_COLOR).rgb(), QColor(DOWN_COLOR).rgb()}
    candle_pixels = sum(
        image.pixel(x, y) in colours for x in range(0, image.width(), 2) for y in range(60, image.height() // 2, 2)
    )
    assert candle_pixels > 500, "the screenshot has no candles"


def test_run_gui_when_asked_for_one_panel_then_png_is_that_panel(isolated_home: Path, tmp_path: Path) -> None:
    shot = tmp_path / "chart.png"
    code = (
        "import sys; from pathlib import Path; from workstation.runtime import build_runtime; "
        "from workstation.ui.app import run_gui; "
        f"rt = build_runtime(home=Path({str(isolated_home)!r}), config_file=None, overrides=()); "
        f"sys.exit(run_gui(rt, screenshot=Path({str(shot)!r}), panel='chart'))"
    )
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    image = QImage(str(shot))
    assert 400 < image.height() < 700  # the chart alone: no banner, docks or status bar
    top = image.pixelColor(image.width() // 2, 5)
    assert (top.red(), top.green(), top.blue()) != (0xFF, 0x6B, 0x35)
