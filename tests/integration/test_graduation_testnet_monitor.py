"""The live trader holds a TESTNET candidate to its backtest's Monte Carlo band, as the paper trader
does for a PAPER one: `workstation trade --env testnet` (a real process, debug mode off, through
pybit to the streaming fake Bybit on real BTC 1h candles) trades candidate 1 (orders `lvg1-...`), the
performance monitor gets every closed trade's return, and when the rolling mean is below the band's
low edge the allocation is cut, then the candidate is demoted TESTNET -> PAPER with the reason and
the numbers in its append-only history. With a wide band nothing happens."""

from __future__ import annotations

import json
import signal
from pathlib import Path
from typing import Any

from tests.fakes.bybit_public_ws import FakePublicWs
from tests.fakes.bybit_ws import StreamingFakeBybit
from tests.integration.cli_runner import run_cli
from tests.integration.live_trader import (
    candidate_in_testnet,
    feed_bars,
    live_trader,
    real_hours,
    serve_history,
    trade_testnet,
)

LIVE_BARS = 32
# two closed trades make a window; the first window below the band halves the size, the next demotes
MONITOR = ("risk.monitor.window_trades=2", "risk.monitor.cut_allocation_to=0.5", "risk.monitor.demote_after_breaches=2")


def monitored_candidate(home: Path, band: tuple[float, float]) -> str:
    """Candidate 1 in TESTNET with `band` as its Monte Carlo band of the mean return over 2 trades."""
    return candidate_in_testnet(home, band=band, mc_window=2)


def shown(home: Path) -> dict[str, Any]:
    result = run_cli("graduation", "show", "1", "--json", home=home)
    assert result.returncode == 0, result.stdout + result.stderr
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def test_trade_testnet_when_the_candidate_falls_below_its_band_then_cut_and_demoted_in_the_history(
    tmp_path: Path, public_ws: FakePublicWs
) -> None:
    home = tmp_path / "home"
    sid = monitored_candidate(home, band=(0.05, 0.5))  # a 5% mean per 1h trade: the real bars fall below
    out, created = trade_testnet(home, public_ws, LIVE_BARS, overrides=MONITOR, until="DEMOTED #")
    assert created and all(c.startswith("lvg1-") for c in created), created

    assert f"CANDIDATE {sid} in TESTNET: closed trades are held to its band (0.05, 0.5)" in out, out
    lines = out.splitlines()
    cut = [ln for ln in lines if ln.startswith(f"ALLOCATION {sid} -> 0.50: ")]
    zero = [ln for ln in lines if ln.startswith(f"ALLOCATION {sid} -> 0.00: ")]
    requested = [ln for ln in lines if ln.startswith(f"DEMOTION requested for {sid}: ")]
    demoted = [ln for ln in lines if ln.startswith("DEMOTED candidate 1 TESTNET -> PAPER by monitor: ")]
    assert len(cut) == 1 and "(breach 1 of 2)" in cut[0], out
    assert len(zero) == 1 and len(requested) == 1 and len(demoted) == 1, out
    assert lines.index(cut[0]) < lines.index(requested[0]) < lines.index(demoted[0])  # cut first, then demoted
    assert "below the backtest's Monte Carlo band low 5.00% (breach 2 of 2)" in demoted[0]
    # the cut sizes entries down; once demoted (allocation 0) nothing more is traded
    buys = [(i, float(ln.split()[3])) for i, ln in enumerate(lines) if ln.startswith("FILL BTCUSDT Buy ")]
    before = [q for i, q in buys if i < lines.index(cut[0])]
    after = [q for i, q in buys if lines.index(cut[0]) < i]
    assert before and after and max(after) < min(before), buys
    assert not [ln for ln in lines[lines.index(demoted[0]) :] if ln.startswith("FILL ")], out
    # it stops at once: flat already, nothing to close, no entry tried at allocation 0
    stopping = [ln for ln in lines if ln.startswith("DEMOTED #1 ")]
    assert stopping == [
        f"DEMOTED #1 {sid} TESTNET -> PAPER: {demoted[0].split(': ', 1)[1]}; closing its position and stopping"
    ], out
    assert "RISK DENIED" not in out and "rounds down" not in out, out
    done = lines[-1]
    bars_seen = sum(ln.startswith("BAR BTCUSDT ") for ln in lines)
    assert bars_seen < LIVE_BARS and done.startswith(f"DONE {bars_seen} closed candle(s) (demoted); "), out
    assert "position 0 BTCUSDT; stopped: the candidate was demoted (TESTNET -> PAPER: performance monitor: " in done
    assert lines[-2].startswith("BAR BTCUSDT ") and lines.index(stopping[0]) == len(lines) - 3, out

    data = shown(home)
    assert data["stage"] == "PAPER"
    row = data["history"][-1]
    assert (row["from"], row["to"], row["by"]) == ("TESTNET", "PAPER", "monitor"), row
    assert row["reason"].startswith("performance monitor: mean return over the last 2 trades ")
    assert row["reason"].endswith("is below the backtest's Monte Carlo band low 5.00% (breach 2 of 2)")
    assert row["metrics"]["band_low"] == 0.05
    mean = row["metrics"]["rolling_mean_return"]
    assert mean < 0.05 and f"{mean * 100:.2f}%" in row["reason"]  # the number in the reason is the recorded one
    assert [r["to"] for r in data["history"]] == ["CANDIDATE", "PAPER", "TESTNET", "PAPER"]  # appended


def test_trade_testnet_when_the_candidate_stays_inside_a_wide_band_then_it_is_not_demoted(
    tmp_path: Path, public_ws: FakePublicWs
) -> None:
    home = tmp_path / "home"
    sid = monitored_candidate(home, band=(-0.5, 0.5))
    out, created = trade_testnet(home, public_ws, LIVE_BARS, overrides=MONITOR, until="DEMOTED #")
    assert len(created) >= 3 and all(c.startswith("lvg1-") for c in created), created
    assert f"CANDIDATE {sid} in TESTNET" in out, out
    assert "ALLOCATION" not in out and "DEMOT" not in out, out
    data = shown(home)
    assert data["stage"] == "TESTNET" and len(data["history"]) == 3


def test_trade_testnet_when_restarted_then_the_monitor_carries_on_from_the_ledger_and_demotes(
    tmp_path: Path, public_ws: FakePublicWs
) -> None:
    """Two runs of 16 bars on one account: the first cuts the allocation (2 trades below the band),
    the restart reads the candidate's trades closed since it entered TESTNET from the ledger, so the
    breach count carries on and its next trade makes the second breach: demoted."""
    home = tmp_path / "home"
    sid = monitored_candidate(home, band=(0.05, 0.5))
    with StreamingFakeBybit() as fake:
        outs = []
        for warm_bars in (200, 216):  # the second run's history is the first run's plus the bars it traded
            warm, live = real_hours(warm_bars, 16)
            serve_history(fake, warm)
            with live_trader(
                home, fake, public_ws, "--bars", "16", debug=False, stream_url=fake.ws.url, overrides=MONITOR
            ) as t:
                t.wait_for("READY BTCUSDT 1h")
                feed_bars(t, fake, public_ws, live, until="DEMOTED #")
                outs.append(t.finish())
            assert t.process.returncode == 0, outs[-1]
    first, second = outs
    assert f"ALLOCATION {sid} -> 0.50: " in first and "DEMOT" not in first and "RESUME" not in first, first
    resumed = [ln for ln in second.splitlines() if ln.startswith(f"RESUME {sid}: ")]
    assert len(resumed) == 1 and "closed trade(s) on bybit-testnet since it entered TESTNET" in resumed[0], second
    assert int(resumed[0].split(": ", 1)[1].split()[0]) >= 2
    assert "DEMOTED candidate 1 TESTNET -> PAPER by monitor: " in second and "(breach 2 of 2)" in second, second
    data = shown(home)
    assert data["stage"] == "PAPER" and data["history"][-1]["by"] == "monitor"


def test_trade_testnet_when_restarted_with_a_position_open_and_the_resumed_trades_demote_then_it_closes_and_stops(
    tmp_path: Path, public_ws: FakePublicWs
) -> None:
    """Run 1 (demotion held off) makes 4 losing trades (two windows of 2) and is stopped while long. The
    restart resumes those trades: the second breach demotes the candidate at once, so its open position is closed by
    one reduce-only market order of the candidate (risk-reducing, allowed at allocation 0) and the
    trader stops without following a bar."""
    home = tmp_path / "home"
    sid = monitored_candidate(home, band=(0.05, 0.5))
    with StreamingFakeBybit() as fake:
        warm, live = real_hours(200, 2 * LIVE_BARS)
        serve_history(fake, warm)
        held_off = (*MONITOR, "risk.monitor.demote_after_breaches=100")
        with live_trader(home, fake, public_ws, debug=False, stream_url=fake.ws.url, overrides=held_off) as t:
            t.wait_for("READY BTCUSDT 1h")
            for fed in range(1, 2 * LIVE_BARS + 1):
                feed_bars(t, fake, public_ws, live.take(slice(fed - 1, fed)))
                if sum(ln.startswith("FILL BTCUSDT Sell ") for ln in t.seen) >= 4 and t.seen[-1].endswith("target 1"):
                    break
            t.process.send_signal(signal.SIGTERM)
            first = t.finish()
        assert t.process.returncode == 0, first
        held = first.splitlines()[-1].split("; position ")[1].split()[0]
        assert float(held) > 0, first  # stopped while long
        sent_before = len(fake.requests_to("/v5/order/create"))

        warm, _ = real_hours(200 + fed, 1)
        serve_history(fake, warm)
        with live_trader(home, fake, public_ws, debug=False, stream_url=fake.ws.url, overrides=MONITOR) as t:
            t.wait_for("DONE")
            second = t.finish()
        assert t.process.returncode == 0, second
        sent = [r.params for r in fake.requests_to("/v5/order/create")][sent_before:]
    assert "DEMOT" not in first, first
    lines = second.splitlines()
    (resumed,) = [ln for ln in lines if ln.startswith(f"RESUME {sid}: ")]
    assert int(resumed.split(": ", 1)[1].split()[0]) >= 4, second
    (stopping,) = [i for i, ln in enumerate(lines) if ln.startswith("DEMOTED #1 ")]
    assert lines[stopping - 1].startswith("DEMOTED candidate 1 TESTNET -> PAPER by monitor: "), second
    reason = lines[stopping - 1].split(": ", 1)[1]
    assert lines[stopping] == f"DEMOTED #1 {sid} TESTNET -> PAPER: {reason}; closing its position and stopping"
    assert [ln.split()[:4] for ln in lines[stopping:] if ln.startswith("FILL ")] == [["FILL", "BTCUSDT", "Sell", held]]
    assert len(sent) == 1 and sent[0]["orderLinkId"].startswith("lvg1-"), sent
    assert str(sent[0].get("reduceOnly")).lower() == "true" and sent[0]["side"] == "Sell", sent
    assert "READY" not in second and "RISK DENIED" not in second, second
    assert lines[-1].startswith("DONE 0 closed candle(s) (demoted); 1 order(s) sent, 0 refused, 0 denial(s), 1 fill(s)")
    assert "position 0 BTCUSDT; stopped: the candidate was demoted (TESTNET -> PAPER: " in lines[-1], second
    assert shown(home)["stage"] == "PAPER"
