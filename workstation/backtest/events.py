"""The same simulation one bar at a time, in plain Python: the matching loop a paper venue runs.

It calls the rule functions of `fills` and `costs` (their pure-Python originals by default) and
must produce the same trades and equity as `simulator.simulate_kernel`; a parity test holds the
two together. Bar i is processed with the signal row of bar i-1, exactly as in the kernel.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from types import SimpleNamespace

import numpy as np

from workstation.backtest import costs as C
from workstation.backtest import fills as F
from workstation.backtest.costs import CostModel
from workstation.core.types import Candle


def _rules(pure: bool) -> SimpleNamespace:
    names = {
        "fee": C.fee,
        "slippage_fraction": C.slippage_fraction,
        "slipped": C.slipped,
        "funding_payment": C.funding_payment,
        "limit_fill_price": F.limit_fill_price,
        "stop_fill_price": F.stop_fill_price,
        "liquidation_price": F.liquidation_price,
        "bankruptcy_price": F.bankruptcy_price,
        "exit_scan": F.exit_scan,
        "order_qty": F.order_qty,
        "sized_qty": F.sized_qty,
    }
    return SimpleNamespace(**{k: (v.py_func if pure else v) for k, v in names.items()})


@dataclass(frozen=True, slots=True)
class SignalRow:
    target: float
    order_kind: int = 0
    entry_price: float = math.nan
    stop_loss: float = math.nan
    take_profit: float = math.nan


@dataclass(frozen=True, slots=True)
class Fill:
    ts: int
    side: float  # +1 buy, -1 sell
    qty: float
    price: float
    fee: float
    reason: int  # fills.EXIT_* for exits, EXIT_NONE for entries and increases


@dataclass
class TradeRecord:
    entry_ts: int
    side: float
    qty: float
    entry_price: float
    exit_ts: int = -1
    exit_price: float = 0.0
    exit_qty: float = 0.0
    pnl: float = 0.0
    fees: float = 0.0
    funding: float = 0.0
    reason: int = F.EXIT_NONE


@dataclass
class EventSimulator:
    cost: CostModel = field(default_factory=CostModel)
    cash: float = 10_000.0
    pure: bool = True
    qty: float = 0.0
    avg: float = 0.0
    acted: float = 0.0
    sl: float = math.nan
    tp: float = math.nan
    fees_paid: float = 0.0
    funding_paid: float = 0.0
    trades: list[TradeRecord] = field(default_factory=list)
    fills: list[Fill] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.r = _rules(self.pure)
        self._prev: Candle | None = None

    @property
    def _trade(self) -> TradeRecord:
        return self.trades[-1]

    def equity(self, price: float) -> float:
        return self.cash + self.qty * (price - self.avg)

    def _slip(self, prev: Candle, qty: float) -> float:
        cm = self.cost
        return self.r.slippage_fraction(
            cm.slippage_bps * 1e-4,
            cm.volatility_impact,
            cm.volume_impact,
            prev.high,
            prev.low,
            prev.close,
            qty,
            prev.volume,
        )

    def _exit(self, bar: Candle, qty: float, px: float, fee: float, reason: int) -> None:
        """Book an exit of unsigned `qty` from the open position."""
        side = 1.0 if self.qty > 0 else -1.0
        gain = side * qty * (px - self.avg) - fee
        self.cash += gain
        self.fees_paid += fee
        t = self._trade
        t.exit_price = (t.exit_price * t.exit_qty + qty * px) / (t.exit_qty + qty)
        t.exit_qty += qty
        t.exit_ts = bar.ts
        t.fees += fee
        t.pnl += gain
        if reason != F.EXIT_NONE:
            t.reason = reason
        self.qty -= side * qty
        self.fills.append(Fill(bar.ts, -side, qty, px, fee, reason))

    def on_bar(self, bar: Candle, signal: SignalRow, funding_rate: float = 0.0) -> None:
        """Process `bar` given the signal computed at the previous bar's close."""
        prev, self._prev = self._prev, bar
        if prev is None:
            return
        cm, r = self.cost, self.r
        want = signal.target
        if self.qty != 0.0:
            if not math.isnan(signal.stop_loss):
                self.sl = signal.stop_loss
            if not math.isnan(signal.take_profit):
                self.tp = signal.take_profit
        if funding_rate != 0.0 and self.qty != 0.0:
            pay = r.funding_payment(self.qty, bar.open, funding_rate)
            self.cash -= pay
            self.funding_paid += pay
            self._trade.funding += pay
            self._trade.pnl -= pay
        path_open, allow_tp = bar.open, True
        if want != self.acted:
            side = 1.0 if want > 0 else -1.0
            if self.qty != 0.0 and (want == 0.0 or (self.qty > 0) != (want > 0)):
                ps = 1.0 if self.qty > 0 else -1.0
                px = r.slipped(bar.open, -ps, self._slip(prev, self.qty))
                self._exit(bar, abs(self.qty), px, r.fee(self.qty * px, cm.taker_fee), F.EXIT_SIGNAL)
                self.qty = 0.0
            if want == 0.0:
                self.acted = want
            elif self.qty != 0.0:
                self._resize(bar, prev, want)
                self.acted = want
            else:
                path_open, allow_tp = self._enter(bar, prev, signal, side)
        if self.qty != 0.0:
            self._protect(bar, prev, path_open, allow_tp)

    def _resize(self, bar: Candle, prev: Candle, want: float) -> None:
        cm, r = self.cost, self.r
        ps = 1.0 if self.qty > 0 else -1.0
        new = r.sized_qty(
            int(cm.sizer),
            cm.size,
            self.equity(bar.open),
            bar.open,
            want,
            cm.taker_fee,
            cm.leverage,
            cm.qty_step,
            self.sl,
        )
        d = new - abs(self.qty)
        if d == 0.0:
            return
        px = r.slipped(bar.open, ps if d > 0 else -ps, self._slip(prev, d))
        f = r.fee(d * px, cm.taker_fee)
        if d > 0:
            self.avg = (abs(self.qty) * self.avg + d * px) / (abs(self.qty) + d)
            self.qty += ps * d
            self.cash -= f
            self.fees_paid += f
            t = self._trade
            t.fees += f
            t.pnl -= f
            t.qty = max(t.qty, abs(self.qty))
            t.entry_price = self.avg
            self.fills.append(Fill(bar.ts, ps, d, px, f, F.EXIT_NONE))
        else:
            self._exit(bar, -d, px, f, F.EXIT_NONE)

    def _enter(self, bar: Candle, prev: Candle, sig: SignalRow, side: float) -> tuple[float, bool]:
        cm, r = self.cost, self.r
        fee_rate, px = cm.taker_fee, bar.open
        if sig.order_kind == 1:
            px = r.limit_fill_price(side, sig.entry_price, bar.open, bar.high, bar.low)
            fee_rate = cm.maker_fee
        elif sig.order_kind == 2:
            px = r.stop_fill_price(side, sig.entry_price, bar.open, bar.high, bar.low)
        if math.isnan(px):
            return bar.open, True
        sizing = (int(cm.sizer), cm.size, self.cash)
        q0 = r.sized_qty(*sizing, px, sig.target, fee_rate, cm.leverage, cm.qty_step, sig.stop_loss)
        if sig.order_kind != 1:
            px = r.slipped(px, side, self._slip(prev, q0))
        q = r.sized_qty(*sizing, px, sig.target, fee_rate, cm.leverage, cm.qty_step, sig.stop_loss)
        self.acted = sig.target
        if q <= 0.0:
            return bar.open, True
        f = r.fee(q * px, fee_rate)
        self.cash -= f
        self.fees_paid += f
        self.qty, self.avg = side * q, px
        self.trades.append(TradeRecord(bar.ts, side, q, px, fees=f, pnl=-f))
        self.fills.append(Fill(bar.ts, side, q, px, f, F.EXIT_NONE))
        self.sl, self.tp = sig.stop_loss, sig.take_profit
        return (px, False) if px != bar.open else (bar.open, True)

    def _protect(self, bar: Candle, prev: Candle, path_open: float, allow_tp: bool) -> None:
        cm, r = self.cost, self.r
        ps = 1.0 if self.qty > 0 else -1.0
        liq = r.liquidation_price(ps, self.avg, cm.leverage, cm.maintenance_margin)
        px, why = r.exit_scan(ps, self.sl, self.tp, liq, path_open, bar.high, bar.low, allow_tp)
        if why == F.EXIT_NONE:
            return
        f = 0.0
        if why == F.EXIT_LIQUIDATION:
            px = r.bankruptcy_price(ps, self.avg, cm.leverage)
        elif why == F.EXIT_STOP_LOSS:
            px = r.slipped(px, -ps, self._slip(prev, self.qty))
            f = r.fee(self.qty * px, cm.taker_fee)
        else:
            f = r.fee(self.qty * px, cm.maker_fee)
        self._exit(bar, abs(self.qty), px, f, why)
        self.qty = 0.0

    def finish(self, last: Candle) -> None:
        """Mark a still-open trade to the last close (no exit fee), as the kernel does."""
        if self.qty != 0.0:
            side = 1.0 if self.qty > 0 else -1.0
            t = self._trade
            q = abs(self.qty)
            t.exit_price = (t.exit_price * t.exit_qty + q * last.close) / (t.exit_qty + q)
            t.exit_qty += q
            t.exit_ts = last.ts
            t.pnl += side * q * (last.close - self.avg)
            t.reason = F.EXIT_END


def replay(
    candles: list[Candle], rows: list[SignalRow], funding: np.ndarray | None = None, **kwargs: object
) -> tuple[EventSimulator, list[float]]:
    """Feed candles one by one (bar i with signal row i-1); returns the venue and its equity curve."""
    sim = EventSimulator(**kwargs)  # type: ignore[arg-type]
    curve = []
    for i, bar in enumerate(candles):
        sim.on_bar(bar, rows[i - 1] if i else rows[0], float(funding[i]) if funding is not None else 0.0)
        curve.append(sim.equity(bar.close))
    if candles:
        sim.finish(candles[-1])
    return sim, curve
