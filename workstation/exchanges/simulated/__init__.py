"""The paper venue: an in-process account filled candle by candle with the backtest's rules."""

from workstation.exchanges.simulated.account import PaperAccount
from workstation.exchanges.simulated.book import PaperFill, PaperOrder
from workstation.exchanges.simulated.client import PaperExecutionClient

__all__ = ["PaperAccount", "PaperExecutionClient", "PaperFill", "PaperOrder"]
