"""`workstation control` reaches a running live trader (`trade --env testnet`, a real process, debug
mode off, pybit to the streaming fake Bybit): the trader holds the home's trader lock, so control
asks it through the control file instead of acting on the paper account, and it answers between
bars (an hour-long bar does not delay an emergency stop). A second trader on the same home is
refused before it connects."""

from __future__ import annotations

from pathlib import Path

from tests.fakes.bybit_public_ws import FakePublicWs
from tests.fakes.bybit_ws import StreamingFakeBybit
from tests.integration.cli_runner import run_cli
from tests.integration.live_trader import KEY_ENV, feed_bars, live_trader, real_hours, serve_history

LIVE_BARS = 24


def test_emergency_stop_when_a_live_trader_holds_a_position_then_it_flattens_between_bars_and_enters_no_more(
    tmp_path: Path, public_ws: FakePublicWs
) -> None:
    home = tmp_path / "home"
    warm, live = real_hours(200, LIVE_BARS)
    with StreamingFakeBybit() as fake:
        serve_history(fake, warm)
        with live_trader(home, fake, public_ws, "--bars", str(LIVE_BARS), debug=False, stream_url=fake.ws.url) as t:
            t.wait_for("READY BTCUSDT 1h")
            fed = feed_bars(t, fake, public_ws, live, until="FILL BTCUSDT Buy")
            entries = len(fake.requests_to("/v5/order/create"))

            second = run_cli(
                "--set", "debug_mode=false", "--set", f"exchanges.bybit.base_url={fake.base_url}",
                "trade", "--strategy", "sma_cross", "--symbol", "BTCUSDT", "--interval", "1h", "--env", "testnet",
                home=home, env=KEY_ENV,
            )  # fmt: skip
            assert second.returncode == 1 and "another `workstation trade` is running" in second.stderr, second
            stopped = run_cli("control", "emergency-stop", "--flatten", "--reason", "drill", home=home)
            assert stopped.returncode == 0, stopped.stdout + stopped.stderr
            assert "emergency-stop (running trader): kill switch engaged" in stopped.stdout, stopped.stdout
            assert "1 position(s) closed" in stopped.stdout
            t.wait_for("CONTROL emergency-stop: kill switch engaged")
            closing = [r.params for r in fake.requests_to("/v5/order/create")][entries:]
            assert [(c["side"], c.get("reduceOnly")) for c in closing] == [("Sell", True)], closing

            feed_bars(t, fake, public_ws, live.take(slice(fed, None)))
            out = t.finish()
        assert t.process.returncode == 0, out
        after = [r.params for r in fake.requests_to("/v5/order/create")][entries + 1 :]
    assert all(p.get("reduceOnly") for p in after), after  # no new entry once the kill switch is on
    assert "kill switch is engaged" in out  # the strategy's later entries were denied at the gate, and said


def test_control_when_the_running_traders_action_fails_at_the_venue_then_the_cli_says_why_and_exits_1(
    tmp_path: Path, public_ws: FakePublicWs
) -> None:
    home = tmp_path / "home"
    warm, live = real_hours(200, 2)
    with StreamingFakeBybit() as fake:
        serve_history(fake, warm)
        with live_trader(home, fake, public_ws, "--bars", "2", debug=False, stream_url=fake.ws.url) as t:
            t.wait_for("READY BTCUSDT 1h")
            fake.fail_next("/v5/order/cancel-all", 10001, "params error: injected", times=5)
            asked = run_cli("control", "cancel-all", "--wait", "30", home=home)
            assert asked.returncode == 1, asked.stdout + asked.stderr
            assert "cancel-all (running trader): failed:" in asked.stderr, asked.stderr
            assert "no answer" not in asked.stderr  # answered at once, not after the wait
            t.wait_for("CONTROL cancel-all: failed:")
            feed_bars(t, fake, public_ws, live)
            out = t.finish()
        assert t.process.returncode == 0, out  # the trader goes on after a failed control action
