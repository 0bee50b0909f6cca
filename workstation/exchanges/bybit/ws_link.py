"""What Bybit's V5 WebSockets (private and public) share: the connection timings, the reconnect
back-off, a request answered by an op reply, and the receive loop with the application ping.

- Bybit closes a socket that sends nothing for a while, and a half-open socket (the peer gone,
  no FIN) looks alive forever: so an application ping ({"op": "ping"}) goes out every
  `ping_interval_s` (Bybit: 20 s) and no pong within `pong_timeout_s` ends the connection.
- The private stream answers {"op": "pong"}; the public one {"op": "ping", "ret_msg": "pong"}.
- Reconnects back off exponentially with jitter, so many clients do not reconnect in step.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

Monotonic = Callable[[], float]
Dispatch = Callable[[dict[str, Any]], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class LinkConfig:
    ping_interval_s: float = 20.0
    pong_timeout_s: float = 10.0
    connect_timeout_s: float = 10.0
    reply_timeout_s: float = 10.0  # auth and subscribe answers
    backoff_initial_s: float = 1.0
    backoff_max_s: float = 30.0


class StreamDown(Exception):
    """This connection is over (no pong, closed, refused, a handler failed); reconnect."""


def open_link(url: str, config: LinkConfig) -> Any:
    """The websocket connection as an async context manager (our own pings, not the library's)."""
    return connect(url, ping_interval=None, open_timeout=config.connect_timeout_s, close_timeout=1, max_queue=1024)


def backoff_s(config: LinkConfig, failures: int) -> float:
    base = min(config.backoff_max_s, config.backoff_initial_s * 2**failures)
    return float(base * random.uniform(0.8, 1.0))


def is_pong(message: dict[str, Any]) -> bool:
    op = message.get("op")
    return op == "pong" or (op == "ping" and message.get("ret_msg") == "pong")


async def stop_task(task: asyncio.Task[None]) -> None:
    """Cancel a stream's task and wait for it to end. Python 3.11's wait_for (the pump's recv) can
    swallow a cancellation that lands as a message arrives, and the loop reads on: so cancel again
    until the task has ended."""
    while not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=0.5)
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def request(
    ws: ClientConnection, message: dict[str, Any], op: str, config: LinkConfig, monotonic: Monotonic
) -> dict[str, Any]:
    """Send `message` and return the first reply of the same op (data may arrive before it; the
    caller's resync covers what is skipped). No reply within reply_timeout_s: StreamDown."""
    await asyncio.wait_for(ws.send(json.dumps(message)), config.reply_timeout_s)
    deadline = monotonic() + config.reply_timeout_s
    while True:
        remaining = deadline - monotonic()
        if remaining <= 0:
            raise StreamDown(f"no answer to {op} within {config.reply_timeout_s} s")
        reply: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), remaining))
        if reply.get("op") == op:
            return reply


async def pump(ws: ClientConnection, config: LinkConfig, monotonic: Monotonic, dispatch: Dispatch) -> None:
    """Receive until the connection fails, pinging on schedule; every message that is not a pong
    goes to `dispatch`. Raises StreamDown when a pong is overdue (the socket is half-open)."""
    now = monotonic
    next_ping = now() + config.ping_interval_s
    pong_due: float | None = None
    while True:
        deadline = next_ping if pong_due is None else min(next_ping, pong_due)
        try:
            raw = await asyncio.wait_for(ws.recv(), max(0.0, deadline - now()))
        except TimeoutError:
            if pong_due is not None and now() >= pong_due:
                raise StreamDown(f"no pong within {config.pong_timeout_s} s: the socket is half-open") from None
            if now() >= next_ping:
                ping = json.dumps({"op": "ping", "req_id": str(time.time_ns() // 1_000_000)})
                await asyncio.wait_for(ws.send(ping), config.pong_timeout_s)
                if pong_due is None:
                    pong_due = now() + config.pong_timeout_s
                next_ping = now() + config.ping_interval_s
            continue
        message = json.loads(raw)
        if is_pong(message):
            pong_due = None
            continue
        await dispatch(message)
