"""Stage criteria: what is still missing to leave a stage (shortfalls) and which hard limits are
broken (breaches, which demote). Every line names the number and the bound."""

from __future__ import annotations

from workstation.graduation.models import Performance
from workstation.settings.models import StageCriteria


def _pct(x: float) -> str:
    return f"{x:.2%}"


def shortfalls(
    c: StageCriteria, perf: Performance, *, days: float, band: tuple[float, float], window: int, label: str = ""
) -> list[str]:
    """Everything between `perf` and leaving the stage; empty when every criterion is met."""
    p = f"{label} " if label else ""
    out: list[str] = []
    if days < c.min_days:
        out.append(f"{p}{days:.1f} days in the stage, needs {c.min_days:g}")
    if perf.trades < c.min_trades:
        out.append(f"{p}{perf.trades} trades, needs {c.min_trades}")
    note = sharpe_note(perf, c)
    if c.min_sharpe is not None and note:
        out.append(f"{p}{note}")
    elif c.min_sharpe is not None and (perf.sharpe is None or perf.sharpe < c.min_sharpe):
        shown = "unknown" if perf.sharpe is None else f"{perf.sharpe:.2f}"
        out.append(f"{p}Sharpe {shown}, needs {c.min_sharpe:g}")
    if c.max_drawdown is not None and (perf.max_drawdown is None or perf.max_drawdown > c.max_drawdown):
        shown = "unknown" if perf.max_drawdown is None else _pct(perf.max_drawdown)
        out.append(f"{p}max drawdown {shown}, limit {_pct(c.max_drawdown)}")
    out += _edge(c, perf, p)
    if c.require_mc_band:
        low, high = band
        m = perf.mean_trade_return
        if m is None:
            out.append(f"{p}fewer than {window} trades: cannot compare with the Monte Carlo band yet")
        elif not low <= m <= high:
            out.append(
                f"{p}mean trade return {_pct(m)} over {window} trades outside the MC band {_pct(low)}..{_pct(high)}"
            )
    out += _execution(c, perf, p, missing_counts=True)
    return out


def sharpe_note(perf: Performance, c: StageCriteria) -> str:
    """Why the measured Sharpe does not count (a span shorter than `min_sharpe_days`), or ""."""
    if perf.days is None or perf.days >= c.min_sharpe_days:
        return ""
    return f"Sharpe not counted: {perf.days:g} days < {c.min_sharpe_days:g}"


def _edge(c: StageCriteria, perf: Performance, p: str) -> list[str]:
    """min_win_rate and min_profit_factor: meeting either one is enough."""
    wanted = []
    if c.min_win_rate is not None:
        if perf.win_rate is not None and perf.win_rate >= c.min_win_rate:
            return []
        wanted.append(
            f"win rate {'unknown' if perf.win_rate is None else _pct(perf.win_rate)} (needs {_pct(c.min_win_rate)})"
        )
    if c.min_profit_factor is not None:
        if perf.profit_factor is not None and perf.profit_factor >= c.min_profit_factor:
            return []
        shown = "unknown" if perf.profit_factor is None else f"{perf.profit_factor:.2f}"
        wanted.append(f"profit factor {shown} (needs {c.min_profit_factor:g})")
    return [f"{p}{' and '.join(wanted)}"] if wanted else []


def _execution(c: StageCriteria, perf: Performance, p: str, *, missing_counts: bool) -> list[str]:
    out = []
    if c.max_slippage_bps is not None:
        if perf.slippage_bps is None:
            if missing_counts:
                out.append(f"{p}realised slippage unknown, limit {c.max_slippage_bps:g} bps")
        elif perf.slippage_bps > c.max_slippage_bps:
            out.append(f"{p}realised slippage {perf.slippage_bps:.1f} bps, limit {c.max_slippage_bps:g} bps")
    if c.min_fill_ratio is not None:
        if perf.fill_ratio is None:
            if missing_counts:
                out.append(f"{p}fill ratio unknown, needs {_pct(c.min_fill_ratio)}")
        elif perf.fill_ratio < c.min_fill_ratio:
            out.append(f"{p}fill ratio {_pct(perf.fill_ratio)}, needs {_pct(c.min_fill_ratio)}")
    return out


def breaches(c: StageCriteria, perf: Performance, *, band: tuple[float, float], window: int) -> list[str]:
    """Hard limits broken by what has been measured so far (nothing unknown counts as a breach)."""
    out = []
    if c.max_drawdown is not None and perf.max_drawdown is not None and perf.max_drawdown > c.max_drawdown:
        out.append(f"max drawdown {_pct(perf.max_drawdown)} beyond the limit {_pct(c.max_drawdown)}")
    m = perf.mean_trade_return
    if c.require_mc_band and m is not None and m < band[0]:
        out.append(f"mean trade return {_pct(m)} over {window} trades below the Monte Carlo band low {_pct(band[0])}")
    out += _execution(c, perf, "", missing_counts=False)
    return out
