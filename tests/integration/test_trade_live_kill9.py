"""`workstation trade --env testnet` killed with SIGKILL right after an order reached the fake
Bybit (mid-cycle: the answer, the fill and its ledger write may or may not have happened), then
restarted on the same home: the restart reconciles with the venue, every order the venue holds is
in the ledger once with the venue's status, every execution is one ledger fill, and the ledger's
position is the venue's."""

from __future__ import annotations

import queue
import signal
import sqlite3
import time
from decimal import Decimal
from pathlib import Path

from tests.fakes.bybit_public_ws import FakePublicWs
from tests.fakes.bybit_ws import StreamingFakeBybit
from tests.fakes.engine_scenarios import exchange_orders
from tests.fakes.real_candles import rows
from tests.integration.live_trader import LiveTrader, feed_bars, live_trader, real_hours, serve_history
from workstation.data.arrays import CandleArrays

CREATE = "/v5/order/create"


def push_until_an_order_is_sent(
    trader: LiveTrader, fake: StreamingFakeBybit, public: FakePublicWs, live: CandleArrays, wanted: int
) -> int:
    """Push bars until the venue has received `wanted` creates; the index of the bar that did it.
    Returns as soon as the request arrived, without waiting for the trader to finish the bar."""
    deadline = time.monotonic() + 30
    while public.live_subscribers < 1:
        assert time.monotonic() < deadline, "the trader never subscribed to the kline topic"
        time.sleep(0.05)
    for i, bar in enumerate(live.candles()):
        before = len(fake.requests_to(CREATE))
        fake.set_mark_price("BTCUSDT", str(bar.close))
        public.push_kline("BTCUSDT", "60", bar.ts, bar.open, bar.high, bar.low, bar.close, bar.volume, confirm=True)
        bar_done = time.monotonic() + 20
        while time.monotonic() < bar_done:
            if len(fake.requests_to(CREATE)) > before and before + 1 >= wanted:
                return i
            try:
                line = trader.lines.get(timeout=0.01)
            except queue.Empty:
                continue
            trader.seen.append(line)
            if line.startswith(f"BAR BTCUSDT {bar.ts} "):
                break
        else:
            raise AssertionError("bar not acted on:\n" + "\n".join(trader.seen))
    raise AssertionError(f"fewer than {wanted} orders sent:\n" + "\n".join(trader.seen))


def ledger(home: Path) -> tuple[dict[str, str], list[tuple[str, str, str, str]], list[tuple[str, str]]]:
    with sqlite3.connect(home / "state" / "ledger.sqlite") as conn:
        orders = dict(conn.execute("SELECT client_order_id, status FROM orders").fetchall())
        fills = conn.execute("SELECT exec_id, client_order_id, side, qty FROM fills").fetchall()
        positions = conn.execute("SELECT symbol, size FROM positions WHERE venue = 'bybit-testnet'").fetchall()
    return orders, fills, positions


def test_trade_testnet_when_killed_9_after_sending_orders_then_the_restart_matches_the_venue_exactly(
    tmp_path: Path, public_ws: FakePublicWs
) -> None:
    warm, live = real_hours(200, 30)
    home = tmp_path / "home"
    with StreamingFakeBybit() as fake:
        serve_history(fake, warm)
        with live_trader(home, fake, public_ws, debug=False, stream_url=fake.ws.url) as first:
            first.wait_for("READY BTCUSDT 1h")
            killed_at = push_until_an_order_is_sent(first, fake, public_ws, live, wanted=3)
            first.process.send_signal(signal.SIGKILL)
            first.finish()
        assert first.process.returncode == -signal.SIGKILL
        sent_before = len(fake.requests_to(CREATE))
        at_kill, _, _ = ledger(home)
        # Ledger first: every order that reached the venue had its row written before it was sent.
        assert {r.params["orderLinkId"] for r in fake.requests_to(CREATE)} <= set(at_kill)

        # The venue's history now runs to the bar it was killed on; the restart warms up from it.
        seen = live.take(slice(0, killed_at + 1))
        fake.set_candles("BTCUSDT", "60", rows(CandleArrays.concat([warm, seen])))
        rest = live.take(slice(killed_at + 1, killed_at + 9))
        with live_trader(
            home, fake, public_ws, "--bars", str(len(rest)), debug=False, stream_url=fake.ws.url
        ) as second:
            second.wait_for("READY BTCUSDT 1h")
            feed_bars(second, fake, public_ws, rest)
            out = second.finish()
        assert second.process.returncode == 0, out

        venue_orders = {link: o["orderStatus"] for link, o in exchange_orders(fake).items()}
        venue_execs = {e["execId"]: (e["orderLinkId"], e["side"], e["execQty"]) for e in fake.exchange.executions}
        pos = fake.exchange.position("linear", "BTCUSDT")
        venue_size = Decimal(pos["size"]) * (1 if pos["side"] == "Buy" else -1)
        created = [r.params["orderLinkId"] for r in fake.requests_to(CREATE)]

    orders, fills, positions = ledger(home)
    assert len(created) > sent_before >= 3, out  # it traded before the kill and after the restart
    assert len(set(created)) == len(created), "an order id was sent twice"
    assert {k: v for k, v in orders.items() if k in venue_orders} == venue_orders  # every venue order, its status
    assert set(venue_orders) <= set(orders)
    assert not [k for k, v in orders.items() if k not in venue_orders and v not in ("Rejected", "Denied")], orders
    ledger_execs = {exec_id: (coid, side, qty) for exec_id, coid, side, qty in fills}
    assert len(fills) == len(ledger_execs) == len(venue_execs)
    assert {k: (c, s, Decimal(q)) for k, (c, s, q) in ledger_execs.items()} == {
        k: (c, s, Decimal(q)) for k, (c, s, q) in venue_execs.items()
    }
    net = sum((Decimal(q) if s == "Buy" else -Decimal(q)) for _, _, s, q in fills)
    assert net == venue_size
    assert [(sym, Decimal(size)) for sym, size in positions] == [("BTCUSDT", venue_size)]
