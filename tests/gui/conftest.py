from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

# Before any QApplication exists (pytest-qt creates it lazily).
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture
def qloop(qapp) -> Iterator[asyncio.AbstractEventLoop]:
    """A qasync loop on the Qt thread (DESIGN.md): coroutines and loop timers advance whenever
    qtbot spins Qt. Tests stay synchronous."""
    import qasync

    loop = qasync.QEventLoop(qapp, already_running=True)
    asyncio.set_event_loop(loop)
    yield loop
    # Cancel what the test left running and let the cancellations actually run (processEvents
    # drives the qasync loop here, outside any coroutine), so no task, socket or executor job
    # outlives the loop and fires into a later test's objects.
    pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
    for task in pending:
        task.cancel()
    deadline = time.monotonic() + 5
    while any(not task.done() for task in pending) and time.monotonic() < deadline:
        qapp.processEvents()
        time.sleep(0.005)
    # Not loop.stop(): with already_running it calls QApplication.exit() outside exec(), which
    # leaves Qt's quit flag set for the rest of the session, so every later QEventLoop.exec()
    # (qtbot.waitSignal) returns at once and timers stop firing. Mark it stopped instead.
    loop._QEventLoop__is_running = False  # type: ignore[attr-defined]
    loop.close()
    # already_running=True marked it as the thread's running loop and nothing unmarks it: without
    # this, every later asyncio.run() in the session fails with "called from a running event loop".
    asyncio.events._set_running_loop(None)
    asyncio.set_event_loop(None)


@pytest.fixture
def chart_panel(qtbot, isolated_home: Path):
    """A chart on an empty store: its first load imports the bundled sample."""
    from workstation.ui.panels.chart import ChartPanel
    from workstation.ui.store_worker import StoreWorker

    worker = StoreWorker(isolated_home / "candles.db")
    panel = ChartPanel(worker)
    qtbot.addWidget(panel)
    panel.resize(1200, 700)
    panel.show()
    qtbot.waitExposed(panel)
    with qtbot.waitSignal(panel.loaded, timeout=20_000):
        panel.start()
    yield panel
    worker.shutdown()
