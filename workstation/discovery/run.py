"""Discovery end to end: load markets from the candle store, search, rank."""

from __future__ import annotations

import time
from collections.abc import Sequence

from workstation.backtest.inputs import load_inputs as strategy_inputs
from workstation.backtest.runner import load_market
from workstation.data.store import CandleStore
from workstation.discovery.evaluate import DiscoveryResult, Gates, rank_trials
from workstation.discovery.regimes import describe, summary
from workstation.discovery.search import ML, MarketInput, Progress, SearchConfig, ml_strategy, search


def load_inputs(
    store: CandleStore,
    symbols: Sequence[str],
    interval: str,
    *,
    venue: str | None = None,
    start: int | None = None,
    end: int | None = None,
    cfg: SearchConfig | None = None,
) -> list[MarketInput]:
    """The markets to search, each with the extra series its ML candidates declare under `cfg`
    (funding with features=2, a peer's candles with `peer`), loaded by backtest.inputs.load_inputs
    exactly as `workstation backtest` and the paper replay bind them. A series that is not stored
    raises backtest.inputs.MissingInputError naming it."""
    out = []
    for sym in symbols:
        m = load_market(store, sym, interval, venue=venue, start=start, end=end)
        funding_events, peers = None, {}
        if cfg is not None and ML in cfg.families:
            # the inputs depend on the features level and peer only, not on the model or horizon
            probe = ml_strategy(cfg.models[0] if cfg.models else "logreg", max(cfg.horizons, default=1), cfg, sym)
            if probe.inputs():
                got = strategy_inputs(store, probe, m.venue, sym, interval, m.candles)
                funding_events, peers = got.funding, dict(got.peers)
        out.append(MarketInput(sym, interval, m.candles, m.funding, funding_events, peers))
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
