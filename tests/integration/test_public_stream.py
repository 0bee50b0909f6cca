"""BybitPublicStream over a real WebSocket to FakePublicWs: data, ping, half-open, reconnect."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from decimal import Decimal

from tests.fakes.bybit_public_ws import FakePublicWs
from workstation.exchanges.bybit.public_stream import (
    BybitPublicStream,
    KlineUpdate,
    PublicStreamConfig,
    TickerUpdate,
    kline_topic,
    ticker_topic,
)

FAST = PublicStreamConfig(
    ping_interval_s=0.2, pong_timeout_s=0.3, connect_timeout_s=1, reply_timeout_s=1, backoff_initial_s=0.05
)
TOPICS = (kline_topic("BTCUSDT", "1"), ticker_topic("BTCUSDT"))


class Sink:
    def __init__(self) -> None:
        self.klines: list[KlineUpdate] = []
        self.tickers: list[TickerUpdate] = []
        self.connected = 0
        self.disconnects: list[str] = []

    async def public_connected(self) -> None:
        self.connected += 1

    async def public_disconnected(self, reason: str) -> None:
        self.disconnects.append(reason)

    async def on_klines(self, updates: list[KlineUpdate]) -> None:
        self.klines.extend(updates)

    async def on_ticker(self, update: TickerUpdate) -> None:
        self.tickers.append(update)


async def until(condition: Callable[[], bool], timeout: float = 3.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


def _run(fake: FakePublicWs, scenario: Callable[[BybitPublicStream, Sink], Awaitable[None]]) -> None:
    async def main() -> None:
        stream, sink = BybitPublicStream(fake.url, TOPICS, config=FAST), Sink()
        stream.start(sink)
        try:
            await scenario(stream, sink)
        finally:
            await stream.stop()

    asyncio.run(main())


async def _off_loop(fn: Callable[[], object]) -> object:
    return await asyncio.to_thread(fn)


def test_stream_when_subscribed_then_klines_and_merged_tickers_reach_the_sink() -> None:
    with FakePublicWs() as fake:

        async def scenario(stream: BybitPublicStream, sink: Sink) -> None:
            await until(lambda: stream.connected)
            await _off_loop(lambda: fake.push_kline("BTCUSDT", "1", 60_000, 1, 2, 0.5, 1.5, 10, confirm=False))
            await _off_loop(lambda: fake.push_kline("BTCUSDT", "1", 60_000, 1, 2.5, 0.5, 2, 12, confirm=True))
            await _off_loop(
                lambda: fake.push_ticker("BTCUSDT", {"lastPrice": "100", "markPrice": "101", "bid1Price": "99.5"})
            )
            await _off_loop(lambda: fake.push_ticker("BTCUSDT", {"lastPrice": "102"}, kind="delta"))
            await until(lambda: len(sink.klines) == 2 and len(sink.tickers) == 2)

            assert [(k.candle.ts, k.candle.close, k.confirmed) for k in sink.klines] == [
                (60_000, 1.5, False),
                (60_000, 2.0, True),
            ]
            last = sink.tickers[-1]
            assert (last.last_price, last.mark_price, last.bid) == (Decimal("102"), Decimal("101"), Decimal("99.5"))

        _run(fake, scenario)
        assert fake.subscriptions == [list(TOPICS)]


def test_stream_when_idle_then_it_pings_and_stays_up() -> None:
    with FakePublicWs() as fake:

        async def scenario(stream: BybitPublicStream, sink: Sink) -> None:
            await until(lambda: fake.pings >= 3)
            assert stream.connected and stream.connects == 1 and sink.disconnects == []

        _run(fake, scenario)


def test_stream_when_the_socket_goes_half_open_then_down_reconnected_and_resubscribed() -> None:
    with FakePublicWs() as fake:

        async def scenario(stream: BybitPublicStream, sink: Sink) -> None:
            await until(lambda: stream.connected)
            await _off_loop(fake.go_silent)
            await until(lambda: bool(sink.disconnects))
            assert "half-open" in sink.disconnects[0]
            await until(lambda: stream.connects == 2 and stream.connected)
            await until(lambda: fake.live_subscribers == 1)
            delivered = await _off_loop(lambda: fake.push_kline("BTCUSDT", "1", 0, 1, 1, 1, 1, 1, confirm=True))
            assert delivered == 1
            await until(lambda: len(sink.klines) == 1)

        _run(fake, scenario)
        assert fake.subscriptions == [list(TOPICS), list(TOPICS)]


def test_stream_when_dropped_and_refused_for_a_while_then_it_backs_off_and_comes_back() -> None:
    with FakePublicWs() as fake:

        async def scenario(stream: BybitPublicStream, sink: Sink) -> None:
            await until(lambda: stream.connected)
            await stream.subscribe(ticker_topic("ETHUSDT"))  # added at run time: kept for reconnects
            fake.refuse(True)
            await _off_loop(fake.drop)
            await until(lambda: len(sink.disconnects) >= 3)  # the first drop plus refused attempts
            assert not stream.connected
            fake.refuse(False)
            await until(lambda: stream.connected and sink.connected == 2, timeout=5)
            await until(lambda: fake.live_subscribers == 1)
            await _off_loop(lambda: fake.push_ticker("ETHUSDT", {"lastPrice": "3000"}))
            await until(lambda: [t.symbol for t in sink.tickers] == ["ETHUSDT"])

        _run(fake, scenario)
        assert fake.subscriptions[0] == list(TOPICS)
        assert fake.subscriptions[-1] == [*TOPICS, ticker_topic("ETHUSDT")]
