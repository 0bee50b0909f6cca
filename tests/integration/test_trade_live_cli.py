"""`workstation trade --env testnet` as a real process: warm-up from the venue's klines, then real
BTC 1h candles one confirmed bar at a time over the public WebSocket, orders through the risk
manager, the SafetyGate and pybit to the fake Bybit."""

from __future__ import annotations

import json
import signal
from pathlib import Path

from tests.fakes.bybit_public_ws import FakePublicWs
from tests.fakes.bybit_server import FakeBybit
from tests.fakes.bybit_ws import StreamingFakeBybit
from tests.integration.cli_runner import run_cli
from tests.integration.live_trader import feed_bars, live_trader, real_hours, serve_history

LIVE_BARS = 24


def test_trade_testnet_when_debug_mode_on_with_keys_configured_then_zero_orders_reach_the_venue_and_each_denial_is_shown(
    tmp_path: Path, fake_bybit: FakeBybit, public_ws: FakePublicWs
) -> None:
    warm, live = real_hours(200, LIVE_BARS)
    serve_history(fake_bybit, warm)
    home = tmp_path / "home"
    with live_trader(home, fake_bybit, public_ws, "--bars", str(LIVE_BARS), debug=True) as trader:
        trader.wait_for("READY BTCUSDT 1h")
        feed_bars(trader, fake_bybit, public_ws, live)
        out = trader.finish()
    assert trader.process.returncode == 0, out
    assert "debug mode ON" in out and "WARM 200 closed 1h bar(s)" in out
    assert f"DONE {LIVE_BARS} closed candle(s) (bars)" in out
    assert fake_bybit.mutating_requests() == []
    assert not [r for r in fake_bybit.requests if r.has_auth], "debug mode must never load (or sign with) a key"
    denials = [line for line in out.splitlines() if line.startswith("DENIED place_order BTCUSDT lv-")]
    assert len(denials) >= 3, out  # the strategy wanted to trade again and again
    assert all("debug mode is on" in line for line in denials)
    orders = json.loads(run_cli("orders", "--json", home=home).stdout)["orders"]
    assert {o["status"] for o in orders} == {"Denied"} and {o["venue"] for o in orders} == {"bybit-testnet"}
    assert sorted(o["client_order_id"] for o in orders) == sorted(line.split()[3].rstrip(":") for line in denials)


def test_trade_testnet_when_debug_mode_off_then_orders_reach_the_venue_and_orders_shows_their_fills(
    tmp_path: Path, public_ws: FakePublicWs
) -> None:
    warm, live = real_hours(200, LIVE_BARS)
    home = tmp_path / "home"
    with StreamingFakeBybit() as fake:
        serve_history(fake, warm)
        with live_trader(
            home, fake, public_ws, "--bars", str(LIVE_BARS), debug=False, stream_url=fake.ws.url
        ) as trader:
            trader.wait_for("READY BTCUSDT 1h")
            feed_bars(trader, fake, public_ws, live)
            out = trader.finish()
        assert trader.process.returncode == 0, out
        created = [r.params["orderLinkId"] for r in fake.requests_to("/v5/order/create")]
    assert "debug mode OFF" in out and "DENIED" not in out
    assert len(created) >= 3, out
    orders = json.loads(run_cli("orders", "--json", home=home).stdout)["orders"]
    assert sorted(o["client_order_id"] for o in orders) == sorted(set(created))
    assert {o["status"] for o in orders} == {"Filled"}
    assert all(o["fills"] and o["fills"][0]["exec_id"] for o in orders)
    assert out.count("FILL BTCUSDT") == sum(len(o["fills"]) for o in orders)


def test_trade_testnet_when_sigterm_then_it_stops_cleanly(
    tmp_path: Path, fake_bybit: FakeBybit, public_ws: FakePublicWs
) -> None:
    warm, live = real_hours(50, 3)
    serve_history(fake_bybit, warm)
    with live_trader(tmp_path / "home", fake_bybit, public_ws, debug=True) as trader:
        trader.wait_for("READY BTCUSDT 1h")
        feed_bars(trader, fake_bybit, public_ws, live)
        public_ws.push_kline("BTCUSDT", "60", int(live.ts[-1]), 1, 1, 1, 1, 1, confirm=True)  # a repeat
        trader.wait_for(f"SKIP bar {int(live.ts[-1])}")
        trader.process.send_signal(signal.SIGTERM)
        out = trader.finish()
    assert trader.process.returncode == 0, out
    assert "DONE 3 closed candle(s) (signal); " in out and "1 duplicate bar(s) skipped" in out
