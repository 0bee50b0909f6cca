"""A strategy with declared inputs on a live venue: `workstation trade --env testnet` (a real process,
debug mode off, through pybit to the streaming fake Bybit) runs ml_classifier on real ETHUSDT 1h
with ETHUSDT funding (features=2) and BTCUSDT as its peer. The peer comes from a second kline topic
on the same public stream (warm-up over REST), the funding from REST /v5/market/funding/history; both
are bound as the backtest binds them. It places orders, and its target at every live bar equals a
backtest of the same strategy over the bars it stored in the candle store (bound by
backtest.inputs.bind_inputs from that store). A peer or funding the venue does not have is named."""

from __future__ import annotations

import re
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.fakes.bybit_public_ws import FakePublicWs
from tests.fakes.bybit_server import FakeBybit
from tests.fakes.bybit_ws import StreamingFakeBybit
from tests.fakes.real_candles import BTC_1H, candles, rows
from tests.integration.live_trader import HOUR, KEY, SECRET, LiveTrader, live_trader
from workstation.backtest.costs import CostModel
from workstation.backtest.inputs import bind_inputs
from workstation.backtest.runner import load_market, run_backtest
from workstation.data.arrays import CandleArrays
from workstation.data.store import CandleStore
from workstation.paper.session import candle_store_path
from workstation.strategies.builtin import build

ETH_1H = BTC_1H.parent / "ETH_USDT_USDT-1h-futures.feather"
ETH_FUNDING = BTC_1H.parent / "ETH_USDT_USDT-1h-funding_rate.feather"
PARAMS = {"horizon": 6, "train": 400, "refit": 240, "embargo": 6, "threshold": 0.52, "short": 1}
PARAMS |= {"features": 2, "peer": 1}
ARGS = ("--strategy", "ml_classifier", *(a for k, v in PARAMS.items() for a in ("--param", f"{k}={v}")))
FIRST, WARM, LIVE = 1500, 1200, 36
EIGHT_HOURS = 8 * HOUR


def moved(c: CandleArrays, shift: int) -> CandleArrays:
    return CandleArrays(c.ts + shift, c.open, c.high, c.low, c.close, c.volume)


def market() -> tuple[dict[str, CandleArrays], list[tuple[int, float]]]:
    """Real ETH and BTC 1h bars (same hours) and ETH funding, moved by whole 8h periods so the warm
    bars closed before now: ({symbol: bars}, funding rows)."""
    eth = candles(ETH_1H, first=FIRST, count=WARM + LIVE)
    btc_all = candles(BTC_1H)
    btc = candles(BTC_1H, first=int(np.searchsorted(btc_all.ts, eth.ts[0])), count=WARM + LIVE)
    np.testing.assert_array_equal(eth.ts, btc.ts)
    now = time.time_ns() // 1_000_000
    shift = (now - int(eth.ts[WARM])) // EIGHT_HOURS * EIGHT_HOURS
    funding = pd.read_feather(ETH_FUNDING)
    f_ts = funding["date"].astype("datetime64[ms, UTC]").astype("int64").to_numpy() + shift
    rates = funding["open"].tolist()
    return {"ETHUSDT": moved(eth, shift), "BTCUSDT": moved(btc, shift)}, list(zip(f_ts.tolist(), rates, strict=True))


def serve(fake: FakeBybit, bars: dict[str, CandleArrays], funding: list[tuple[int, float]] | None) -> None:
    fake.add_key(KEY, SECRET)
    fake.set_balance("USDT", "10000")
    for symbol, b in bars.items():
        fake.set_candles(symbol, "60", rows(b.take(slice(0, WARM))))
        fake.set_mark_price(symbol, str(float(b.close[WARM - 1])))
    if funding is not None:
        fake.set_funding("ETHUSDT", [(t, repr(r)) for t, r in funding])


def feed(trader: LiveTrader, fake: FakeBybit, public: FakePublicWs, bars: dict[str, CandleArrays]) -> None:
    """Each hour: the peer's confirmed bar, then ETH's; the next hour once the trader acted."""
    deadline = time.monotonic() + 30
    while public.live_subscribers < 1:
        assert time.monotonic() < deadline, "the trader never subscribed"
        time.sleep(0.05)
    eth, btc = bars["ETHUSDT"], bars["BTCUSDT"]
    for i in range(WARM, WARM + LIVE):
        fake.set_mark_price("ETHUSDT", str(float(eth.close[i])))
        for symbol, b in (("BTCUSDT", btc), ("ETHUSDT", eth)):
            t, o, h, lo, c, v = (float(x[i]) for x in b.columns())
            public.push_kline(symbol, "60", int(t), o, h, lo, c, v, confirm=True)
        trader.wait_for(f"BAR ETHUSDT {int(eth.ts[i])} ", timeout_s=60)


def test_trade_testnet_when_ml_classifier_has_funding_and_a_peer_then_it_trades_and_targets_equal_the_backtest(
    tmp_path: Path, public_ws: FakePublicWs
) -> None:
    bars, funding = market()
    home = tmp_path / "home"
    with StreamingFakeBybit() as fake:
        serve(fake, bars, funding)
        with live_trader(
            home, fake, public_ws, "--bars", str(LIVE), "--warmup", str(WARM + 8),
            debug=False, stream_url=fake.ws.url, trade_args=ARGS, symbol="ETHUSDT",
        ) as trader:  # fmt: skip
            trader.wait_for("READY ETHUSDT 1h", timeout_s=60)
            feed(trader, fake, public_ws, bars)
            out = trader.finish(60)
        assert trader.process.returncode == 0, out
        created = [r.params["orderLinkId"] for r in fake.requests_to("/v5/order/create")]
        topics = sorted({r.params.get("symbol") for r in fake.requests_to("/v5/market/kline")})
    assert f"WARM {WARM} closed 1h bar(s) of ETHUSDT" in out and f"WARM {WARM} closed 1h bar(s) of peer BTCUSDT" in out
    assert "FEED connected: following kline.60.BTCUSDT" in out and "PEER " not in out, out
    assert f"DONE {LIVE} closed candle(s) (bars)" in out and "DENIED" not in out, out
    assert topics == ["BTCUSDT", "ETHUSDT"]
    assert created, out  # it traded

    live = {int(m[1]): float(m[2]) for m in re.finditer(r"^BAR ETHUSDT (\d+) close \S+; signal (\S+);", out, re.M)}
    assert len(live) == LIVE
    assert len({v for v in live.values()}) > 1, live  # the target changed while it ran

    with CandleStore.open(candle_store_path(home)) as store:
        mkt = load_market(store, "ETHUSDT", "1h", venue="bybit-testnet")
        assert mkt.candles.equals(bars["ETHUSDT"])
        assert store.read("bybit-testnet", "BTCUSDT", "1h").equals(bars["BTCUSDT"])
        stored_funding = store.read_funding("bybit-testnet", "ETHUSDT")
        strategy = bind_inputs(store, build("ml_classifier", PARAMS), "bybit-testnet", "ETHUSDT", "1h", mkt.candles)
    last_close = int(bars["ETHUSDT"].ts[-1]) + HOUR
    assert len(stored_funding.ts) and int(stored_funding.ts[-1]) < last_close
    assert int(stored_funding.ts[-1]) + EIGHT_HOURS >= last_close  # refreshed as settlements passed
    bt = run_backtest(strategy, mkt.candles, CostModel(), funding=mkt.funding)
    target = dict(zip(mkt.candles.ts.tolist(), bt.signals.target.tolist(), strict=True))
    assert {ts: target[ts] for ts in live} == live
    # and the inputs matter: without funding and peer the same model gives other targets on these bars
    plain = run_backtest(build("ml_classifier", PARAMS | {"features": 1, "peer": 0}), mkt.candles, CostModel())
    without = dict(zip(mkt.candles.ts.tolist(), plain.signals.target.tolist(), strict=True))
    assert {ts: without[ts] for ts in live} != live


@pytest.mark.parametrize("missing", ["peer", "funding"])
def test_trade_testnet_when_a_declared_series_is_not_on_the_venue_then_the_error_names_it_and_where(
    tmp_path: Path, fake_bybit: FakeBybit, public_ws: FakePublicWs, missing: str
) -> None:
    bars, funding = market()
    if missing == "peer":
        bars.pop("BTCUSDT")
    serve(fake_bybit, bars, None if missing == "funding" else funding)
    with live_trader(
        tmp_path / "home", fake_bybit, public_ws, "--bars", "1", "--warmup", "50",
        debug=True, trade_args=ARGS, symbol="ETHUSDT",
    ) as trader:  # fmt: skip
        out = trader.finish(60)
    assert trader.process.returncode == 1, out
    label = "ml_classifier(logistic,h=6,p>0.52,long/short,train=400,refit=240,funding,peer=BTCUSDT)"
    if missing == "peer":
        want = f"error: {label} needs BTCUSDT 1h candles as its peer: the venue's REST klines ({fake_bybit.base_url}"
    else:
        want = f"error: {label} needs the funding history of ETHUSDT: {fake_bybit.base_url}/v5/market/funding/history"
    assert want in " ".join(out.split()), out
