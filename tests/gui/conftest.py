from __future__ import annotations

import asyncio
import gc
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import shiboken6

# Before any QApplication exists (pytest-qt creates it lazily).
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(autouse=True)
def collect_qt_garbage_on_qt_thread() -> Iterator[None]:
    """Collect each test's cyclic garbage now, on the Qt thread. Python-owned QObjects that hold
    Qt timers must be destroyed on the thread they live in; collected later from a worker thread
    (a store worker or executor thread that happens to trigger GC), their timers outlive them."""
    yield
    gc.collect()


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
    # close() only flags qasync's call_later timer object as stopped: its Qt timers stay registered
    # on this thread. Left to the garbage collector, it can be destroyed from a worker thread (GC
    # runs wherever Python allocates), which cannot unregister them, and the next timer pass calls
    # into freed memory (SIGSEGV in QTimerInfoList::activateTimers). Destroy it here, on the Qt thread.
    qapp.processEvents()  # results executor threads queued before close() land before the timer goes
    timer = loop._timer  # type: ignore[attr-defined]
    if shiboken6.isValid(timer):
        shiboken6.delete(timer)
    # already_running=True marked it as the thread's running loop and nothing unmarks it: without
    # this, every later asyncio.run() in the session fails with "called from a running event loop".
    asyncio.events._set_running_loop(None)
    asyncio.set_event_loop(None)


def open_chart(qtbot, home: Path, **panel_options: Any):
    """A shown ChartPanel on <home>/candles.db after its first load (an empty store imports the
    bundled sample), and its store worker (the caller shuts it down)."""
    from workstation.ui.panels.chart import ChartPanel
    from workstation.ui.store_worker import StoreWorker

    worker = StoreWorker(home / "candles.db")
    panel = ChartPanel(worker, **panel_options)
    qtbot.addWidget(panel)
    panel.resize(1200, 700)
    panel.show()
    qtbot.waitExposed(panel)
    with qtbot.waitSignal(panel.loaded, timeout=20_000):
        panel.start()
    return panel, worker


@pytest.fixture
def chart_panel(qtbot, isolated_home: Path):
    """A chart on an empty store: its first load imports the bundled sample."""
    panel, worker = open_chart(qtbot, isolated_home)
    yield panel
    worker.shutdown()
