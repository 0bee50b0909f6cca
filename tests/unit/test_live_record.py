"""The live trader's market-data recorder: writes land in the candle store in order, idempotently;
a store that cannot be written is said once and never raises into the bar cycle."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np

from tests.fakes.real_candles import BTC_1H, candles
from workstation.data.store import CandleStore
from workstation.live.record import BarRecorder


def test_recorder_when_bars_and_funding_are_recorded_twice_then_stored_once(tmp_path: Path) -> None:
    bars = candles(BTC_1H, first=200, count=50)
    path = tmp_path / "candles.db"

    async def go() -> BarRecorder:
        recorder = BarRecorder(path, "bybit-testnet")
        for _ in range(2):
            recorder.candles("BTCUSDT", "1h", bars.take(slice(0, 30)))
            recorder.candles("BTCUSDT", "1h", bars.take(slice(20, 50)))
            recorder.funding("BTCUSDT", bars.ts[::8], np.full(len(bars.ts[::8]), 1e-4))
        await recorder.close()
        return recorder

    recorder = asyncio.run(go())
    assert recorder.failures == 0
    with CandleStore.open(path) as store:
        assert store.read("bybit-testnet", "BTCUSDT", "1h").equals(bars)
        assert [s.rows for s in store.series()] == [50]
        np.testing.assert_array_equal(store.read_funding("bybit-testnet", "BTCUSDT").ts, bars.ts[::8])


def test_recorder_when_the_store_cannot_be_written_then_it_warns_once_and_does_not_raise(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the home's directory should be")
    said: list[str] = []
    bars = candles(BTC_1H, first=200, count=5)

    async def go() -> BarRecorder:
        recorder = BarRecorder(blocker / "candles.db", "bybit-testnet", echo=said.append)
        recorder.candles("BTCUSDT", "1h", bars)
        recorder.candles("BTCUSDT", "1h", bars)
        await recorder.close()
        await asyncio.sleep(0)  # the warning is handed to the loop from the writer thread
        return recorder

    recorder = asyncio.run(go())
    assert recorder.failures == 2
    assert (
        len(said) == 1
        and said[0].startswith("WARNING could not store market data in ")
        and "trading goes on" in said[0]
    )
