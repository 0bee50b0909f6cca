"""Scenario 23: choose the asyncio event loop policy deliberately at start-up (Windows + aiodns).

aiohttp (under ccxt.async_support) resolves names with aiodns whenever aiodns is importable, and
aiodns refuses Windows' default Proactor loop ("aiodns needs a SelectorEventLoop on Windows",
ccxt #24346): every ccxt request would fail. On Windows with aiodns importable we therefore pick
the Selector loop policy. Without aiodns the Proactor loop stays (it is the one that supports
subprocesses). Elsewhere nothing changes.

Call `apply_loop_policy()` once, before the first `asyncio.run` / loop creation, in every
composition root that may run ccxt: the CLI entry point (workstation/cli.py, before a command
runs; it covers `headless`, `trade`, `control`), and the desktop app before qasync's loop is built.
It cannot be called from inside a coroutine such as api/server.py's `serve`: the loop exists by
then. A loop chosen elsewhere (qasync's own loop on Windows) is reported by `loop_problem()`.
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

SELECTOR = "selector"
DEFAULT = "default"


@dataclass(frozen=True, slots=True)
class LoopPolicyChoice:
    policy: str  # SELECTOR or DEFAULT
    reason: str


def aiodns_importable() -> bool:
    return importlib.util.find_spec("aiodns") is not None


def choose_loop_policy(platform: str, aiodns_available: bool) -> LoopPolicyChoice:
    """The decision alone (pure): which policy for this platform and installed packages."""
    if not platform.startswith("win"):
        return LoopPolicyChoice(DEFAULT, f"{platform}: the default loop works with aiodns")
    if aiodns_available:
        return LoopPolicyChoice(
            SELECTOR, "Windows with aiodns installed: aiodns needs a SelectorEventLoop (the Proactor loop fails)"
        )
    return LoopPolicyChoice(DEFAULT, "Windows without aiodns: the default Proactor loop is kept")


def apply_loop_policy(
    platform: str | None = None,
    aiodns_available: bool | None = None,
    set_policy: Callable[[Any], None] = asyncio.set_event_loop_policy,
) -> LoopPolicyChoice:
    """Decide and, when the Selector loop is needed, install its policy. Returns the choice."""
    platform = sys.platform if platform is None else platform
    aiodns_available = aiodns_importable() if aiodns_available is None else aiodns_available
    choice = choose_loop_policy(platform, aiodns_available)
    if choice.policy == SELECTOR:
        policy_class = getattr(asyncio, "WindowsSelectorEventLoopPolicy", None)
        if policy_class is None:  # only reachable when a test injects "win32" on another OS
            policy_class = asyncio.DefaultEventLoopPolicy
        set_policy(policy_class())
    log.info("event loop policy: %s (%s)", choice.policy, choice.reason)
    return choice


def loop_problem(
    loop: asyncio.AbstractEventLoop, platform: str | None = None, aiodns_available: bool | None = None
) -> str | None:
    """Why ccxt cannot run on `loop` (None: it can). For loops the policy did not create."""
    platform = sys.platform if platform is None else platform
    aiodns_available = aiodns_importable() if aiodns_available is None else aiodns_available
    if not platform.startswith("win") or not aiodns_available:
        return None
    if isinstance(loop, asyncio.SelectorEventLoop):
        return None
    return (
        f"{type(loop).__name__} on Windows with aiodns installed: ccxt's DNS lookups will fail "
        "(aiodns needs a SelectorEventLoop); call apply_loop_policy() at start-up or uninstall aiodns"
    )
