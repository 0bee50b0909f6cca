"""The panels against a remote headless engine, and the controls: confirmation, outcome, WIPE."""

from __future__ import annotations

from pathlib import Path

from pytestqt.qtbot import QtBot

from tests.integration.headless_process import headless_engine
from workstation.runtime import build_runtime
from workstation.ui.controls import ControlBar
from workstation.ui.engine_link import RemoteEngine
from workstation.ui.local_engine import LocalEngine
from workstation.ui.main_window import MainWindow


def test_gui_when_attached_to_remote_engine_then_risk_shows_and_a_ws_emergency_stop_halts_it(
    qtbot: QtBot, qloop, isolated_home: Path, tmp_path: Path
) -> None:
    with headless_engine(tmp_path / "engine-home") as engine:
        link = RemoteEngine(engine.url, engine.tokens.admin)
        window = MainWindow(build_runtime(home=isolated_home, config_file=None, overrides=()), qloop, link)
        window.model.poll_s = 120  # after the first read, only events can change what is shown
        qtbot.addWidget(window)
        window.show()
        qtbot.waitUntil(lambda: window.risk_panel.state == "ACTIVE", timeout=20_000)
        qtbot.waitUntil(link.ws_connected.is_set, timeout=10_000)
        assert f"{engine.url}: connected" in window.status.venues.text()
        assert window.risk_panel.now_text("Daily loss") == "0.00%"  # the engine publishes its loss budgets
        assert "3.00%" in window.risk_panel.rows["Daily loss"][0].text()
        assert "paper: not connected" in window.balances.empty_label.text()
        assert window.badge.text() == "PAPER" and window.banner.isVisible()  # the engine is in debug mode

        events: list[dict] = []
        link.event.connect(events.append)
        stopped = engine.post("/api/bot/emergency-stop", engine.tokens.read, json={"reason": "stop from a phone"})
        assert stopped.status_code == 200, stopped.text
        qtbot.waitUntil(lambda: window.risk_panel.state == "HALTED", timeout=10_000)
        assert any(e["type"] == "TradingStateChanged" and e["state"] == "HALTED" for e in events)
        assert "stop from a phone" in window.risk_panel.reason.text()

        window.controls.buttons["Resume"].click()  # the engine refuses: the kill switch is engaged
        qtbot.waitUntil(lambda: "Resume refused" in window.controls.result.text(), timeout=10_000)
        assert "409" in window.controls.result.text() and "kill switch is engaged" in window.controls.result.text()
        window.close()
        qtbot.waitUntil(lambda: not window.model.started, timeout=20_000)  # every panel's task winds down first
        # The engine's /api/events handler waits on its queue and never notices a client that left,
        # so a graceful stop takes the full 15 s terminate timeout: end it at once instead.
        engine.process.kill()


def controls(qtbot: QtBot, home: Path) -> ControlBar:
    bar = ControlBar(LocalEngine(build_runtime(home=home, config_file=None, overrides=())))
    qtbot.addWidget(bar)
    bar.show()
    return bar


def test_cancel_orders_when_dialog_cancelled_then_nothing_runs_and_when_confirmed_then_outcome_shown(
    qtbot: QtBot, qloop, isolated_home: Path
) -> None:
    bar = controls(qtbot, isolated_home)
    bar.buttons["Cancel Orders"].click()
    assert bar.pending is not None and bar.pending.isVisible()
    bar.pending.reject()
    assert bar.result.text() == "Cancel orders: cancelled, nothing was done"

    bar.buttons["Cancel Orders"].click()
    with qtbot.waitSignal(bar.outcome, timeout=5000) as outcome:
        bar.pending.accept()
    assert outcome.args == ["Cancel Orders: no venue connected: no orders to cancel", True]
    log_text = (isolated_home / "logs" / "workstation.log").read_text()
    assert "control: Cancel Orders: no venue connected" in log_text


def test_emergency_stop_when_confirmed_with_a_reason_then_kill_switch_engaged_and_reported(
    qtbot: QtBot, qloop, isolated_home: Path
) -> None:
    bar = controls(qtbot, isolated_home)
    bar.buttons["Emergency Stop"].click()
    dialog = bar.pending
    dialog.reason.setText("")
    assert not dialog.ok_button.isEnabled()  # a reason is required
    dialog.reason.setText("flash crash")
    with qtbot.waitSignal(bar.outcome, timeout=5000) as outcome:
        dialog.ok_button.click()
    assert outcome.args[1] and "kill switch engaged" in outcome.args[0]
    assert bar.link.runtime.kill_switch.engaged


def test_wipe_data_when_word_not_typed_exactly_then_refused_and_when_typed_then_backup_made(
    qtbot: QtBot, qloop, isolated_home: Path
) -> None:
    (isolated_home / "candles.db").write_bytes(b"candles")
    bar = controls(qtbot, isolated_home)
    bar.buttons["Wipe Data"].click()
    dialog = bar.pending
    for typed in ("", "wipe", "WIP", "WIPE "):
        dialog.typed.setText(typed)
        assert not dialog.ok_button.isEnabled()
        dialog.accept()  # Enter in the field must not slip past the check either
        assert dialog.isVisible()
    dialog.typed.setText("WIPE")
    with qtbot.waitSignal(bar.outcome, timeout=5000) as outcome:
        dialog.ok_button.click()
    assert outcome.args == ["Wipe Data refused: pause the bot before wiping data", False]
    assert (isolated_home / "candles.db").exists()

    with qtbot.waitSignal(bar.outcome, timeout=5000):
        bar.buttons["Pause"].click()
    assert bar.result.text() == "Pause: paused: no new orders from strategies"
    bar.buttons["Wipe Data"].click()
    bar.pending.typed.setText("WIPE")
    with qtbot.waitSignal(bar.outcome, timeout=5000) as outcome:
        bar.pending.ok_button.click()
    text, ok = outcome.args
    assert ok and text.startswith("Wipe Data: 1 file(s) wiped; backup at ")
    assert not (isolated_home / "candles.db").exists()
    assert list((isolated_home / "backups").glob("wipe-*.zip"))
