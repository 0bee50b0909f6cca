"""Moving a paper position's stop-loss / take-profit through the same gate as every order.

`set_trading_stop` is not part of the ExecutionClient port (Bybit has it as a separate position
endpoint), so the GuardedExecutionClient does not carry it; this wrapper applies the gate's
check to it the same way: debug mode, a refused venue or the kill switch deny it with an
OrderDenied event and an OrderDeniedError.
"""

from __future__ import annotations

import logging
from decimal import Decimal

from workstation.core.enums import Category, Venue
from workstation.core.errors import OrderDeniedError
from workstation.core.events import OrderDenied
from workstation.exchanges.simulated.client import PaperExecutionClient
from workstation.safety.gate import GuardedExecutionClient, SafetyGate

log = logging.getLogger(__name__)


class GatedTradingStop:
    def __init__(self, gate: SafetyGate, guarded: GuardedExecutionClient, paper: PaperExecutionClient) -> None:
        self._gate = gate
        self._guarded = guarded
        self._paper = paper

    async def __call__(
        self, symbol: str, category: Category, stop_loss: Decimal | None, take_profit: Decimal | None
    ) -> None:
        refused = None if self._guarded.can_trade else "trading was refused when this client was handed out"
        reason = self._gate.check(Venue.PAPER, "set_trading_stop", refused_at_hand_out=refused, reduces_risk=False)
        if reason is not None:
            log.warning("DENIED set_trading_stop on paper (%s): %s", symbol, reason)
            self._gate.bus.publish(
                OrderDenied(venue=Venue.PAPER.value, action="set_trading_stop", reason=reason, symbol=symbol)
            )
            raise OrderDeniedError("set_trading_stop", reason)
        await self._paper.set_trading_stop(symbol, category, stop_loss, take_profit)
