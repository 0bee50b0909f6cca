"""Paper replay from the GUI: strategy picker + Start/Stop on the shipped sample; fills reach the
order/trade panels and the chart; in debug mode every order is denied and shown."""

from __future__ import annotations

from pathlib import Path

from pytestqt.qtbot import QtBot

from workstation.runtime import build_runtime
from workstation.ui.main_window import MainWindow


def window(qtbot: QtBot, qloop, home: Path, *overrides: str) -> MainWindow:
    win = MainWindow(build_runtime(home=home, config_file=None, overrides=overrides), qloop)
    win.save_layout = False
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win.chart.data is not None, timeout=20_000)
    return win


def test_paper_replay_when_started_from_the_gui_then_fills_show_in_panels_and_chart(
    qtbot: QtBot, qloop, isolated_home: Path
) -> None:
    win = window(qtbot, qloop, isolated_home, "debug_mode=false")
    panel = win.paper_panel
    panel.strategy_box.setCurrentText("sma_cross")
    panel.speed_box.setValue(0)  # as fast as possible
    panel.start_button.click()
    assert panel.running and not panel.start_button.isEnabled() and panel.stop_button.isEnabled()
    qtbot.waitUntil(lambda: panel.counts["fills"] >= 2 or not panel.running, timeout=30_000)
    assert panel.running, panel.status.text()
    qtbot.waitUntil(lambda: len(win.chart.trade_markers.data) >= 2, timeout=5_000)  # fill markers
    qtbot.waitUntil(lambda: win.orders.model.rowCount() >= 1, timeout=10_000)  # through the engine's reads
    with qtbot.waitSignal(panel.finished, timeout=10_000) as finished:
        panel.stop_button.click()
    assert "Replay stopped" in finished.args[0] and "fill(s)" in finished.args[0]
    assert panel.start_button.isEnabled() and not panel.stop_button.isEnabled()
    # connected to the replay's account: an empty table means flat, not "no venue"
    assert win.positions.empty_label.text() == "No open positions."
    assert win.trades.empty_label.text() == "No trades yet."
    win.close()


def test_paper_replay_when_debug_mode_on_then_it_runs_and_every_order_is_denied(
    qtbot: QtBot, qloop, isolated_home: Path
) -> None:
    win = window(qtbot, qloop, isolated_home)
    panel = win.paper_panel
    assert "every order is DENIED" in panel.status.text()
    panel.speed_box.setValue(0)
    panel.start()
    qtbot.waitUntil(lambda: panel.counts["denied"] >= 1 or not panel.running, timeout=30_000)
    assert panel.running, panel.status.text()
    with qtbot.waitSignal(panel.finished, timeout=10_000):
        panel.stop()
    assert panel.counts["fills"] == 0
    win.close()


def stop_and_settle(qtbot: QtBot, panel) -> str:
    """Stop the replay; wait for its outcome and for the ledger to pull the fills the stop left."""
    with qtbot.waitSignal(panel.finished, timeout=10_000) as finished:
        panel.stop_button.click()
    qtbot.waitUntil(lambda: panel._reconcile is not None and panel._reconcile.done(), timeout=10_000)
    return str(finished.args[0])


def test_paper_replay_when_run_twice_then_the_account_persists_and_the_second_resumes_without_duplicates(
    qtbot: QtBot, qloop, isolated_home: Path
) -> None:
    from workstation.paper.store import journal_path, read_paper

    win = window(qtbot, qloop, isolated_home, "debug_mode=false")
    panel = win.paper_panel
    assert panel.risk_box.isChecked()  # sized and limited by the risk manager, as the CLI trades
    panel.speed_box.setValue(0)
    panel.start_button.click()
    qtbot.waitUntil(lambda: panel.counts["fills"] >= 2 or not panel.running, timeout=30_000)
    assert panel.running, panel.status.text()
    assert panel.session is not None and not panel.session.restored and panel.session.risk is not None
    first = stop_and_settle(qtbot, panel)
    assert "Replay stopped" in first and "resumed" not in first
    decisions = sum(panel.counts[k] for k in ("risk_sized", "risk_reduced", "risk_denied"))
    assert decisions >= 1 and f"{panel.counts['risk_sized']} sized" in panel.risk_label.text()
    assert panel.risk_list.count() == min(decisions, 200)  # newest first, each with its reason
    last_candle = panel.session.last_candle_ms()
    first_fills = [f.exec_id for f in panel.session.paper.account.fills]
    assert last_candle is not None and len(first_fills) >= 2

    saved = read_paper(isolated_home)  # what a restart (or `workstation positions`) would restore
    assert journal_path(isolated_home).stat().st_size > 0
    assert saved is not None and [f.exec_id for f in saved.account.fills] == first_fills

    panel.start_button.click()  # the same home's account again: restored, resumed after its last candle
    qtbot.waitUntil(lambda: panel.counts["fills"] >= 2 or not panel.running, timeout=30_000)
    assert panel.running, panel.status.text()
    session = panel.session
    assert session is not None and session.restored and panel.resumed_after == last_candle
    second = stop_and_settle(qtbot, panel)
    assert "resumed after" in second

    fills = session.paper.account.fills
    ids = [f.exec_id for f in fills]
    assert ids[: len(first_fills)] == first_fills and len(set(ids)) == len(ids) > len(first_fills)
    assert all(f.ts > last_candle for f in fills[len(first_fills) :])  # no candle traded twice
    ledger_ids = [f.exec_id for f in session.kernel.ledger.fills()]
    assert sorted(ledger_ids) == sorted(ids)  # each venue fill once in the ledger, none lost
    win.close()
