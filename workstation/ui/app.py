"""Start the desktop app: QApplication, the asyncio loop on the Qt thread (qasync), the window."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from pathlib import Path

from workstation.runtime import Runtime

log = logging.getLogger(__name__)


def run_gui(runtime: Runtime, *, screenshot: Path | None = None, screenshot_delay_ms: int = 800) -> int:
    """Run until the window closes. With `screenshot`, save the window to that PNG and exit 0."""
    if screenshot is not None and not os.environ.get("DISPLAY") and sys.platform.startswith("linux"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import qasync
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from workstation.ui.main_window import MainWindow
    from workstation.ui.theme import apply_theme

    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName("Open Alpha Workstation")
    apply_theme(app)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    window = MainWindow(runtime)
    window.show()
    closed = asyncio.Event()
    app.lastWindowClosed.connect(closed.set)
    result = {"code": 0}

    if screenshot is not None:

        def shoot() -> None:
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            if not window.grab().save(str(screenshot)):
                log.error("could not save screenshot to %s", screenshot)
                result["code"] = 1
            else:
                log.info("screenshot saved to %s", screenshot)
            window.close()

        QTimer.singleShot(screenshot_delay_ms, shoot)

    log.info("workstation window open (debug mode %s)", "ON" if runtime.debug_switch.enabled else "OFF")
    with loop:
        loop.run_until_complete(closed.wait())
    return result["code"]
