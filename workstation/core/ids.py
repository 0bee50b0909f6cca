"""Identifiers. Client order ids double as Bybit's orderLinkId (at most 36 characters)."""

from __future__ import annotations

import secrets
import time

MAX_CLIENT_ORDER_ID = 36


def new_client_order_id(prefix: str = "oa") -> str:
    """A unique, sortable client order id: prefix, ms timestamp (base36), 64 random bits."""
    if not prefix.isalnum() or len(prefix) > 8:
        raise ValueError(f"client order id prefix must be 1-8 alphanumerics, got {prefix!r}")
    stamp = _base36(time.time_ns() // 1_000_000)
    coid = f"{prefix}-{stamp}-{secrets.token_hex(8)}"
    assert len(coid) <= MAX_CLIENT_ORDER_ID
    return coid


def _base36(value: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = []
    while value:
        value, rem = divmod(value, 36)
        out.append(digits[rem])
    return "".join(reversed(out)) or "0"
