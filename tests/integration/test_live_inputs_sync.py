"""live.inputs against the fake Bybit's REST (real BTC 1h bars and ETH funding): before the strategy
acts on bar t the peer's bar t is there (taken from the stream when it comes late, else fetched over
REST, else said), and funding is fetched again only once a settlement is due."""

from __future__ import annotations

import asyncio

import numpy as np
import pandas as pd

from tests.fakes.bybit_server import FakeBybit
from tests.fakes.real_candles import BTC_1H, candles, rows
from workstation.core.enums import Venue
from workstation.live.feed import rest_fetcher
from workstation.live.inputs import LiveInputs, funding_fetcher
from workstation.strategies.builtin import build

HOUR = 3_600_000
ETH_FUNDING = BTC_1H.parent / "ETH_USDT_USDT-1h-funding_rate.feather"
STRATEGY = build("ml_classifier", {"features": 2, "peer": 1})


def inputs(fake: FakeBybit, said: list[str]) -> LiveInputs:
    return LiveInputs(
        STRATEGY, "ETHUSDT", "1h", HOUR, 1000, host=fake.base_url, timeout_s=5.0,
        peer_fetch=lambda s: rest_fetcher(Venue.BYBIT_TESTNET, s, "1h", fake.base_url, 5.0),
        funding_fetch=funding_fetcher(fake.base_url, "ETHUSDT", 5.0), echo=said.append, peer_wait_s=0.2,
    )  # fmt: skip


def serve_funding(fake: FakeBybit) -> np.ndarray:
    frame = pd.read_feather(ETH_FUNDING)
    ts = frame["date"].astype("datetime64[ms, UTC]").astype("int64").to_numpy()
    fake.set_funding("ETHUSDT", list(zip(ts.tolist(), frame["open"].tolist(), strict=True)))
    return ts


def test_before_bar_when_the_peer_bar_is_late_missing_on_the_stream_or_everywhere_then_waited_fetched_or_said(
    fake_bybit: FakeBybit,
) -> None:
    btc = candles(BTC_1H, first=3000, count=40)
    fake_bybit.set_candles("BTCUSDT", "60", rows(btc.take(slice(0, 37))))  # the venue's REST lacks the last 3
    serve_funding(fake_bybit)
    said: list[str] = []
    live = inputs(fake_bybit, said)
    bars = list(btc.candles())
    (peer,) = live.peers

    async def scenario() -> list[int | None]:
        await live.warm(int(btc.ts[0]), int(btc.ts[30]))
        seen = [peer.history.last_ts]
        asyncio.get_running_loop().call_later(0.05, peer.feed.queue.put_nowait, bars[30])  # late on the stream
        await live.before_bar(bars[30].ts)
        seen.append(peer.history.last_ts)
        await live.before_bar(bars[32].ts)  # bars 31, 32 never streamed: REST has them
        seen.append(peer.history.last_ts)
        await live.before_bar(bars[38].ts)  # REST stops at bar 36: bars 33..36 fetched, 38 is said
        seen.append(peer.history.last_ts)
        return seen

    seen = asyncio.run(scenario())
    assert seen == [int(btc.ts[29]), int(btc.ts[30]), int(btc.ts[32]), int(btc.ts[36])]
    assert peer.history.bars.equals(btc.take(slice(0, 37)))
    assert (peer.late, peer.history.backfilled) == (1, 6)
    assert (
        said[-1] == f"PEER BTCUSDT bar {int(btc.ts[38])} missing (stream and REST): the strategy sees its previous bar"
    )
    bound = live.bind(STRATEGY).bound_inputs()
    assert bound is not None and bound.peers["BTCUSDT"].equals(peer.history.bars)


def test_before_bar_when_no_settlement_is_due_then_funding_is_not_fetched_again(fake_bybit: FakeBybit) -> None:
    all_ts = serve_funding(fake_bybit)
    btc = candles(BTC_1H, first=3000, count=40)
    fake_bybit.set_candles("BTCUSDT", "60", rows(btc))
    live = inputs(fake_bybit, [])
    assert live.funding is not None
    start, end = int(btc.ts[0]), int(btc.ts[20])

    async def scenario() -> list[int]:
        await live.warm(start, end)
        fetched = [live.funding.refreshes]
        for i in range(20, 40):
            await live.before_bar(int(btc.ts[i]))
            fetched.append(live.funding.refreshes)
        return fetched

    fetched = asyncio.run(scenario())
    closes = btc.ts[20:40] + HOUR - 1
    settled = [int(t) for t in all_ts if end <= t <= closes[-1]]  # settlements while it ran
    assert fetched[0] == 0 and fetched[-1] == len(settled) >= 2  # one fetch each, none in between
    known = all_ts[(all_ts >= start - 30 * 24 * HOUR) & (all_ts <= closes[-1])]
    np.testing.assert_array_equal(live.funding.ts, known)
