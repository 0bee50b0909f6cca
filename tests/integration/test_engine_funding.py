"""Funding settlements from the fake Bybit (REST execution list and private stream, pybit and a real
WebSocket) into the engine's ledger: once each, by exec id, whichever path brings it first; a
settlement the ledger could not write as it arrived is written by the REST pull after a restart."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from tests.fakes.bybit_ws import StreamingFakeBybit
from tests.fakes.engine_scenarios import market, run
from tests.fakes.fault_rig import FaultRig, eventually, fault_rig
from tests.integration.test_engine_ledger_faults import locked
from workstation.core.enums import Side
from workstation.engine.ledger import Ledger

VENUE = "bybit-testnet"
T0 = 1_700_000_000_000 - 1_700_000_000_000 % 28_800_000  # a funding time (00:00/08:00/16:00 UTC)
EIGHT_H = 28_800_000


@pytest.fixture
def fake() -> Iterator[StreamingFakeBybit]:
    with StreamingFakeBybit() as server:
        yield server


@pytest.fixture
def rig(fake: StreamingFakeBybit, tmp_path: Path) -> FaultRig:
    return fault_rig(fake, tmp_path, busy_timeout_s=0.1)


def on_clock(fake: StreamingFakeBybit, start_ms: int) -> dict[str, int]:
    """The fake's matching clock, moved by the test (requests are still signed on the wall clock)."""
    clock = {"now": start_ms}
    fake.exchange.now_ms = lambda: clock["now"]
    return clock


def settlements(fake: StreamingFakeBybit) -> dict[str, Decimal]:
    return {e["execId"]: Decimal(e["execFee"]) for e in fake.funding_executions("BTCUSDT")}


def test_funding_when_settled_on_an_open_long_then_the_stream_records_it_once_and_rest_adds_nothing(
    rig: FaultRig, fake: StreamingFakeBybit
) -> None:
    clock = on_clock(fake, T0 - 3_600_000)
    fake.set_mark_price("BTCUSDT", "30000")
    fake.set_funding("BTCUSDT", [(T0, "0.0001"), (T0 + EIGHT_H, "-0.0002")])

    async def scenario() -> None:
        await rig.kernel.start()
        bridge = rig.kernel.attach_stream(rig.stream(), fallback_poll_s=30.0)
        assert await eventually(lambda: bridge.connected and bridge.resyncs >= 1)
        await rig.kernel.submit(market(Side.BUY, "0.01"))
        fake.set_mark_price("BTCUSDT", "31000")
        clock["now"] = T0 + 1_000
        assert len(fake.settle_funding()) == 1  # the first settlement, on the long 0.01
        assert await eventually(lambda: len(rig.ledger.funding(VENUE)) == 1)
        assert await rig.kernel.sync() == 0 and (await rig.kernel.reconcile()).new_funding == 0
        clock["now"] = T0 + EIGHT_H + 1_000  # a negative rate: the long receives
        await rig.kernel.sync()  # the request itself settles it; the stream and this REST pull race
        assert await eventually(lambda: len(rig.ledger.funding(VENUE)) == 2)
        await rig.kernel.stop()

    run(scenario())
    paid = settlements(fake)
    assert sorted(paid.values()) == [Decimal("-0.062"), Decimal("0.031")]  # 0.01 x 31000 x rate, Bybit's sign
    ledger = Ledger.open(rig.ledger_file)
    stored = ledger.funding(VENUE, "BTCUSDT")
    assert {p.exec_id: p.amount for p in stored} == paid
    assert [p.ts for p in stored] == [T0, T0 + EIGHT_H]
    assert [p.rate for p in stored] == [Decimal("0.0001"), Decimal("-0.0002")]
    assert all(p.position_qty == Decimal("0.01") and p.price == Decimal(31000) for p in stored)
    assert [f.qty for f in ledger.fills(venue=VENUE)] == [Decimal("0.01")]  # funding is not a fill
    assert [p.size for p in ledger.positions(VENUE)] == [Decimal("0.01")]
    sources = [e["source"] for e in ledger.audit_entries() if e["kind"] == "funding"]
    assert sources[0] == "stream" and len(sources) == 2
    ledger.close()


def test_funding_when_the_ledger_is_locked_as_it_streams_in_then_the_restart_rest_pull_records_it_once(
    rig: FaultRig, fake: StreamingFakeBybit, tmp_path: Path
) -> None:
    clock = on_clock(fake, T0 - 3_600_000)
    fake.set_mark_price("BTCUSDT", "30000")
    fake.set_funding("BTCUSDT", [(T0, "0.0001")])

    async def scenario() -> None:
        await rig.kernel.start()
        bridge = rig.kernel.attach_stream(rig.stream(), fallback_poll_s=30.0)
        assert await eventually(lambda: bridge.connected and bridge.resyncs >= 1)
        await rig.kernel.submit(market(Side.SELL, "0.02"))
        clock["now"] = T0 + 1_000
        with locked(rig.ledger_file):
            sent = len(fake.ws.sent)
            fake.settle_funding()
            assert await eventually(lambda: any(m["topic"] == "execution" for m in fake.ws.sent[sent:]), timeout_s=5.0)
            await eventually(lambda: False, timeout_s=0.5)  # the stream's write met the lock
        assert rig.ledger.funding(VENUE) == []
        await bridge.stop()  # the process dies before any REST pull
        rig.ledger.close()

    run(scenario())
    restarted = fault_rig(fake, tmp_path)
    run(restarted.kernel.start())
    run(restarted.kernel.stop())
    again = fault_rig(fake, tmp_path)
    run(again.kernel.start())
    run(again.kernel.stop())
    ledger = Ledger.open(rig.ledger_file)
    stored = ledger.funding(VENUE, "BTCUSDT")
    assert {p.exec_id: p.amount for p in stored} == settlements(fake) == {stored[0].exec_id: Decimal("-0.06")}
    assert stored[0].position_qty == Decimal("-0.02")  # the short received the positive rate
    ledger.close()
