"""Make a ccxt exchange object refuse every mutating HTTP request while trading is not allowed.

The SafetyGate already denies every mutating ExecutionClient call; this is the second wall,
under ccxt itself. Every REST call ccxt makes (unified methods such as create_order, edit_order,
create_orders, cancel_*, set_leverage, transfer, and implicit ones such as
privatePostV5OrderCreate) ends in `exchange.fetch(url, method, headers, body)`. The wrapper
installed here refuses any non-GET request (POST, PUT, DELETE, PATCH) while `refusal()` returns a
reason, raising OrderDeniedError before a socket is touched. It is deliberately broad: on
exchanges whose private reads are POSTs (e.g. Kraken) those reads are refused too while debug
mode is on, which fails safe.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from workstation.core.errors import OrderDeniedError
from workstation.safety.switches import DebugSwitch

log = logging.getLogger(__name__)

Refusal = Callable[[], str | None]
READ_ONLY_HTTP_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
DEBUG_REASON = "debug mode is on (config/debug.yaml): every order is blocked"


def debug_refusal(switch: DebugSwitch) -> Refusal:
    """Refuse while `switch` is on, read live on every request."""
    return lambda: DEBUG_REASON if switch.enabled else None


def never_refuse() -> str | None:
    return None


def install_mutation_guard(exchange: Any, refusal: Refusal) -> None:
    """Wrap `exchange.fetch` (an instance attribute shadowing the class method)."""
    if getattr(exchange, "_workstation_guard", None) is not None:
        exchange._workstation_guard = refusal
        return
    original = exchange.fetch
    exchange._workstation_guard = refusal

    async def guarded_fetch(url: str, method: str = "GET", headers: Any = None, body: Any = None) -> Any:
        verb = str(method).upper()
        if verb not in READ_ONLY_HTTP_METHODS:
            reason = exchange._workstation_guard()
            if reason is not None:
                action = f"ccxt {exchange.id} {verb} {urlsplit(url).path}"
                log.warning("DENIED %s: %s", action, reason)
                raise OrderDeniedError(action, reason)
        return await original(url, method, headers, body)

    exchange.fetch = guarded_fetch
