"""The graduation queue: each candidate with its stage, the criteria for the next stage and its
progress on each, the evidence and the history; LIVE approval (disabled, with the reason, while
debug mode is on); demote and retire, each with a reason, refused where the pipeline refuses."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from workstation.strategies.base import format_params
from workstation.ui.controls import ConfirmDialog
from workstation.ui.engine_link import EngineLink
from workstation.ui.engine_model import spawn
from workstation.ui.table import Column, RecordTable
from workstation.ui.theme import MUTED

log = logging.getLogger(__name__)

EMPTY = "No candidates yet: send one from the backtest lab or `workstation graduation add`."
DEBUG_REASON = "LIVE approval is disabled: debug mode is on (config/debug.yaml); nothing goes LIVE while it is."


def _date(ms: Any) -> str:
    return dt.datetime.fromtimestamp(int(ms or 0) / 1000, tz=dt.UTC).strftime("%Y-%m-%d %H:%M")


COLUMNS = (
    Column("id", "#", numeric=True),
    Column("strategy_id", "Strategy"),
    Column("stage", "Stage"),
    Column("next_stage", "Next"),
    Column("stage_since_ms", "Since (UTC)", fmt=_date),
)


BELOW = {"PAPER": "CANDIDATE", "TESTNET": "PAPER", "LIVE": "TESTNET"}


def move_refusal(action: str, cand: dict[str, Any] | None, remote: bool) -> str | None:
    """Why demote/retire cannot be done (the pipeline's own rules), or None."""
    if cand is None:
        return "Select a candidate."
    if remote:
        return f"{action.capitalize()} on the machine that holds the graduation queue."
    if action == "retire" and cand["stage"] == "RETIRED":
        return f"Candidate {cand['id']} is already RETIRED."
    if action == "demote" and cand["stage"] not in BELOW:
        return f"Candidate {cand['id']} is {cand['stage']}: there is no stage below."
    return None


def _num(value: Any, pct: bool = False) -> str:
    if value is None:
        return "unknown"
    return f"{value:.2%}" if pct else f"{value:,.4g}"


class GraduationPanel(QWidget):
    outcome = Signal(str, bool)

    def __init__(self, link: EngineLink, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.link = link
        self.debug_mode = True  # until the engine says otherwise: the safe assumption
        self.candidates: dict[int, dict[str, Any]] = {}
        self.pending: ConfirmDialog | None = None
        self.table = RecordTable(COLUMNS, lambda c: c["id"], EMPTY)
        self.table.view.selectionModel().selectionChanged.connect(self._on_selection)
        self.title = QLabel("Select a candidate")
        self.title.setStyleSheet("font-weight: 700; font-size: 14px;")
        self.criteria_box = QGridLayout()
        self.criteria_box.setColumnStretch(2, 1)
        self.details = QPlainTextEdit()
        self.details.setReadOnly(True)
        self.approve_button = QPushButton("Approve TESTNET → LIVE…")
        self.approve_button.clicked.connect(self.approve)
        self.demote_button = QPushButton("Demote…")
        self.demote_button.clicked.connect(lambda: self.ask_move("demote"))
        self.retire_button = QPushButton("Retire…")
        self.retire_button.clicked.connect(lambda: self.ask_move("retire"))
        self.approve_reason = QLabel("")
        self.approve_reason.setWordWrap(True)
        self.approve_reason.setStyleSheet(f"color: {MUTED};")

        right = QWidget()
        side = QVBoxLayout(right)
        side.setContentsMargins(8, 0, 0, 0)
        side.addWidget(self.title)
        side.addLayout(self.criteria_box)
        side.addWidget(self.details, 1)
        actions = QHBoxLayout()
        actions.addWidget(self.approve_button)
        actions.addWidget(self.demote_button)
        actions.addWidget(self.retire_button)
        actions.addWidget(self.approve_reason, 1)
        side.addLayout(actions)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.table)
        splitter.addWidget(right)
        splitter.setSizes([420, 600])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(splitter)
        self._sync_approve()

    # --- data ---------------------------------------------------------------------------------
    def set_debug_mode(self, on: bool) -> None:
        self.debug_mode = on
        self._sync_approve()

    def show_queue(self, data: dict[str, Any]) -> None:
        if not data.get("available", False):
            self.table.set_empty_message(
                "This engine does not publish its graduation queue: open the desktop app on the machine that "
                "holds it, or use `workstation graduation list` there."
            )
            self.table.model.set_rows([])
            return
        self.table.set_empty_message(EMPTY)
        selected = self.selected_id()
        rows = data.get("candidates", [])
        self.candidates = {c["id"]: c for c in rows}
        self.table.model.set_rows(rows)
        if selected in self.candidates:
            self.select(selected)
        elif rows:
            self.select(rows[0]["id"])
        self._show_selected()

    def select(self, candidate_id: int) -> None:
        ids = [r["id"] for r in self.table.model.rows()]
        if candidate_id in ids:
            proxy = self.table.view.model()
            source = self.table.model.index(ids.index(candidate_id), 0)
            self.table.view.selectRow(proxy.mapFromSource(source).row())

    def selected_id(self) -> int | None:
        rows = self.table.view.selectionModel().selectedRows()
        if not rows:
            return None
        proxy = self.table.view.model()
        row = self.table.model.rows()[proxy.mapToSource(rows[0]).row()]
        return int(row["id"])

    def _on_selection(self, *_: object) -> None:
        self._show_selected()

    def _show_selected(self) -> None:
        cand = self.candidates.get(self.selected_id() or -1)
        self._fill_criteria(cand)
        self._sync_approve()
        if cand is None:
            self.title.setText("Select a candidate")
            self.details.setPlainText("")
            return
        nxt = cand["next_stage"] or "-"
        self.title.setText(f"#{cand['id']} {cand['strategy_id']}: {cand['stage']} → {nxt}")
        ev = cand["evidence"]
        bt = ev["backtest"]
        lines = [
            f"Parameters: {format_params(cand['params'])}",
            f"Evidence ({ev.get('source') or 'no source recorded'}):",
            f"  backtest: {bt['trades']} trades, Sharpe {_num(bt['sharpe'])}, "
            f"max drawdown {_num(bt['max_drawdown'], True)}, profit factor {_num(bt['profit_factor'])}, "
            f"return {_num(bt['total_return'], True)}",
        ]
        if ev.get("walk_forward"):
            wf = ev["walk_forward"]
            lines.append(f"  walk-forward: {wf['trades']} trades, Sharpe {_num(wf['sharpe'])}")
        low, high = ev["mc_band"]
        lines.append(f"  Monte Carlo band: {low:.3%} .. {high:.3%} mean trade return over {ev['mc_window']} trades")
        latest = cand.get("latest_evaluation")
        if latest is not None:
            verdict = "criteria met" if latest["met"] else "; ".join(latest["shortfalls"] + latest["breaches"])
            lines.append(f"Latest evaluation ({latest['stage']}, {_date(latest['ts'])}): {verdict}")
        lines.append("History:")
        for h in cand["history"]:
            lines.append(f"  {_date(h['ts'])}  {h['from'] or '-'} → {h['to']}  by {h['by']}: {h['reason']}")
        self.details.setPlainText("\n".join(lines))

    def _fill_criteria(self, cand: dict[str, Any] | None) -> None:
        while self.criteria_box.count():
            item = self.criteria_box.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        if cand is None:
            return
        for row, crit in enumerate(cand["criteria"]):
            pct = "drawdown" in crit["name"] or "rate" in crit["name"]
            bar = QProgressBar()
            bar.setRange(0, 100)
            bar.setValue(round(crit["fraction"] * 100))
            bar.setMaximumHeight(14)
            bar.setFormat("met" if crit["met"] else f"{crit['fraction']:.0%}")
            self.criteria_box.addWidget(QLabel(crit["name"]), row, 0)
            value = f"{crit['value']:.1f}" if crit["name"] == "days in stage" else _num(crit["value"], pct)
            self.criteria_box.addWidget(QLabel(f"{value} / {_num(crit['bound'], pct)}"), row, 1)
            self.criteria_box.addWidget(bar, row, 2)

    # --- approval -----------------------------------------------------------------------------
    def _sync_approve(self) -> None:
        cand = self.candidates.get(self.selected_id() or -1)
        if self.debug_mode:
            enabled, reason = False, DEBUG_REASON
        elif self.link.remote:
            enabled, reason = False, "Approve LIVE on the machine that holds the graduation queue."
        elif cand is None or cand["stage"] != "TESTNET":
            enabled, reason = False, "Only a TESTNET candidate can be approved for LIVE."
        else:
            enabled, reason = True, "LIVE trades real money on mainnet."
        self.approve_button.setEnabled(enabled)
        self.approve_reason.setText(reason)
        for action, button in (("demote", self.demote_button), ("retire", self.retire_button)):
            refusal = move_refusal(action, cand, self.link.remote)
            button.setEnabled(refusal is None)
            button.setToolTip(refusal or f"{action.capitalize()} candidate #{cand['id']} (asks for a reason)")  # type: ignore[index]

    def ask_move(self, action: str) -> None:
        """Ask for a reason, then ask the engine; the pipeline refuses with its reason if it must."""
        cid = self.selected_id()
        cand = self.candidates.get(cid or -1)
        if cid is None or cand is None:
            return
        target = "RETIRED" if action == "retire" else BELOW.get(cand["stage"], "-")
        dialog = ConfirmDialog(
            f"{action.capitalize()} candidate #{cid}",
            f"#{cid} {cand['strategy_id']}: {cand['stage']} → {target}. The reason is kept in its history.",
            self,
            ok_text=action.capitalize(),
            reason="",
            reason_label="Reason (kept in the candidate's graduation history):",
        )
        dialog.accepted.connect(lambda: self._send_move(action, cid, dialog.reason.text().strip()))
        dialog.finished.connect(lambda _: setattr(self, "pending", None))
        self.pending = dialog
        dialog.open()

    def _send_move(self, action: str, cid: int, reason: str) -> None:
        call = self.link.demote(cid, reason) if action == "demote" else self.link.retire(cid, reason)
        spawn(call, lambda r: self._report(str(r.get("detail")), True), lambda text: self._report(text, False))

    def approve(self) -> None:
        """Ask (type LIVE), then ask the engine; the pipeline refuses with every reason if it must."""
        cid = self.selected_id()
        if cid is None:
            return
        dialog = ConfirmDialog(
            "Approve for LIVE",
            f"Candidate #{cid} will trade REAL MONEY on Bybit mainnet. The pipeline still checks debug mode, "
            "doctor and the TESTNET criteria.",
            self,
            ok_text="Approve for LIVE",
            word="LIVE",
        )
        dialog.accepted.connect(lambda: self._send_approval(cid))
        dialog.finished.connect(lambda _: setattr(self, "pending", None))
        self.pending = dialog
        dialog.open()

    def _send_approval(self, cid: int) -> None:
        def done(result: dict[str, Any]) -> None:
            self._report(str(result.get("detail")), True)

        spawn(self.link.approve_live(cid), done, lambda text: self._report(text, False))

    def _report(self, text: str, ok: bool) -> None:
        self.approve_reason.setText(text)
        self.approve_reason.setStyleSheet(f"color: {'#26a69a' if ok else '#ef5350'};")
        (log.warning if ok else log.error)("graduation: %s", text)
        self.outcome.emit(text, ok)
