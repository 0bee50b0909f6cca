"""Bybit V5 adapter (pybit). Only composition roots (ui, api, cli) construct it."""

from workstation.exchanges.bybit.client import BybitExecutionClient, fetch_server_time_ms
from workstation.exchanges.bybit.errors import BybitHttpError, BybitRateLimited
from workstation.exchanges.bybit.parse import ApiKeyInfo

__all__ = ["ApiKeyInfo", "BybitExecutionClient", "BybitHttpError", "BybitRateLimited", "fetch_server_time_ms"]
