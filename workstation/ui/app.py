"""Start the desktop app: QApplication, the asyncio loop on the Qt thread (qasync), the window."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from pathlib import Path

from workstation.runtime import Runtime

log = logging.getLogger(__name__)


# After the chart has data, let a few frames paint before grabbing; give up waiting for data after
# SCREENSHOT_TIMEOUT_MS and shoot what is there (the log says why).
SCREENSHOT_SETTLE_MS = 300
SCREENSHOT_TIMEOUT_MS = 15_000


def run_gui(
    runtime: Runtime,
    *,
    screenshot: Path | None = None,
    panel: str | None = None,
    screenshot_delay_ms: int = SCREENSHOT_SETTLE_MS,
    remote: tuple[str, str] | None = None,
    exit_after: float | None = None,
) -> int:
    """Run until the window closes. With `screenshot`, wait for the chart's first data, save the
    window (or the dock titled `panel`, or the chart for "chart") to that PNG and exit 0.
    `remote` (URL, token) attaches the panels to a headless engine instead of this process's.
    `exit_after` seconds: close the window then (after a screenshot's wait, the later of the two)."""
    if screenshot is not None and not os.environ.get("DISPLAY") and sys.platform.startswith("linux"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import qasync
    from PySide6.QtCore import Qt, QTimer
    from PySide6.QtWidgets import QApplication, QWidget

    from workstation.ui.main_window import MainWindow
    from workstation.ui.theme import apply_theme

    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName("Open Alpha Workstation")
    apply_theme(app)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    engine = None
    if remote is not None:
        from workstation.ui.engine_link import RemoteEngine

        engine = RemoteEngine(*remote)
    window = MainWindow(runtime, loop, engine)
    window.show()
    closed = asyncio.Event()
    app.lastWindowClosed.connect(closed.set)
    result = {"code": 0}
    shot_taken: list[bool] = []

    if screenshot is not None:
        window.save_layout = False  # a screenshot's floated panel must not become the user's layout

        def target() -> QWidget:
            if panel is None:
                return window
            if panel.lower() == "chart":
                return window.chart
            for dock in window.docks():
                if dock.windowTitle().lower() == panel.lower():
                    return dock
            log.error("no panel named %r; saving the whole window", panel)
            return window

        def prepare() -> None:
            if window.model.started and window.model.loads == 0:  # engine panels still empty: wait
                window.model.loaded.connect(prepare, Qt.ConnectionType.SingleShotConnection)
                return
            shown = target()
            if shown is not window and shown is not window.chart:
                # Floated at a readable size: tabbed at the bottom a panel gets a strip 200 px high.
                shown.setFloating(True)
                shown.resize(1200, 560)
                shown.show()
                shown.raise_()
            QTimer.singleShot(screenshot_delay_ms, shoot)

        def shoot() -> None:
            if shot_taken:
                return
            shot_taken.append(True)
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            if not target().grab().save(str(screenshot)):
                log.error("could not save screenshot to %s", screenshot)
                result["code"] = 1
            else:
                log.info("screenshot saved to %s", screenshot)
            window.close()

        def on_timeout() -> None:
            if not shot_taken:
                log.warning("no chart data after %d ms; saving the screenshot anyway", SCREENSHOT_TIMEOUT_MS)
                shoot()

        from workstation.ui import screenshot_prep

        steps = screenshot_prep.prepare_steps()  # $WORKSTATION_GUI_PREPARE=lab,paper: results first
        filled: list[bool] = []

        def fill_then_prepare() -> None:
            if filled:
                return  # filling (the lab's run reloads the chart) or filled: prepare() follows once
            if not steps:
                prepare()
                return
            filled.append(True)
            task = asyncio.ensure_future(screenshot_prep.prepare(window, steps))
            task.add_done_callback(lambda _: prepare())

        window.chart.loaded.connect(lambda _: fill_then_prepare())
        window.chart.worker.failed.connect(lambda _: fill_then_prepare())
        timeout_ms = SCREENSHOT_TIMEOUT_MS + (round(screenshot_prep.PREPARE_TIMEOUT_S * 1000) if steps else 0)
        QTimer.singleShot(timeout_ms, on_timeout)

    if exit_after is not None:

        def time_up() -> None:
            if screenshot is not None and not shot_taken:
                QTimer.singleShot(200, time_up)  # a screenshot still waiting for its data goes first
                return
            log.info("--exit-after %.1f s: closing", exit_after)
            window.close()

        QTimer.singleShot(round(exit_after * 1000), time_up)

    log.info("workstation window open (debug mode %s)", "ON" if runtime.debug_switch.enabled else "OFF")
    with loop:
        loop.run_until_complete(closed.wait())
    return result["code"]
