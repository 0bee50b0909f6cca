"""The batch simulator: a numba kernel that runs signals through the fill and cost rules.

Timing: the signal row of bar t (computed at t's close) acts at bar t+1: market orders fill at
t+1's open, limit/stop entries rest through bar t+1, protective exits are checked inside t+1.
Funding settling at a bar's open is charged on the position carried into it. After a protective
exit (stop-loss, take-profit, liquidation) the strategy stays flat until its target changes.
`events.EventSimulator` applies the same rules one bar at a time (the paper venue's path).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from workstation.backtest import costs as C
from workstation.backtest import fills as F
from workstation.backtest.costs import CostModel
from workstation.data.arrays import CandleArrays
from workstation.strategies.base import Signals

# trade record columns (float64 matrix, one row per trade)
(T_ENTRY_I, T_EXIT_I, T_SIDE, T_QTY, T_ENTRY_PX, T_EXIT_PX, T_PNL, T_FEES, T_FUNDING, T_REASON, T_COLS) = range(11)


@njit(cache=True)
def _close(tr, k, i, qty, exit_px, exit_val, fees, pnl):  # pragma: no cover - numba
    """Book an exit of `qty` (unsigned) at `exit_px` into trade row k (VWAP of exits)."""
    prev = tr[k, T_EXIT_PX] * exit_val
    exit_val += qty
    tr[k, T_EXIT_PX] = (prev + qty * exit_px) / exit_val
    tr[k, T_FEES] += fees
    tr[k, T_PNL] += pnl
    tr[k, T_EXIT_I] = i
    return exit_val


@njit(cache=True, nogil=True)
def simulate_kernel(o, h, lo, c, v, funding, target, kind, entry_px, sl_sig, tp_sig, cfg):  # pragma: no cover
    n = len(o)
    equity = np.empty(n)
    position = np.empty(n)
    tr, fees, funding_paid = run_into(
        o, h, lo, c, v, funding, target, kind, entry_px, sl_sig, tp_sig, cfg, equity, position
    )
    return equity, position, tr, fees, funding_paid


@njit(cache=True, nogil=True)
def run_into(
    o, h, lo, c, v, funding, target, kind, entry_px, sl_sig, tp_sig, cfg, equity, position
):  # pragma: no cover
    """The kernel proper: fills the caller's equity/position buffers (n rows each), returns trades and totals."""
    n = len(o)
    taker, maker = cfg[C.CFG_TAKER], cfg[C.CFG_MAKER]
    lev, mmr, step = cfg[C.CFG_LEVERAGE], cfg[C.CFG_MMR], cfg[C.CFG_STEP]
    sizer, size = int(cfg[C.CFG_SIZER]), cfg[C.CFG_SIZE]
    position[0] = 0.0
    changes = 0
    for i in range(1, n):
        if target[i] != target[i - 1]:
            changes += 1
    tr = np.zeros((2 * changes + 4, T_COLS))
    k = -1  # current trade row
    cash = cfg[C.CFG_CASH]
    qty = 0.0  # signed
    avg = 0.0  # average entry price
    acted = 0.0
    sl = np.nan
    tp = np.nan
    exit_val = 0.0
    fees_total = 0.0
    funding_total = 0.0
    equity[0] = cash
    for i in range(1, n):
        s = i - 1
        want = target[s]
        if qty != 0.0:
            if sl_sig[s] == sl_sig[s]:
                sl = sl_sig[s]
            if tp_sig[s] == tp_sig[s]:
                tp = tp_sig[s]
        # 1. funding on the position carried into this bar
        if funding[i] != 0.0 and qty != 0.0:
            pay = C.funding_payment(qty, o[i], funding[i])
            cash -= pay
            funding_total += pay
            tr[k, T_FUNDING] += pay
            tr[k, T_PNL] -= pay
        path_open = o[i]
        allow_tp = True
        # 2. orders from the signal
        if want != acted:
            side = 1.0 if want > 0 else -1.0
            # close or reduce at market
            if qty != 0.0 and (want == 0.0 or (qty > 0) != (want > 0)):
                ps = 1.0 if qty > 0 else -1.0
                frac = C.slippage_fraction(
                    cfg[C.CFG_SLIP], cfg[C.CFG_VOL_K], cfg[C.CFG_VOLUME_K], h[s], lo[s], c[s], qty, v[s]
                )
                px = C.slipped(o[i], -ps, frac)
                f = C.fee(qty * px, taker)
                cash += qty * (px - avg) - f
                fees_total += f
                exit_val = _close(tr, k, i, abs(qty), px, exit_val, f, qty * (px - avg) - f)
                tr[k, T_REASON] = F.EXIT_SIGNAL
                qty = 0.0
            if want == 0.0:
                acted = want
            elif qty != 0.0:
                # same side, new size: rebalance at market
                ps = 1.0 if qty > 0 else -1.0
                eq = cash + qty * (o[i] - avg)
                new = F.sized_qty(sizer, size, eq, o[i], want, taker, lev, step, sl)
                d = new - abs(qty)
                if d != 0.0:
                    dside = ps if d > 0 else -ps
                    frac = C.slippage_fraction(
                        cfg[C.CFG_SLIP], cfg[C.CFG_VOL_K], cfg[C.CFG_VOLUME_K], h[s], lo[s], c[s], d, v[s]
                    )
                    px = C.slipped(o[i], dside, frac)
                    f = C.fee(d * px, taker)
                    fees_total += f
                    if d > 0:
                        avg = (abs(qty) * avg + d * px) / (abs(qty) + d)
                        qty += ps * d
                        cash -= f
                        tr[k, T_FEES] += f
                        tr[k, T_PNL] -= f
                        tr[k, T_QTY] = max(tr[k, T_QTY], abs(qty))
                        tr[k, T_ENTRY_PX] = avg
                    else:
                        gain = ps * (-d) * (px - avg) - f
                        cash += gain
                        qty += ps * d
                        exit_val = _close(tr, k, i, -d, px, exit_val, f, gain)
                acted = want
            else:
                # new position from flat
                ok = kind[s] == 0
                fee_rate = taker
                px = o[i]
                if kind[s] == 1:
                    px = F.limit_fill_price(side, entry_px[s], o[i], h[i], lo[i])
                    fee_rate = maker
                    ok = px == px
                elif kind[s] == 2:
                    px = F.stop_fill_price(side, entry_px[s], o[i], h[i], lo[i])
                    ok = px == px
                if ok:
                    eq = cash
                    q0 = F.sized_qty(sizer, size, eq, px, want, fee_rate, lev, step, sl_sig[s])
                    if kind[s] != 1:
                        frac = C.slippage_fraction(
                            cfg[C.CFG_SLIP], cfg[C.CFG_VOL_K], cfg[C.CFG_VOLUME_K], h[s], lo[s], c[s], q0, v[s]
                        )
                        px = C.slipped(px, side, frac)
                    q = F.sized_qty(sizer, size, eq, px, want, fee_rate, lev, step, sl_sig[s])
                    acted = want
                    if q > 0.0:
                        f = C.fee(q * px, fee_rate)
                        cash -= f
                        fees_total += f
                        qty = side * q
                        avg = px
                        k += 1
                        tr[k, T_ENTRY_I] = i
                        tr[k, T_EXIT_I] = -1
                        tr[k, T_SIDE] = side
                        tr[k, T_QTY] = q
                        tr[k, T_ENTRY_PX] = px
                        tr[k, T_FEES] = f
                        tr[k, T_PNL] = -f
                        exit_val = 0.0
                        sl = sl_sig[s]
                        tp = tp_sig[s]
                        if px != o[i]:
                            path_open = px
                            allow_tp = False
        # 3. protective exits inside the bar
        if qty != 0.0:
            ps = 1.0 if qty > 0 else -1.0
            liq = F.liquidation_price(ps, avg, lev, mmr)
            px, why = F.exit_scan(ps, sl, tp, liq, path_open, h[i], lo[i], allow_tp)
            if why != F.EXIT_NONE:
                f = 0.0
                if why == F.EXIT_LIQUIDATION:
                    px = F.bankruptcy_price(ps, avg, lev)
                elif why == F.EXIT_STOP_LOSS:
                    frac = C.slippage_fraction(
                        cfg[C.CFG_SLIP], cfg[C.CFG_VOL_K], cfg[C.CFG_VOLUME_K], h[s], lo[s], c[s], qty, v[s]
                    )
                    px = C.slipped(px, -ps, frac)
                    f = C.fee(qty * px, taker)
                else:
                    f = C.fee(qty * px, maker)
                gain = qty * (px - avg) - f
                cash += gain
                fees_total += f
                exit_val = _close(tr, k, i, abs(qty), px, exit_val, f, gain)
                tr[k, T_REASON] = why
                qty = 0.0
        position[i] = qty
        equity[i] = cash + qty * (c[i] - avg)
    if qty != 0.0 and cfg[C.CFG_CLOSE_AT_END] != 0.0:
        # forced market exit at the last close (a walk-forward window ends): taker fee and slippage,
        # the slippage from this bar's own range and volume, which are known at its close
        ps = 1.0 if qty > 0 else -1.0
        j = n - 1
        frac = C.slippage_fraction(cfg[C.CFG_SLIP], cfg[C.CFG_VOL_K], cfg[C.CFG_VOLUME_K], h[j], lo[j], c[j], qty, v[j])
        px = C.slipped(c[j], -ps, frac)
        f = C.fee(qty * px, taker)
        gain = qty * (px - avg) - f
        cash += gain
        fees_total += f
        _close(tr, k, j, abs(qty), px, exit_val, f, gain)
        tr[k, T_REASON] = F.EXIT_WINDOW
        qty = 0.0
        position[j] = 0.0
        equity[j] = cash
    elif qty != 0.0:
        _close(tr, k, n - 1, abs(qty), c[n - 1], exit_val, 0.0, qty * (c[n - 1] - avg))
        tr[k, T_REASON] = F.EXIT_END
    return tr[: k + 1], fees_total, funding_total


@dataclass(frozen=True, slots=True, eq=False)
class SimResult:
    ts: np.ndarray
    equity: np.ndarray
    position: np.ndarray  # signed quantity held at each bar's close
    trades: np.ndarray  # float64 matrix, columns T_*
    fees_paid: float
    funding_paid: float
    initial_cash: float


def _f64(a: np.ndarray) -> np.ndarray:
    out = np.ascontiguousarray(a, dtype=np.float64)
    # a read-only array (a shared cached indicator) would make numba compile a second signature
    return out if out.flags.writeable else out.copy()


def _i8(a: np.ndarray) -> np.ndarray:
    out = np.ascontiguousarray(a, dtype=np.int8)
    return out if out.flags.writeable else out.copy()


def simulate(
    candles: CandleArrays,
    sig: Signals,
    cost: CostModel | None = None,
    *,
    cash: float = 10_000.0,
    funding: np.ndarray | None = None,
    close_at_end: bool = False,
) -> SimResult:
    """Run signals over candles. `funding` is the per-bar rate (see costs.funding_per_bar).

    A position still open after the last bar is marked to its close without a fee (EXIT_END), or,
    with `close_at_end`, sold at that close as a market order, paying fee and slippage (EXIT_WINDOW).
    """
    if len(sig) != len(candles):
        raise ValueError(f"{len(sig)} signal rows for {len(candles)} candles")
    cfg = (cost or CostModel()).to_array()
    cfg[C.CFG_CASH] = cash
    cfg[C.CFG_CLOSE_AT_END] = 1.0 if close_at_end else 0.0
    n = len(candles)
    if n == 0:
        return SimResult(candles.ts, np.empty(0), np.empty(0), np.zeros((0, T_COLS)), 0.0, 0.0, cash)
    fund = np.zeros(n) if funding is None else _f64(funding)
    equity, position, trades, fees, fund_paid = simulate_kernel(
        _f64(candles.open),
        _f64(candles.high),
        _f64(candles.low),
        _f64(candles.close),
        _f64(candles.volume),
        fund,
        _f64(sig.target),
        _i8(sig.order_kind),
        _f64(sig.entry_price),
        _f64(sig.stop_loss),
        _f64(sig.take_profit),
        cfg,
    )
    return SimResult(candles.ts, equity, position, trades, float(fees), float(fund_paid), cash)
