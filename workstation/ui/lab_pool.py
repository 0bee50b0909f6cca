"""The backtest lab's worker process: one spawned process at a time, with a shared (done, total)
array its jobs write their progress to, so the GUI reads a real fraction without pipe traffic.
Cancelling terminates the process (a numba loop cannot be interrupted any other way)."""

from __future__ import annotations

import asyncio
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from workstation.ui.lab_job import LabRequest, LabResult, init_worker, run_lab


class LabPool:
    def __init__(self) -> None:
        self._pool: ProcessPoolExecutor | None = None
        self._progress: Any = None  # multiprocessing RawArray('d', 2): done, total

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            # spawn: a forked child of a Qt process with live threads can deadlock
            context = multiprocessing.get_context("spawn")
            self._progress = context.RawArray("d", 2)
            self._pool = ProcessPoolExecutor(
                max_workers=1, mp_context=context, initializer=init_worker, initargs=(self._progress,)
            )
        return self._pool

    def submit(self, loop: asyncio.AbstractEventLoop, request: LabRequest) -> asyncio.Future[LabResult]:
        executor = self._executor()
        self._progress[0], self._progress[1] = 0.0, 0.0
        return loop.run_in_executor(executor, run_lab, request)

    def fraction(self) -> float:
        if self._progress is None or self._progress[1] <= 0:
            return 0.0
        return min(1.0, float(self._progress[0]) / float(self._progress[1]))

    def processes(self) -> list[Any]:
        """The live worker processes (none before the first run or after a kill)."""
        return list((getattr(self._pool, "_processes", None) or {}).values())

    def kill(self) -> None:
        """Terminate the worker (a running job's future fails); the next submit starts a new one."""
        pool, self._pool = self._pool, None
        if pool is not None:
            for process in list((getattr(pool, "_processes", None) or {}).values()):
                process.terminate()
            pool.shutdown(wait=False, cancel_futures=True)
