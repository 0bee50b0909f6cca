"""Amend at the kernel level, against FakeBybit over real HTTP with a real SQLite ledger: the
intent is written first, the SAME client order id is amended, the status never goes backwards,
a 110079 is backed off by the venue guard, and a failed amend is an AmendFailed event."""

from __future__ import annotations

import sqlite3
from decimal import Decimal
from pathlib import Path

from tests.fakes.bybit_ws import StreamingFakeBybit
from tests.fakes.engine_scenarios import exchange_orders, limit, run
from tests.fakes.fault_rig import fault_rig
from workstation.core.enums import OrderStatus
from workstation.core.events import AmendFailed, OrderStatusChanged
from workstation.core.types import AmendRequest
from workstation.exchanges.bybit.guard import GuardPolicy

AMEND = "/v5/order/amend"


def ledger_order(path: Path, coid: str) -> tuple[str, str, str]:
    with sqlite3.connect(path) as conn:
        row = conn.execute("SELECT status, qty, price FROM orders WHERE client_order_id = ?", (coid,)).fetchone()
    return row[0], row[1], row[2]


def test_amend_when_accepted_then_intent_written_first_same_id_and_new_values_in_the_ledger(
    tmp_path: Path,
) -> None:
    with StreamingFakeBybit() as fake:
        rig = fault_rig(fake, tmp_path, policy=GuardPolicy(busy_backoff_s=0.01))

        async def scenario() -> None:
            await rig.kernel.start()
            await rig.kernel.submit(limit(coid="am-ok", qty="0.01", price="30000"))
            fake.fail_next(AMEND, 110079, "The order is processing and can not be operated", 1)
            order = await rig.kernel.amend(
                AmendRequest("am-ok", "BTCUSDT", qty=Decimal("0.02"), price=Decimal("29500"))
            )
            assert (order.status, order.qty, order.price) == (OrderStatus.NEW, Decimal("0.02"), Decimal("29500"))
            await rig.kernel.stop()

        run(scenario())
        sent = fake.requests_to(AMEND)
        assert len(sent) == 2 and {r.params["orderLinkId"] for r in sent} == {"am-ok"}  # 110079, then retried
        assert (exchange_orders(fake)["am-ok"]["qty"], exchange_orders(fake)["am-ok"]["price"]) == ("0.02", "29500")
    assert ledger_order(rig.ledger_file, "am-ok") == ("New", "0.02", "29500")
    kinds = [e["kind"] for e in rig.ledger.audit_entries("am-ok")]
    assert kinds.index("amend_requested") < kinds.index("order_amended")
    assert rig.log.of(AmendFailed) == []


def test_amend_when_debug_mode_switched_on_then_denied_nothing_sent_and_amend_failed(tmp_path: Path) -> None:
    with StreamingFakeBybit() as fake:
        rig = fault_rig(fake, tmp_path)

        async def scenario() -> None:
            await rig.kernel.start()
            await rig.kernel.submit(limit(coid="am-dbg", price="30000"))
            rig.debug_switch.set(True, source="test")
            order = await rig.kernel.amend(AmendRequest("am-dbg", "BTCUSDT", price=Decimal("29000")))
            assert order.price == Decimal("30000")
            await rig.kernel.stop()

        run(scenario())
        assert fake.requests_to(AMEND) == [] and exchange_orders(fake)["am-dbg"]["price"] == "30000"
    (failed,) = rig.log.of(AmendFailed)
    assert failed.client_order_id == "am-dbg" and "debug mode" in failed.reason
    assert ledger_order(rig.ledger_file, "am-dbg") == ("New", "0.01", "30000")


def test_amend_when_the_order_filled_meanwhile_then_amend_failed_and_the_status_stays_filled(
    tmp_path: Path,
) -> None:
    with StreamingFakeBybit() as fake:
        rig = fault_rig(fake, tmp_path)

        async def scenario() -> None:
            await rig.kernel.start()
            await rig.kernel.submit(limit(coid="am-fill", qty="0.01", price="30000"))
            fake.fill_order("am-fill", "30000", "0.01")
            order = await rig.kernel.amend(AmendRequest("am-fill", "BTCUSDT", price=Decimal("29000")))
            assert order.status is OrderStatus.FILLED and order.price == Decimal("30000")
            again = await rig.kernel.amend(AmendRequest("am-fill", "BTCUSDT", price=Decimal("28000")))
            assert again.status is OrderStatus.FILLED
            await rig.kernel.stop()

        run(scenario())
        assert len(fake.requests_to(AMEND)) == 1  # the second is refused locally: the order has ended
    first, second = rig.log.of(AmendFailed)
    assert first.code == 110001 and "Filled" in second.reason
    changes = [e for e in rig.log.of(OrderStatusChanged) if e.client_order_id == "am-fill"]
    assert changes[-1].status is OrderStatus.FILLED  # never moved back from Filled by the amends
    assert all(e.previous is not OrderStatus.FILLED for e in changes)
    assert ledger_order(rig.ledger_file, "am-fill")[0] == "Filled"
