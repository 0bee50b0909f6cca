"""The window a user sees: the debug banner cannot be missed or removed; the session ends itself."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from PySide6.QtGui import QFontDatabase, QImage
from PySide6.QtWidgets import QDockWidget
from pytestqt.qtbot import QtBot

from tests.integration.cli_runner import run_cli
from workstation.runtime import Runtime, build_runtime
from workstation.ui.banner import DebugBanner
from workstation.ui.main_window import MainWindow


def runtime(home: Path, *overrides: str) -> Runtime:
    return build_runtime(home=home, config_file=None, overrides=overrides)


def test_fonts_when_qt_starts_then_at_least_one_family_exists(qapp) -> None:
    assert QFontDatabase.families(), "no fonts: every label would render as empty boxes"


def test_window_when_debug_mode_on_then_banner_visible_above_the_docks(qtbot: QtBot, isolated_home: Path) -> None:
    window = MainWindow(runtime(isolated_home))
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    banner = window.findChild(DebugBanner)
    assert banner is not None and banner.isVisible()
    assert "DEBUG MODE" in banner.text() and "debug session ends in" in banner.text()
    assert not any(banner is dock.widget() for dock in window.findChildren(QDockWidget))
    assert (
        banner.mapTo(window, banner.rect().topLeft()).y()
        < window.centralWidget().mapTo(window, window.centralWidget().rect().topLeft()).y()
    )


def test_banner_when_code_tries_to_hide_it_while_debug_on_then_it_stays_visible(
    qtbot: QtBot, isolated_home: Path
) -> None:
    window = MainWindow(runtime(isolated_home))
    qtbot.addWidget(window)
    window.show()
    window.banner.hide()
    window.banner.setVisible(False)
    window.banner.close()
    assert window.banner.isVisible()


def test_banner_when_debug_mode_switched_off_then_it_goes_and_returns_when_switched_on(
    qtbot: QtBot, isolated_home: Path
) -> None:
    rt = runtime(isolated_home)
    window = MainWindow(rt)
    qtbot.addWidget(window)
    window.show()
    rt.debug_switch.set(False, source="test")
    assert not window.banner.isVisible()
    rt.debug_switch.set(True, source="test")
    assert window.banner.isVisible()


def test_window_when_debug_mode_off_then_no_banner_and_environment_badge_shown(
    qtbot: QtBot, isolated_home: Path
) -> None:
    window = MainWindow(runtime(isolated_home, "debug_mode=false", "trading.venue=bybit-testnet"))
    qtbot.addWidget(window)
    window.show()
    assert not window.banner.isVisible()
    assert window.badge.text() == "TESTNET"


def test_debug_session_when_limit_reached_then_window_says_why_and_closes_itself(
    qtbot: QtBot, isolated_home: Path
) -> None:
    window = MainWindow(runtime(isolated_home, "safety.debug_session_max=1s"))
    qtbot.addWidget(window)
    window.show()
    with qtbot.waitSignal(window.session_expired, timeout=5000) as blocker:
        pass
    assert "limit of 1 s" in blocker.args[0]
    assert "Debug session reached its limit" in window.banner.text()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=6000)
    log_text = (isolated_home / "logs" / "workstation.log").read_text()
    assert "Debug session reached its limit" in log_text


def test_gui_screenshot_when_run_from_cli_offscreen_then_png_shows_the_orange_banner(
    isolated_home: Path, tmp_path: Path
) -> None:
    shot = tmp_path / "window.png"
    done = run_cli("gui", "--screenshot", str(shot), home=isolated_home, env={"QT_QPA_PLATFORM": "offscreen"})
    assert done.returncode == 0, done.stderr
    image = QImage(str(shot))
    assert image.width() >= 800 and image.height() >= 600
    banner_pixel = image.pixelColor(image.width() // 2, 34)
    assert (banner_pixel.red(), banner_pixel.green(), banner_pixel.blue()) == (0xFF, 0x6B, 0x35)


@pytest.mark.skipif(shutil.which("Xvfb") is None, reason="needs Xvfb (scripts/test.sh installs it)")
def test_gui_when_run_in_a_real_x_window_then_it_maps_and_exits_cleanly(isolated_home: Path, tmp_path: Path) -> None:
    read_fd, write_fd = os.pipe()
    xvfb = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", "1400x900x24", "-nolisten", "tcp"],
        pass_fds=(write_fd,),
        stderr=subprocess.DEVNULL,
    )
    os.close(write_fd)
    try:
        with os.fdopen(read_fd) as pipe:
            display = ":" + pipe.readline().strip()  # Xvfb writes its display number once it is ready
        shot = tmp_path / "x11.png"
        env = {"DISPLAY": display, "QT_QPA_PLATFORM": "xcb"}
        done = run_cli("gui", "--screenshot", str(shot), home=isolated_home, env=env)
        assert done.returncode == 0, done.stderr
        image = QImage(str(shot))
        assert image.width() >= 800
        pixel = image.pixelColor(image.width() // 2, 34)
        assert (pixel.red(), pixel.green(), pixel.blue()) == (0xFF, 0x6B, 0x35)
    finally:
        xvfb.terminate()
        xvfb.wait(5)
