"""The Risk panel shows balance building (risk.growth) from /api/risk's growth summary: the paper
equity in AUD at the configured rate with the next milestone, or, with no rate, that sizing is
refused (in red, since every entry is then denied)."""

from __future__ import annotations

from pathlib import Path

from pytestqt.qtbot import QtBot

from tests.integration.test_risk_account import REPLAY_DAY_MS, record_equity
from workstation.core.clock import ManualClock
from workstation.paper.risk_path import paper_risk_path
from workstation.runtime import build_runtime
from workstation.ui.main_window import MainWindow
from workstation.ui.panels.risk import STATE_COLORS

FIXED_RATE = "risk.growth.rate={kind: fixed, rate: 1.6, as_of: 2022-12-01, max_age_days: 3650}"


def open_window(qtbot: QtBot, qloop, home: Path, *overrides: str) -> MainWindow:
    rt = build_runtime(home=home, config_file=None, overrides=("debug_mode=false", *overrides))
    record_equity(rt, paper_risk_path(home), ManualClock(REPLAY_DAY_MS), "10000", "9790")
    win = MainWindow(rt, qloop)
    win.save_layout = False
    qtbot.addWidget(win)
    win.show()
    return win


def test_risk_panel_when_growth_is_on_with_a_rate_then_it_shows_equity_in_aud_and_the_milestone(
    qtbot: QtBot, qloop, isolated_home: Path
) -> None:
    win = open_window(qtbot, qloop, isolated_home, "risk.growth.enabled=true", FIXED_RATE)
    growth = win.risk_panel.growth
    qtbot.waitUntil(lambda: growth.text().startswith("Balance building: equity"), timeout=20_000)
    text = growth.text()
    assert text.startswith("Balance building: equity 15664.00 AUD (rate 1.6 from fixed USDT->AUD rate of 2022-12-01)")
    assert "next milestone" in text and "risk per trade" in text
    assert STATE_COLORS["HALTED"] not in growth.styleSheet()
    win.close()


def test_risk_panel_when_growth_is_on_without_a_rate_then_it_shows_sizing_refused_in_red(
    qtbot: QtBot, qloop, isolated_home: Path
) -> None:
    win = open_window(qtbot, qloop, isolated_home, "risk.growth.enabled=true", "risk.growth.rate=null")
    growth = win.risk_panel.growth
    qtbot.waitUntil(lambda: growth.text().startswith("Balance building: SIZING REFUSED"), timeout=20_000)
    assert "no USDT to AUD rate is configured" in growth.text()
    assert STATE_COLORS["HALTED"] in growth.styleSheet()
    win.close()
