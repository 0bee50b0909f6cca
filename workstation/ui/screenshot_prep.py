"""Fill the window with results before a screenshot: `workstation gui --screenshot PATH` with
$WORKSTATION_GUI_PREPARE=lab,paper first runs a backtest in the lab (the shipped sample, 1h; sent to
the graduation queue) and a short paper replay (stopped after a few seconds), so every panel shows
real output, not only its empty state. For looking at the app and for the packaging smoke test;
no effect otherwise."""

from __future__ import annotations

import asyncio
import logging
import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from workstation.ui.main_window import MainWindow

log = logging.getLogger(__name__)
PREPARE_ENV = "WORKSTATION_GUI_PREPARE"
STEPS = ("lab", "paper")
PAPER_SECONDS = 4.0
PREPARE_TIMEOUT_S = 120.0


def prepare_steps() -> list[str]:
    wanted = [s.strip().lower() for s in os.environ.get(PREPARE_ENV, "").split(",") if s.strip()]
    unknown = [s for s in wanted if s not in STEPS]
    if unknown:
        log.error("%s: unknown step(s) %s (known: %s)", PREPARE_ENV, ", ".join(unknown), ", ".join(STEPS))
    return [s for s in wanted if s in STEPS]


async def _until(check: object, timeout_s: float) -> bool:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not check():  # type: ignore[operator]
        if asyncio.get_running_loop().time() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True


async def run_lab(window: MainWindow) -> None:
    lab = window.lab
    if not await _until(lambda: lab.series_box.count() > 0, 30):
        log.error("prepare lab: the lab has no series to run on")
        return
    lab.interval_box.setCurrentText("1h")
    lab.mode_box.setCurrentIndex(lab.mode_box.findData("backtest"))
    done: list[object] = []
    lab.finished.connect(done.append)
    lab.failed.connect(done.append)
    lab.run()
    if not await _until(lambda: bool(done), PREPARE_TIMEOUT_S):
        log.error("prepare lab: no result after %.0f s", PREPARE_TIMEOUT_S)
    if lab.send_button.isEnabled():  # and the graduation queue gets the run as a candidate
        sent: list[object] = []
        lab.sent.connect(lambda *args: sent.append(args))
        lab.send_to_graduation()
        await _until(lambda: bool(sent), 30)
    await asyncio.sleep(0.5)  # the chart switches to the lab's series and draws its trades


async def run_paper(window: MainWindow) -> None:
    panel = window.paper_panel
    if panel.engine is None:
        log.error("prepare paper: the window has no local engine")
        return
    panel.speed_box.setValue(0)
    panel.start()
    await _until(lambda: not panel.running, PAPER_SECONDS)
    panel.stop()
    await _until(lambda: not panel.running, 10)
    window.model.refresh()
    await asyncio.sleep(1.0)  # the engine panels read the replay's account


async def prepare(window: MainWindow, steps: list[str]) -> None:
    for step in steps:
        log.info("screenshot: preparing %s", step)
        await (run_lab if step == "lab" else run_paper)(window)
