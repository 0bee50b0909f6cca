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
    """Wrap `exchange.fetch2` (before rate limiting and signing) and `exchange.fetch` (the last
    step before the socket), as instance attributes shadowing the class methods."""
    if getattr(exchange, "_workstation_guard", None) is not None:
        exchange._workstation_guard = refusal
        return
    exchange._workstation_guard = refusal
    original_fetch2 = exchange.fetch2
    original_fetch = exchange.fetch

    def check(verb: str, where: str) -> None:
        verb = verb.upper()
        if verb in READ_ONLY_HTTP_METHODS:
            return
        reason = exchange._workstation_guard()
        if reason is not None:
            action = f"ccxt {exchange.id} {verb} {where}"
            log.warning("DENIED %s: %s", action, reason)
            raise OrderDeniedError(action, reason)

    async def guarded_fetch2(
        path: str, api: Any = "public", method: str = "GET", params: Any = None, config: Any = None
    ) -> Any:
        check(str(method), f"/{str(path).lstrip('/')}")
        return await original_fetch2(path, api, method, {} if params is None else params, config or {})

    async def guarded_fetch(url: str, method: str = "GET", headers: Any = None, body: Any = None) -> Any:
        check(str(method), urlsplit(url).path)
        return await original_fetch(url, method, headers, body)

    exchange.fetch2 = guarded_fetch2
    exchange.fetch = guarded_fetch
