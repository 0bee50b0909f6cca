"""Response and request bodies of the headless API (they make the published OpenAPI schema)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class Health(_Out):
    status: Literal["ok"]
    version: str
    uptime_s: float
    debug_mode: bool
    venue: str


class SystemStats(_Out):
    cpu_percent: float
    memory_rss_mb: float
    memory_available_mb: float
    loop_lag_ms: float
    loop_lag_max_ms: float
    uptime_s: float


class PositionOut(_Out):
    venue: str
    symbol: str
    side: str | None
    size: str
    entry_price: str
    mark_price: str | None
    unrealized_pnl: str
    realized_pnl: str


class BalanceOut(_Out):
    coin: str
    total: str
    available: str


class VenueBalances(_Out):
    venue: str
    connected: bool
    balances: list[BalanceOut]


class OrderOut(_Out):
    client_order_id: str
    venue: str
    symbol: str
    side: str
    order_type: str
    qty: str
    price: str | None
    status: str
    filled_qty: str
    venue_order_id: str | None
    created_ms: int
    updated_ms: int


class TradeOut(_Out):
    exec_id: str
    client_order_id: str
    symbol: str
    side: str
    qty: str
    price: str
    fee: str
    fee_currency: str
    ts: int


class RiskOut(_Out):
    account: str
    """Whose state this is: "paper account" (the paper venue or a paper replay) or the live venue."""
    state_file: str
    trading_state: Literal["ACTIVE", "REDUCING", "HALTED"]
    reason: str
    halts: list[str]
    kill_switch: str
    paused: bool
    debug_mode: bool
    limits: dict[str, float]
    usage: dict[str, float]
    """How much of each loss budget is used (daily_loss_used, drawdown_used: 0..1+)."""
    equity: str | None
    open_positions: int
    growth: dict[str, object] = Field(default_factory=dict)
    """Balance building (risk.growth): enabled, the rate and its source, equity converted, risk per
    trade and the next milestone, or why it is off or refuses to size; `summary` is one line for people."""


class GraduationOut(_Out):
    available: bool
    candidates: list[dict[str, object]]


class ActionResult(_Out):
    action: str
    ok: bool
    detail: str


class EmergencyStopRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=3, max_length=500, description="Why: kept in the log and the kill switch state.")
    close_positions: bool = False


class WipeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    confirm: Literal["WIPE"] = Field(description='Type "WIPE": a backup is made first.')
