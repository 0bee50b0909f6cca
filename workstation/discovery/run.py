"""Discovery end to end: load markets from the candle store, search, rank."""

from __future__ import annotations

import time
from collections.abc import Sequence

from workstation.backtest.runner import load_market
from workstation.data.store import CandleStore
from workstation.discovery.evaluate import DiscoveryResult, Gates, rank_trials
from workstation.discovery.regimes import describe, summary
from workstation.discovery.search import MarketInput, Progress, SearchConfig, search

PEER = "BTCUSDT"  # altcoins get BTC's returns as features


def load_inputs(
    store: CandleStore,
    symbols: Sequence[str],
    interval: str,
    *,
    venue: str | None = None,
    start: int | None = None,
    end: int | None = None,
) -> list[MarketInput]:
    out = []
    peer = None
    for sym in symbols:
        m = load_market(store, sym, interval, venue=venue, start=start, end=end)
        rates = store.read_funding(m.venue, sym, start, end)
        peers = {}
        if sym != PEER:
            if peer is None:
                try:
                    peer = load_market(store, PEER, interval, venue=m.venue, start=start, end=end).candles
                except LookupError:
                    peer = False
            if peer is not False and peer is not None:
                peers["btc"] = peer
        out.append(
            MarketInput(sym, interval, m.candles, m.funding, (rates.ts, rates.rate) if len(rates.ts) else None, peers)
        )
    return out


def discover(
    markets: Sequence[MarketInput],
    cfg: SearchConfig,
    *,
    gates: Gates | None = None,
    progress: Progress | None = None,
) -> DiscoveryResult:
    started = time.perf_counter()
    short = [m.symbol for m in markets if len(m.candles) <= cfg.min_train + 2 * cfg.step]
    if short:
        raise ValueError(
            f"{', '.join(short)}: need more than min_train + 2 folds = {cfg.min_train + 2 * cfg.step} bars;"
            " lower --min-train/--fold-bars or widen the range"
        )
    trials = search(markets, cfg, progress)
    regimes = {m.symbol: describe(m.candles, window=cfg.regime_window, seed=cfg.seed) for m in markets}
    result = rank_trials(trials, markets, cfg, gates=gates, regimes=regimes)
    from workstation.backtest.metrics import periods_per_year

    result.regime_summary = {
        m.symbol: summary(regimes[m.symbol], m.candles.close, periods_per_year(m.candles.ts)) for m in markets
    }
    result.elapsed_s = time.perf_counter() - started
    return result
