"""A funding settlement the venue booked on the account's position (Bybit: an execution with
execType "Funding"). Not a fill: it changes the balance, never the position.

Sign: `amount` is what the account PAID, as Bybit reports it in execFee: positive when it paid
(a long under a positive rate, a short under a negative one), negative when it received. This is
the sign of the backtest's funding (backtest.costs.funding_payment, Trade.funding) and of the paper
account's funding_paid, so a P&L after funding is `gross - fees - amount`.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from workstation.core.enums import Side


@dataclass(frozen=True, slots=True)
class FundingPayment:
    exec_id: str  # the venue's execution id: the key that makes recording it twice a no-op
    symbol: str
    ts: int  # settlement time, ms
    amount: Decimal  # paid (+) / received (-), in `currency`
    currency: str
    rate: Decimal | None  # the funding rate applied, when the venue says
    position_qty: Decimal  # signed: + long, - short (the position it was settled on)
    price: Decimal | None  # the mark price the position was valued at, when given

    @property
    def side(self) -> Side | None:
        if self.position_qty > 0:
            return Side.BUY
        return Side.SELL if self.position_qty < 0 else None
