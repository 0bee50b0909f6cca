"""The Risk panel during and after a GUI paper replay shows the paper account's own risk state
(<home>/state/paper/risk.json, as the replay's risk engine sees it), never the live account's."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from pytestqt.qtbot import QtBot

from workstation.core.clock import SystemClock
from workstation.risk.limits import RiskLimits
from workstation.risk.state import RiskStateStore
from workstation.runtime import build_runtime
from workstation.ui.main_window import MainWindow


def test_risk_panel_when_a_paper_replay_runs_then_it_shows_the_paper_accounts_state(
    qtbot: QtBot, qloop, isolated_home: Path
) -> None:
    rt = build_runtime(home=isolated_home, config_file=None, overrides=("debug_mode=false",))
    live = RiskStateStore(rt.state_dir / "risk.json", kill_switch=rt.kill_switch)
    RiskLimits(rt.settings.risk, live, SystemClock()).on_equity(Decimal("123.45"))  # the live account's
    win = MainWindow(rt, qloop)
    win.save_layout = False
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win.chart.data is not None, timeout=20_000)
    panel, risk = win.paper_panel, win.risk_panel
    qtbot.waitUntil(lambda: risk.account.text() == "Account: paper account", timeout=10_000)
    panel.speed_box.setValue(0)
    panel.start_button.click()
    qtbot.waitUntil(lambda: panel.counts["fills"] >= 2 or not panel.running, timeout=30_000)
    assert panel.running, panel.status.text()
    win.model.refresh("risk")
    qtbot.waitUntil(lambda: "last equity" in risk.flags.text(), timeout=10_000)  # during the replay
    assert risk.account.text() == "Account: paper account" and "123.45" not in risk.flags.text()

    with qtbot.waitSignal(panel.finished, timeout=10_000):
        panel.stop_button.click()
    session = panel.session
    assert session is not None and session.risk is not None
    engine = session.risk.engine  # the replay's own risk engine, on the replay's clock
    usage, book = engine.limits.usage(), engine.limits.store.book
    assert book.last_equity is not None
    daily, equity = f"{float(usage.daily_loss):.2%}", f"last equity {float(book.last_equity):,.2f}"
    win.model.refresh("risk")
    qtbot.waitUntil(lambda: equity in risk.flags.text() and risk.now_text("Daily loss") == daily, timeout=10_000)
    assert risk.state == engine.limits.store.view().state.value
    assert risk.bar("Daily loss").value() == min(100, round(float(usage.daily_used) * 100))
    assert "123.45" not in risk.flags.text()
    win.close()
