"""Status bar readings: event-loop lag, CPU and memory of this process, last data update."""

from __future__ import annotations

import asyncio
import time
from collections import deque

import numpy as np
import psutil
from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QLabel, QStatusBar

from workstation.ui.fmt import format_ts

LAG_INTERVAL_S = 0.25
LAG_WINDOW = 240  # samples kept for the p99 (one minute at 4 Hz)


class LoopLagMonitor(QObject):
    """Schedules a callback every LAG_INTERVAL_S and records how late it runs. On the asyncio
    (qasync) loop when one is given, so it measures exactly what delays coroutines; otherwise on
    a Qt timer, which is the same thread and the same queue under qasync."""

    updated = Signal(float, float)  # last lag, p99 over the window (milliseconds)

    def __init__(self, loop: asyncio.AbstractEventLoop | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._loop = loop
        self._samples: deque[float] = deque(maxlen=LAG_WINDOW)
        self._due = 0.0
        self._handle: asyncio.TimerHandle | None = None
        self._timer: QTimer | None = None
        self._running = False

    @property
    def samples(self) -> list[float]:
        return list(self._samples)

    def start(self) -> None:
        self._running = True
        self._schedule()

    def stop(self) -> None:
        self._running = False
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        if self._timer is not None:
            self._timer.stop()

    def _schedule(self) -> None:
        self._due = time.perf_counter() + LAG_INTERVAL_S
        if self._loop is not None and not self._loop.is_closed():
            self._handle = self._loop.call_later(LAG_INTERVAL_S, self._fire)
            return
        if self._timer is None:
            self._timer = QTimer(self)
            self._timer.setSingleShot(True)
            self._timer.timeout.connect(self._fire)
        self._timer.start(int(LAG_INTERVAL_S * 1000))

    def _fire(self) -> None:
        if not self._running:
            return
        lag_ms = max(0.0, (time.perf_counter() - self._due) * 1000)
        self._samples.append(lag_ms)
        self.updated.emit(lag_ms, float(np.percentile(self._samples, 99)))
        self._schedule()


class StatusReadings(QObject):
    """Fills labels on a status bar; owns the sampling timers."""

    def __init__(self, bar: QStatusBar, loop: asyncio.AbstractEventLoop | None = None) -> None:
        super().__init__(bar)
        self.venues = QLabel("Venues: none connected (engine not running)")
        self.data = QLabel("Last data: -")
        self.lag = QLabel("Loop lag: -")
        self.cpu = QLabel("CPU: -")
        self.memory = QLabel("Memory: -")
        for label in (self.venues, self.data, self.lag, self.cpu, self.memory):
            bar.addPermanentWidget(label)
        self.connections: dict[str, str] = {}
        self._process = psutil.Process()
        self._process.cpu_percent(None)  # first call primes the counter
        self.lag_monitor = LoopLagMonitor(loop, self)
        self.lag_monitor.updated.connect(self._show_lag)
        self._sampler = QTimer(self)
        self._sampler.setInterval(1000)
        self._sampler.timeout.connect(self.sample_process)

    def start(self) -> None:
        self.lag_monitor.start()
        self._sampler.start()
        self.sample_process()

    def stop(self) -> None:
        self.lag_monitor.stop()
        self._sampler.stop()

    def _show_lag(self, last_ms: float, p99_ms: float) -> None:
        self.lag.setText(f"Loop lag: {last_ms:.1f} ms (p99 {p99_ms:.1f})")

    def sample_process(self) -> None:
        cpu = self._process.cpu_percent(None)
        rss = self._process.memory_info().rss
        cores = psutil.cpu_count() or 1  # cpu_percent counts every core as 100 %
        self.cpu.setText(f"CPU: {cpu / cores:.0f}%")
        self.memory.setText(f"Memory: {rss / 2**20:,.0f} MB")

    def show_connection(self, name: str, state: str) -> None:
        """One entry per venue (or remote engine): 'paper: no venue', 'http://...: connected'."""
        self.connections[name] = state
        shown = ", ".join(f"{n}: {s}" for n, s in sorted(self.connections.items()))
        self.venues.setText(f"Venues: {shown}")
        ok = all(s == "connected" for s in self.connections.values())
        self.venues.setStyleSheet("" if ok else "color: #f0b429;")

    def show_data_update(self, last_bar_ms: int) -> None:
        now = time.strftime("%H:%M:%S UTC", time.gmtime())
        self.data.setText(f"Last data: bar {format_ts(last_bar_ms)} (loaded {now})")
