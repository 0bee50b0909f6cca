"""Evidence for `workstation graduation add --from-backtest`: a backtest, a walk-forward and a Monte
Carlo bootstrap of one strategy + params on stored candles, turned into the graduation Evidence.

Lives in the composition root beside discover_handoff (graduation itself knows nothing of the
backtester): the backtest gives `evidence.backtest`, the walk-forward's stitched out-of-sample run
gives `evidence.walk_forward`, and the Monte Carlo band of the mean trade return over a window of
out-of-sample trades (discovery.evaluate.window_band) is what the performance monitor holds a
running strategy to.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from workstation.backtest.costs import CostModel
from workstation.backtest.montecarlo import monte_carlo, trade_returns
from workstation.backtest.runner import Market, run_backtest
from workstation.backtest.walkforward import walk_forward
from workstation.discovery.evaluate import MC_WINDOW, window_band
from workstation.graduation.models import Evidence, Performance
from workstation.strategies.builtin import build


@dataclass(frozen=True, slots=True)
class BacktestEvidence:
    evidence: Evidence
    params: dict[str, Any]
    summary: dict[str, Any]  # the numbers behind it, for the queue's history and the CLI


def from_backtest(
    market: Market,
    strategy: str,
    params: dict[str, Any],
    cost: CostModel,
    *,
    cash: float,
    train_ms: int,
    test_ms: int,
    mc_iterations: int = 1000,
    seed: int = 0,
) -> BacktestEvidence:
    """Raises ValueError when the data is too short for the walk-forward or has no trades to resample."""
    strat = build(strategy, params)
    params = strat.values()  # typed, with every default: what a runner rebuilds exactly
    bt = run_backtest(strat, market.candles, cost, cash=cash, funding=market.funding)
    wf = walk_forward(
        strategy,
        [dict(params)],
        market.candles,
        train_ms=train_ms,
        test_ms=test_ms,
        cost=cost,
        cash=cash,
        funding=market.funding,
        jobs=1,
    )
    oos_trades = trade_returns(wf.result)
    if len(oos_trades) < 2:
        raise ValueError(
            f"the walk-forward's out-of-sample runs made {len(oos_trades)} trade(s): too few for a Monte Carlo band"
        )
    mc = monte_carlo(wf.result, method="bootstrap", iterations=mc_iterations, seed=seed)
    band, window = window_band(mc.band, oos_trades, MC_WINDOW)
    m = wf.metrics
    walk = Performance.from_backtest_metrics(m, mean_trade_return=sum(band) / 2 if len(oos_trades) >= window else None)
    source = (
        f"backtest {market.venue} {market.symbol} {market.interval} {len(market.candles)} bars; "
        f"walk-forward {len(wf.windows)} window(s); Monte Carlo {mc_iterations} bootstrap paths"
    )
    evidence = Evidence(
        backtest=Performance.from_backtest_metrics(bt.metrics),
        walk_forward=walk,
        mc_band=band,
        mc_window=window,
        source=source,
    )
    summary = {
        "label": strat.label(),
        "bars": len(market.candles),
        "backtest_trades": int(bt.metrics.get("trade_count") or 0),
        "backtest_sharpe": bt.metrics.get("sharpe"),
        "walk_forward_windows": len(wf.windows),
        "walk_forward_trades": int(m.get("trade_count") or 0),
        "walk_forward_return": m.get("total_return"),
        "mc_band": list(band),
        "mc_window": window,
    }
    return BacktestEvidence(evidence, params, summary)
