"""Failed-authentication limiter: after too many failures from one client, refuse it for a while."""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable


class FailureLimiter:
    def __init__(
        self,
        *,
        max_failures: int = 10,
        window_s: float = 60.0,
        block_s: float = 300.0,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        self.block_s = block_s
        self._now = now
        self._failures: dict[str, deque[float]] = defaultdict(deque)
        self._blocked_until: dict[str, float] = {}
        self._lock = threading.Lock()

    def blocked_for(self, client: str) -> float:
        """Seconds this client must still wait (0 when it may try)."""
        with self._lock:
            until = self._blocked_until.get(client, 0.0)
            return max(0.0, until - self._now())

    def record_failure(self, client: str) -> bool:
        """Record a failure; True when this failure tipped the client into a block."""
        now = self._now()
        with self._lock:
            recent = self._failures[client]
            recent.append(now)
            while recent and recent[0] < now - self.window_s:
                recent.popleft()
            if len(recent) >= self.max_failures:
                self._blocked_until[client] = now + self.block_s
                recent.clear()
                return True
            return False

    def record_success(self, client: str) -> None:
        with self._lock:
            self._failures.pop(client, None)
