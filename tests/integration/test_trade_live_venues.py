"""`workstation trade --env demo|mainnet` as a real process against the fake Bybit (REST and private
WebSocket) and the fake public WebSocket, as the testnet tests run it: keys from the venue's
WORKSTATION_BYBIT_<VENUE>_API_KEY/_SECRET, real BTC 1h candles one confirmed bar at a time.

Mainnet is refused, with no order request reaching the venue, while debug mode is on, without
--confirm-mainnet, and when `workstation doctor --confirm-mainnet` fails (here: a key that can
withdraw). With all three met, a LIVE graduation candidate trades under its id (`lvg1-`), its bars
are stored under market-data venue "bybit", and `graduation report 1 --json` backtests them.
Demo trading reads mainnet market data: its bars are stored under "bybit" too."""

from __future__ import annotations

import json
from contextlib import AbstractContextManager
from pathlib import Path

from tests.fakes.bybit_public_ws import FakePublicWs
from tests.fakes.bybit_server import FakeBybit
from tests.fakes.bybit_ws import StreamingFakeBybit
from tests.integration.cli_runner import run_cli
from tests.integration.live_trader import LiveTrader, feed_bars, real_hours, running_workstation, serve_history
from tests.integration.test_graduation_live_ledger import candidate_live
from tests.integration.test_graduation_testnet_report import feed_on_bar_clock
from workstation.data.arrays import CandleArrays
from workstation.data.store import CandleStore

KEY = "VENUETRADERKEY000001"
SECRET = "VENUETRADERSECRET0000000000000000000001"
ENVS = {"demo": "bybit-demo", "mainnet": "bybit-mainnet"}
STRATEGY = ("--strategy", "sma_cross", "--param", "fast=2", "--param", "slow=3")
LIVE_BARS = 24


def key_env(env: str) -> dict[str, str]:
    stem = "WORKSTATION_" + ENVS[env].upper().replace("-", "_")
    return {f"{stem}_API_KEY": KEY, f"{stem}_API_SECRET": SECRET}


def settings(env: str, fake: FakeBybit, *, debug: bool, public_url: str = "", stream_url: str = "") -> list[str]:
    sets = {
        "debug_mode": "true" if debug else "false",
        "trading.allowed_venues": f"[paper, {ENVS[env]}]",
        "exchanges.bybit.base_url": fake.base_url,
        "exchanges.bybit.public_stream_url": public_url,
        "exchanges.bybit.stream_url": stream_url,
    }
    return [arg for k, v in sets.items() if v for arg in ("--set", f"{k}={v}")]


def trade_command(env: str, fake: FakeBybit, *args: str, debug: bool, public: str = "", stream: str = "") -> list[str]:
    sets = settings(env, fake, debug=debug, public_url=public, stream_url=stream)
    return [*sets, "trade", *STRATEGY, "--symbol", "BTCUSDT", "--interval", "1h", "--env", env, *args]


def venue_trader(home: Path, env: str, command: list[str]) -> AbstractContextManager[LiveTrader]:
    """`workstation <command>` running with the venue's keys (live_trader.running_workstation)."""
    return running_workstation(home, command, key_env(env))


def stored_bars(home: Path, venue: str) -> CandleArrays:
    with CandleStore.open(home / "candles.db") as store:
        return store.read(venue, "BTCUSDT", "1h")


def refused(home: Path, fake: FakeBybit, *args: str, debug: bool) -> str:
    done = run_cli(*trade_command("mainnet", fake, *args, debug=debug), home=home, env=key_env("mainnet"))
    assert done.returncode == 1, done.stdout + done.stderr
    assert not fake.requests_to("/v5/order"), "a refused mainnet run must send no order request"
    assert fake.mutating_requests() == []
    return done.stdout + done.stderr


def test_trade_mainnet_when_debug_mode_on_then_refused_and_no_request_reaches_the_venue(
    tmp_path: Path, fake_bybit: FakeBybit
) -> None:
    fake_bybit.add_key(KEY, SECRET, ips=["203.0.113.7"])
    out = refused(tmp_path / "home", fake_bybit, "--confirm-mainnet", debug=True)
    assert "mainnet refused: debug mode is on" in out
    assert fake_bybit.requests == []  # refused before any connection


def test_trade_mainnet_when_not_confirmed_then_refused_and_no_request_reaches_the_venue(
    tmp_path: Path, fake_bybit: FakeBybit
) -> None:
    fake_bybit.add_key(KEY, SECRET, ips=["203.0.113.7"])
    out = refused(tmp_path / "home", fake_bybit, debug=False)
    assert "mainnet refused: pass --confirm-mainnet" in out
    assert fake_bybit.requests == []


def test_trade_mainnet_when_the_key_can_withdraw_then_the_doctor_fails_and_no_order_reaches_the_venue(
    tmp_path: Path, fake_bybit: FakeBybit
) -> None:
    fake_bybit.add_key(KEY, SECRET, permissions={"Wallet": ["AccountTransfer", "Withdraw"]}, ips=["203.0.113.7"])
    out = refused(tmp_path / "home", fake_bybit, "--confirm-mainnet", debug=False)
    assert "WITHDRAW" in out and "mainnet refused: `workstation doctor --confirm-mainnet` did not pass" in out
    assert fake_bybit.requests_to("/v5/user/query-api")  # the doctor asked the venue
    assert "READY" not in out and "WARM" not in out


def test_trade_mainnet_when_debug_off_confirmed_and_doctor_passes_then_the_live_candidate_trades_and_is_reported(
    tmp_path: Path, public_ws: FakePublicWs
) -> None:
    home = tmp_path / "home"
    candidate_live(home)
    warm, live = real_hours(200, LIVE_BARS)
    with StreamingFakeBybit() as fake:
        serve_history(fake, warm)
        fake.add_key(KEY, SECRET, ips=["203.0.113.7"])  # trade-only, IP-bound: the doctor passes
        command = trade_command(
            "mainnet", fake, "--confirm-mainnet", "--bars", str(LIVE_BARS),
            debug=False, public=public_ws.url, stream=fake.ws.url,
        )  # fmt: skip
        with venue_trader(home, "mainnet", command) as trader:
            trader.wait_for("READY BTCUSDT 1h", timeout_s=60)
            feed_on_bar_clock(trader, fake, public_ws, live)
            out = trader.finish()
        assert trader.process.returncode == 0, out
        assert fake.requests_to("/v5/user/query-api")  # the doctor ran against the venue first
        created = [r.params["orderLinkId"] for r in fake.requests_to("/v5/order/create")]
    assert "preflight passed" in out and "trading as graduation candidate #1 (LIVE)" in out
    assert "on bybit-mainnet" in out and "debug mode OFF" in out and "DENIED" not in out
    assert len(created) >= 3 and all(c.startswith("lvg1-") for c in created), created
    assert f"DONE {LIVE_BARS} closed candle(s) (bars); {len(created)} order(s) sent" in out
    assert f"{out.count('FILL BTCUSDT')} fill(s)" in out  # the last bar's fill too (synced before counting)
    assert stored_bars(home, "bybit").ts.tolist() == CandleArrays.concat([warm, live]).ts.tolist()
    assert len(stored_bars(home, "bybit-testnet")) == 0

    orders = json.loads(run_cli("orders", "--json", home=home).stdout)["orders"]
    assert {o["venue"] for o in orders} == {"bybit-mainnet"} and {o["status"] for o in orders} == {"Filled"}
    report = run_cli("graduation", "report", "1", "--json", home=home)
    assert report.returncode == 0, report.stdout + report.stderr
    data = json.loads(report.stdout)
    assert data["venue"] == "bybit-mainnet" and data["market_venue"] == "bybit"
    assert data["backtest"] is True and data["totals"]["matched"] > 0, data["trades"]


def test_trade_demo_when_debug_off_then_orders_reach_the_venue_and_its_bars_are_stored_under_bybit(
    tmp_path: Path, public_ws: FakePublicWs
) -> None:
    home = tmp_path / "home"
    warm, live = real_hours(200, LIVE_BARS)
    with StreamingFakeBybit() as fake:
        serve_history(fake, warm)
        fake.add_key(KEY, SECRET)
        command = trade_command(
            "demo", fake, "--bars", str(LIVE_BARS), debug=False, public=public_ws.url, stream=fake.ws.url
        )
        with venue_trader(home, "demo", command) as trader:
            trader.wait_for("READY BTCUSDT 1h")
            feed_bars(trader, fake, public_ws, live)
            out = trader.finish()
        assert trader.process.returncode == 0, out
        created = [r.params["orderLinkId"] for r in fake.requests_to("/v5/order/create")]
        assert all(r.has_auth for r in fake.requests_to("/v5/order/create"))
    assert "on bybit-demo" in out and "debug mode OFF" in out and "DENIED" not in out
    assert len(created) >= 3 and all(c.startswith("lv-") for c in created), created  # demo has no stage
    assert f"DONE {LIVE_BARS} closed candle(s) (bars); {len(created)} order(s) sent" in out
    assert f"{out.count('FILL BTCUSDT')} fill(s)" in out
    assert stored_bars(home, "bybit").ts.tolist() == CandleArrays.concat([warm, live]).ts.tolist()
    orders = json.loads(run_cli("orders", "--json", home=home).stdout)["orders"]
    assert sorted(o["client_order_id"] for o in orders) == sorted(set(created))
    assert {o["venue"] for o in orders} == {"bybit-demo"} and {o["status"] for o in orders} == {"Filled"}
