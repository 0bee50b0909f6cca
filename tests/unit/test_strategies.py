"""Strategy protocol: parameters, registry, validation, error reporting and the lookahead check."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from workstation.backtest.lookahead import check_lookahead
from workstation.data.arrays import CandleArrays
from workstation.strategies import indicators as ind
from workstation.strategies.base import Signals, Strategy, StrategyError, param, signals
from workstation.strategies.builtin import REGISTRY, build

BYBIT = Path(__file__).resolve().parents[3] / "shared" / "data" / "ohlcv" / "bybit_linear"


@pytest.fixture(scope="module")
def btc_4h() -> CandleArrays:
    frame = pd.read_feather(BYBIT / "5pairs_4h_1d_2023-11_2026-01" / "BTC_USDT_USDT-4h-futures.feather")
    return CandleArrays.from_frame(frame.set_index("date"))


@dataclass(frozen=True)
class Peeker(Strategy):
    """Cheats: goes long when the NEXT close is higher."""

    name = "peeker"
    lag: int = param(1, 1, 5, 1)

    def compute(self, candles: CandleArrays) -> Signals:
        c = candles.close
        nxt = np.concatenate([c[self.lag :], np.full(self.lag, np.nan)])
        return Signals.from_target((nxt > c).astype(float))


@dataclass(frozen=True)
class Brittle(Strategy):
    """Raises once the price has ever been above a level (a real bug shape: an unhandled regime)."""

    name = "brittle"
    level: float = param(100_000.0, 1.0, 1e6, 1.0)

    def compute(self, candles: CandleArrays) -> Signals:
        if (candles.close > self.level).any():
            raise ZeroDivisionError("regime not handled")
        return Signals.from_target(np.zeros(len(candles)))


def test_params_when_declared_then_ranges_defaults_and_grid_are_available() -> None:
    specs = {s.name: s for s in REGISTRY["sma_cross"].params()}
    assert (specs["fast"].type, specs["fast"].default, specs["fast"].low, specs["fast"].high) == (int, 10, 2, 200)
    rsi = {s.name: s for s in REGISTRY["rsi_reversion"].params()}
    assert rsi["oversold"].type is float and rsi["oversold"].grid()[:3] == [5.0, 10.0, 15.0]
    assert set(REGISTRY) == {
        "sma_cross",
        "ema_cross",
        "donchian",
        "rsi_reversion",
        "bollinger_reversion",
        "buy_and_hold",
        "ml_classifier",
    }


def test_create_when_text_values_then_parsed_and_validated() -> None:
    assert build("sma_cross", {"fast": "5", "slow": "20"}).values() == {"fast": 5, "slow": 20, "short": 0}
    with pytest.raises(ValueError, match="outside its range"):
        build("sma_cross", {"fast": "1"})
    with pytest.raises(ValueError, match="must be shorter"):
        build("sma_cross", {"fast": "50", "slow": "20"})
    with pytest.raises(ValueError, match="no parameter 'period'"):
        build("sma_cross", {"period": "3"})


def test_signals_when_strategy_raises_then_strategy_error_names_it_and_the_first_failing_bar(
    btc_4h: CandleArrays,
) -> None:
    first = int(np.flatnonzero(btc_4h.close > 100_000)[0])  # found independently of the engine
    with pytest.raises(StrategyError) as info:
        signals(Brittle(), btc_4h)
    err = info.value
    assert err.strategy == "brittle" and err.bar_ts == int(btc_4h.ts[first])
    when = dt.datetime.fromtimestamp(btc_4h.ts[first] / 1000, tz=dt.UTC).isoformat()
    assert "brittle" in str(err) and when in str(err) and "ZeroDivisionError" in str(err)


def test_signals_when_target_out_of_range_then_error_at_that_bar(btc_4h: CandleArrays) -> None:
    @dataclass(frozen=True)
    class TooBig(Strategy):
        name = "too_big"

        def compute(self, candles: CandleArrays) -> Signals:
            t = np.zeros(len(candles))
            t[7] = 1.5
            return Signals.from_target(t)

    with pytest.raises(StrategyError, match="not within") as info:
        signals(TooBig(), btc_4h)
    assert info.value.bar_ts == int(btc_4h.ts[7])


def test_check_lookahead_when_strategy_uses_next_close_then_violation_reported(btc_4h: CandleArrays) -> None:
    report = check_lookahead(Peeker(), btc_4h, samples=5)
    assert not report.ok and report.cuts_checked == 5
    v = report.violations[0]
    assert v.column == "target" and v.bar_ts == v.cut_ts  # the last bar before each cut changed


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_check_lookahead_when_builtin_strategy_then_no_past_signal_changes(name: str, btc_4h: CandleArrays) -> None:
    report = check_lookahead(build(name), btc_4h, samples=8, seed=3)
    assert report.ok, report.violations


def test_indicators_when_compared_with_direct_formulas_then_equal(btc_4h: CandleArrays) -> None:
    c = btc_4h.close[:300]
    np.testing.assert_allclose(ind.sma(c, 10)[9:], np.convolve(c, np.ones(10) / 10, "valid"), rtol=1e-12)
    e = np.empty(len(c))
    e[0] = c[0]
    for i in range(1, len(c)):  # EMA recursion with alpha = 2 / (span + 1)
        e[i] = e[i - 1] + 2 / 11 * (c[i] - e[i - 1])
    np.testing.assert_allclose(ind.ema(c, 10)[9:], e[9:], rtol=1e-12)
    r = ind.rsi(c, 14)
    assert np.isnan(r[:14]).all() and ((r[14:] >= 0) & (r[14:] <= 100)).all()
    np.testing.assert_array_equal(ind.hold(np.array([np.nan, 1.0, np.nan, 0.0, np.nan])), [0, 1, 1, 0, 0])
