"""Backtest versus live, trade by trade: the round trips a backtest expected against the ones a
venue (paper, testnet, live) actually made over the same candles.

Trades are paired by entry candle and side (a live fill, made a moment after its candle opened, is
paired by the candle it fell in); a trade only one side made is listed as such (a stop
the risk engine attached, a denial, a fill the backtest did not see). Slippage is in basis points
against the expected price, positive when it cost money.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Trade:
    entry_ts: int
    exit_ts: int | None  # None: still open
    side: int  # +1 long, -1 short
    qty: float
    entry_price: float
    exit_price: float | None
    fees: float
    funding: float | None  # paid (+) / received (-); None: not recorded
    pnl: float | None  # after fees and funding (None while open)
    exit_reason: str


@dataclass(frozen=True, slots=True)
class TradeRow:
    expected: Trade | None
    actual: Trade | None

    @property
    def status(self) -> str:
        if self.expected is None:
            return "only live"
        return "only backtest" if self.actual is None else "matched"

    def entry_slippage_bps(self) -> float | None:
        e, a = self.expected, self.actual
        if e is None or a is None or e.entry_price <= 0:
            return None
        return e.side * (a.entry_price - e.entry_price) / e.entry_price * 1e4

    def exit_slippage_bps(self) -> float | None:
        e, a = self.expected, self.actual
        if e is None or a is None or e.exit_price is None or a.exit_price is None or e.exit_price <= 0:
            return None
        return -e.side * (a.exit_price - e.exit_price) / e.exit_price * 1e4

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "expected": None if self.expected is None else asdict(self.expected),
            "actual": None if self.actual is None else asdict(self.actual),
            "entry_slippage_bps": self.entry_slippage_bps(),
            "exit_slippage_bps": self.exit_slippage_bps(),
            "expected_fee_bps": fee_bps(self.expected),
            "actual_fee_bps": fee_bps(self.actual),
        }


def fee_bps(t: Trade | None) -> float | None:
    """A trade's fees in basis points of the notional it traded (entry and exit), so a backtest's
    and a venue's fees compare whatever their sizes."""
    if t is None:
        return None
    notional = t.qty * t.entry_price + (t.qty * t.exit_price if t.exit_price is not None else 0.0)
    return t.fees / notional * 1e4 if notional > 0 else None


def pair(expected: Sequence[Trade], actual: Sequence[Trade], bar_ms: int = 1) -> list[TradeRow]:
    """Pair by (entry candle, side), in time order; what is left on either side stands alone. An
    actual entry counts for the candle of `bar_ms` it fell in (1: its exact time)."""
    waiting: dict[tuple[int, int], list[Trade]] = {}
    for t in sorted(actual, key=lambda t: t.entry_ts):
        waiting.setdefault((t.entry_ts - t.entry_ts % bar_ms, t.side), []).append(t)
    rows = []
    for e in expected:
        same = waiting.get((e.entry_ts - e.entry_ts % bar_ms, e.side))
        rows.append(TradeRow(e, same.pop(0) if same else None))
    rows += [TradeRow(None, a) for left in waiting.values() for a in left]
    rows.sort(key=lambda r: (r.expected or r.actual).entry_ts)  # type: ignore[union-attr]
    return rows


def _sum(xs: Iterable[float | None]) -> float:
    return float(sum(x for x in xs if x is not None))


def _mean(xs: Iterable[float | None]) -> float | None:
    vals = [x for x in xs if x is not None]
    return sum(vals) / len(vals) if vals else None


def _funding(trades: Sequence[Trade]) -> float | None:
    """Their funding, None when none of them has it recorded."""
    known = [t.funding for t in trades if t.funding is not None]
    return _sum(known) if known or not trades else None


def totals(rows: Sequence[TradeRow], *, actual_funding: float | None = None) -> dict[str, Any]:
    """Counts, fees, funding, P&L and mean slippage of both sides. `actual_funding`: the venue's own
    total when it is not kept per trade."""
    exp = [r.expected for r in rows if r.expected is not None]
    act = [r.actual for r in rows if r.actual is not None]
    return {
        "expected_trades": len(exp),
        "actual_trades": len(act),
        "matched": sum(r.status == "matched" for r in rows),
        "only_backtest": sum(r.status == "only backtest" for r in rows),
        "only_live": sum(r.status == "only live" for r in rows),
        "expected_fees": _sum(t.fees for t in exp),
        "actual_fees": _sum(t.fees for t in act),
        "expected_funding": _sum(t.funding for t in exp),
        "actual_funding": _funding(act) if actual_funding is None else actual_funding,
        "expected_pnl": _sum(t.pnl for t in exp),
        "actual_pnl": _sum(t.pnl for t in act),
        "mean_entry_slippage_bps": _mean(r.entry_slippage_bps() for r in rows),
        "mean_exit_slippage_bps": _mean(r.exit_slippage_bps() for r in rows),
    }


def round_trips(fills: Iterable[tuple[int, float, float, float, float, str]]) -> list[Trade]:
    """Round trips from a venue's fills in time order: (ts, side +1/-1, qty, price, fee, reason).
    A trade opens when the position leaves zero and closes when it returns to zero (a fill that
    flips the position closes one and opens the next)."""
    trades: list[Trade] = []
    pos = 0.0
    cur: dict[str, Any] | None = None
    for ts, side, qty, price, fee, reason in fills:
        remaining = qty
        while remaining > 1e-12:
            if cur is None:
                cur = {"ts": ts, "side": int(side), "qty": 0.0, "cost": 0.0, "out": 0.0, "out_value": 0.0, "fees": 0.0}
            if int(side) == cur["side"]:  # opening or adding
                cur["qty"] += remaining
                cur["cost"] += remaining * price
                cur["fees"] += fee * remaining / qty
                pos += side * remaining
                remaining = 0.0
                continue
            close = min(remaining, abs(pos))
            cur["out"] += close
            cur["out_value"] += close * price
            cur["fees"] += fee * close / qty
            pos += side * close
            remaining -= close
            if abs(pos) <= 1e-12:
                pos = 0.0
                entry = cur["cost"] / cur["qty"]
                exit_ = cur["out_value"] / cur["out"]
                pnl = cur["side"] * cur["out"] * (exit_ - entry) - cur["fees"]
                trades.append(
                    Trade(cur["ts"], ts, cur["side"], cur["qty"], entry, exit_, cur["fees"], 0.0, pnl, reason)
                )
                cur = None
    if cur is not None:
        entry = cur["cost"] / cur["qty"]
        trades.append(Trade(cur["ts"], None, cur["side"], cur["qty"], entry, None, cur["fees"], 0.0, None, "open"))
    return trades
