"""Graduation panel: demote and retire with a reason, refused where the pipeline refuses."""

from __future__ import annotations

from pathlib import Path

from pytestqt.qtbot import QtBot

from tests.gui.test_lab_settings_graduation import queue_testnet_candidate, runtime
from workstation.api.graduation_view import graduation_snapshot
from workstation.ui.local_engine import LocalEngine
from workstation.ui.panels.graduation import GraduationPanel


def move(qtbot: QtBot, panel: GraduationPanel, button, reason: str) -> tuple[str, bool]:
    button.click()
    dialog = panel.pending
    assert dialog is not None and not dialog.ok_button.isEnabled()  # no reason, no move
    dialog.reason.setText(reason)
    with qtbot.waitSignal(panel.outcome, timeout=10_000) as outcome:
        dialog.ok_button.click()
    return outcome.args[0], outcome.args[1]


def test_graduation_panel_when_demoted_then_retired_then_history_has_reasons_and_buttons_refuse(
    qtbot: QtBot, qloop, isolated_home: Path
) -> None:
    rt = runtime(isolated_home)
    cid = queue_testnet_candidate(rt)
    link = LocalEngine(rt)
    panel = GraduationPanel(link)
    qtbot.addWidget(panel)
    panel.show()
    panel.show_queue(graduation_snapshot(rt))
    assert panel.selected_id() == cid
    assert panel.demote_button.isEnabled() and panel.retire_button.isEnabled()  # in debug mode too: safe moves

    text, ok = move(qtbot, panel, panel.demote_button, "slippage above the testnet budget")
    assert ok and "demoted to PAPER" in text
    panel.show_queue(graduation_snapshot(rt))
    text, ok = move(qtbot, panel, panel.demote_button, "edge gone")
    assert ok and "CANDIDATE" in text
    panel.show_queue(graduation_snapshot(rt))
    assert not panel.demote_button.isEnabled() and "no stage below" in panel.demote_button.toolTip()

    panel._send_move("demote", cid, "asked anyway")  # the pipeline itself refuses too
    with qtbot.waitSignal(panel.outcome, timeout=10_000) as refused:
        pass
    assert refused.args[1] is False and "no stage below" in refused.args[0]

    text, ok = move(qtbot, panel, panel.retire_button, "superseded by a better variant")
    assert ok and "retired" in text
    snap = graduation_snapshot(rt)
    panel.show_queue(snap)
    (cand,) = snap["candidates"]
    assert cand["stage"] == "RETIRED"
    reasons = [h["reason"] for h in cand["history"]]
    assert {"slippage above the testnet budget", "edge gone", "superseded by a better variant"} <= set(reasons)
    assert not panel.retire_button.isEnabled() and "already RETIRED" in panel.retire_button.toolTip()
    assert "superseded by a better variant" in panel.details.toPlainText()
