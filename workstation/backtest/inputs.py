"""Load the extra series a strategy declares (`Strategy.inputs()`) from the candle store and bind them.

The backtest, discovery and the paper replay all call `bind_inputs` with the market they trade, so
one strategy sees the same funding settlements and peer candles on every path. Funding is read in
full (a feature at bar t uses settlements up to t's close only, so later ones change nothing); peer
candles are read at the market's interval and venue over the market's span.
"""

from __future__ import annotations

from workstation.data.arrays import CandleArrays
from workstation.data.store import CandleStore
from workstation.strategies.base import FUNDING, PEER, Strategy, StrategyInputs


class MissingInputError(LookupError):
    """A series a strategy declared is not in the candle store."""


def load_inputs(
    store: CandleStore, strategy: Strategy, venue: str, symbol: str, interval: str, candles: CandleArrays
) -> StrategyInputs:
    """The declared series for `strategy` trading `symbol` on `venue` at `interval` over `candles`.

    Raises MissingInputError naming the series (and the strategy) when one is not stored."""
    funding = None
    peers: dict[str, CandleArrays] = {}
    for spec in strategy.inputs():
        if spec.kind == FUNDING:
            rates = store.read_funding(venue, symbol)
            if not len(rates.ts):
                raise MissingInputError(
                    f"{strategy.label()} needs the funding history of {venue} {symbol}: none is stored "
                    "(download it with the candles, or use a feature level without funding)"
                )
            funding = (rates.ts, rates.rate)
        elif spec.kind == PEER:
            stored = any(
                s.symbol == spec.symbol and s.interval == interval and s.venue == venue and s.kind == "trade"
                for s in store.series()
            )
            peer = store.read(venue, spec.symbol, interval, None, int(candles.ts[-1]) + 1) if stored else None
            if peer is None or not len(peer):
                raise MissingInputError(
                    f"{strategy.label()} needs {venue} {spec.symbol} {interval} candles as its peer: none are stored"
                )
            peers[spec.symbol] = peer
        else:
            raise ValueError(f"{strategy.name} declares an unknown input kind {spec.kind!r}")
    return StrategyInputs(funding, peers)


def bind_inputs(
    store: CandleStore, strategy: Strategy, venue: str, symbol: str, interval: str, candles: CandleArrays
) -> Strategy:
    """`strategy` bound to its declared inputs (itself when it declares none)."""
    if not strategy.inputs():
        return strategy
    return strategy.bind(load_inputs(store, strategy, venue, symbol, interval, candles))
