"""The live trader's candle history: duplicates and older bars dropped, a gap filled from the venue's
REST klines (real BTC 1h bars served by the fake Bybit) before the new bar."""

from __future__ import annotations

import asyncio

import pytest

from tests.fakes.bybit_server import FakeBybit
from tests.fakes.real_candles import BTC_1H, candles, rows
from workstation.core.enums import Venue
from workstation.live.feed import URL_ENV, CandleHistory, public_url, rest_fetcher

HOUR = 3_600_000


def test_accept_when_a_bar_arrives_after_a_gap_then_the_missing_bars_come_from_rest_and_repeats_are_dropped(
    fake_bybit: FakeBybit,
) -> None:
    bars = candles(BTC_1H, first=100, count=10)
    fake_bybit.set_candles("BTCUSDT", "60", rows(bars))
    fetch = rest_fetcher(Venue.BYBIT_TESTNET, "BTCUSDT", "1h", fake_bybit.base_url, 5.0)
    history = CandleHistory(HOUR, fetch)
    history.warm(fetch(int(bars.ts[0]), int(bars.ts[5])))
    assert len(history.bars) == 5
    listed = list(bars.candles())

    async def scenario() -> list[bool]:
        return [
            await history.accept(listed[8]),  # bars 5, 6 and 7 were missed (a reconnect)
            await history.accept(listed[8]),  # the stream sends it again
            await history.accept(listed[3]),  # an old bar, out of order
            await history.accept(listed[9]),
        ]

    assert asyncio.run(scenario()) == [True, False, False, True]
    assert history.bars.equals(bars)
    assert (history.backfilled, history.duplicates) == (3, 2)


def test_public_url_when_setting_or_env_given_then_used_else_the_venues_network(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(URL_ENV, raising=False)
    assert public_url(Venue.BYBIT_TESTNET) == "wss://stream-testnet.bybit.com/v5/public/linear"
    assert public_url(Venue.BYBIT_DEMO) == "wss://stream.bybit.com/v5/public/linear"  # demo reads mainnet data
    monkeypatch.setenv(URL_ENV, "ws://relay/v5/public/linear")
    assert public_url(Venue.BYBIT_MAINNET) == "ws://relay/v5/public/linear"
    assert public_url(Venue.BYBIT_MAINNET, "ws://configured") == "ws://configured"
