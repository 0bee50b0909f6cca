"""The risk state: ACTIVE / REDUCING / HALTED in large type with the reason, and each limit with
how close the account is to it."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGridLayout, QLabel, QProgressBar, QVBoxLayout, QWidget

from workstation.ui.theme import MUTED

STATE_COLORS = {"ACTIVE": "#26a69a", "REDUCING": "#f0b429", "HALTED": "#ef5350"}
NOT_PUBLISHED = "not published by this engine"


def _pct(x: float) -> str:
    return f"{x:.2%}"


class RiskPanel(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.account = QLabel("")
        self.account.setObjectName("riskAccount")
        self.account.setStyleSheet(f"color: {MUTED}; font-weight: 600;")
        self.state_label = QLabel("—")
        self.state_label.setObjectName("riskState")
        self.state_label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self.reason = QLabel("Waiting for the engine…")
        self.reason.setWordWrap(True)
        self.flags = QLabel("")
        self.flags.setStyleSheet(f"color: {MUTED};")
        self.flags.setWordWrap(True)
        self.growth = QLabel("")
        self.growth.setObjectName("riskGrowth")
        self.growth.setWordWrap(True)
        self.grid = QGridLayout()
        self.grid.setHorizontalSpacing(14)
        for col, title in enumerate(("Limit", "Bound", "Now", "Used")):
            head = QLabel(title)
            head.setStyleSheet(f"color: {MUTED}; font-weight: 600;")
            self.grid.addWidget(head, 0, col)
        self.grid.setColumnStretch(3, 1)
        self.rows: dict[str, tuple[QLabel, QLabel, QProgressBar]] = {}
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 8, 10, 8)
        layout.addWidget(self.account)
        layout.addWidget(self.state_label)
        layout.addWidget(self.reason)
        layout.addWidget(self.flags)
        layout.addWidget(self.growth)
        layout.addSpacing(6)
        layout.addLayout(self.grid)
        layout.addStretch(1)
        self._set_state("—")

    @property
    def state(self) -> str:
        return self._state

    def _set_state(self, state: str) -> None:
        self._state = state
        color = STATE_COLORS.get(state, MUTED)
        self.state_label.setText(state)
        self.state_label.setStyleSheet(f"font-size: 22px; font-weight: 800; color: {color}; padding: 2px 0;")

    def on_event(self, event: dict[str, Any]) -> None:
        """React at once to a state change (the full picture follows with the next refresh)."""
        if event.get("type") == "TradingStateChanged":
            self._set_state(str(event.get("state")))
            self.reason.setText(str(event.get("reason", "")))

    def show_risk(self, risk: dict[str, Any]) -> None:
        account = risk.get("account")
        self.account.setText(f"Account: {account}" if account else "")
        self.account.setToolTip(f"risk state file {risk['state_file']}" if risk.get("state_file") else "")
        self._set_state(str(risk.get("trading_state", "—")))
        reason = risk.get("reason") or (
            f"kill switch: {risk['kill_switch']}" if risk.get("trading_state") == "HALTED" else "within limits"
        )
        self.reason.setText(str(reason))
        flags = [f"kill switch: {risk.get('kill_switch', '-')}"]
        if risk.get("paused"):
            flags.append("bot PAUSED (no new orders from strategies)")
        if risk.get("debug_mode"):
            flags.append("debug mode: every order is blocked")
        if risk.get("equity"):
            flags.append(f"last equity {float(risk['equity']):,.2f}")
        self.flags.setText("\n".join(flags))
        self._show_growth(risk.get("growth") or {})
        limits: dict[str, float] = risk.get("limits", {})
        usage: dict[str, float] | None = risk.get("usage")
        positions = risk.get("open_positions")
        self._row("Daily loss", _pct(limits.get("daily_loss_limit", 0)), *self._used(usage, "daily_loss"))
        self._row("Drawdown from peak", _pct(limits.get("max_drawdown", 0)), *self._used(usage, "drawdown"))
        limit_positions = int(limits.get("max_open_positions", 0))
        if positions is None:
            self._row("Open positions", str(limit_positions), NOT_PUBLISHED, None)
        else:
            self._row("Open positions", str(limit_positions), str(positions), positions / max(limit_positions, 1))
        self._row("Risk per trade", _pct(limits.get("max_risk_per_trade", 0)), "per order", None)
        self._row("Leverage", f"{limits.get('max_leverage', 0):g}x", "per order", None)

    def _show_growth(self, growth: dict[str, Any]) -> None:
        """Balance building in one line; red when it refuses to size (every entry is then denied)."""
        summary = growth.get("summary")
        self.growth.setText(f"Balance building: {summary}" if summary else "")
        refused = bool(growth.get("sizing_refused"))
        self.growth.setStyleSheet(f"color: {STATE_COLORS['HALTED'] if refused else MUTED};")
        self.growth.setToolTip("\n".join(f"{k}: {v}" for k, v in growth.items() if k != "summary" and v is not None))

    @staticmethod
    def _used(usage: dict[str, float] | None, key: str) -> tuple[str, float | None]:
        if usage is None:
            return NOT_PUBLISHED, None
        return _pct(usage[key]), usage[f"{key}_used"]

    def _row(self, name: str, bound: str, now: str, fraction: float | None) -> None:
        if name not in self.rows:
            at = len(self.rows) + 1
            labels = (QLabel(name), QLabel(), QLabel(), QProgressBar())
            for col, widget in enumerate(labels):
                self.grid.addWidget(widget, at, col)
            labels[3].setRange(0, 100)
            labels[3].setMaximumHeight(16)
            labels[3].setMinimumWidth(60)
            self.rows[name] = (labels[1], labels[2], labels[3])
        bound_label, now_label, bar = self.rows[name]
        bound_label.setText(bound)
        now_label.setText(now)
        if fraction is None:
            bar.setEnabled(False)
            bar.setValue(0)
            bar.setFormat("-")
            return
        used = max(0.0, fraction)
        bar.setEnabled(True)
        bar.setValue(min(100, round(used * 100)))
        bar.setFormat(f"{used:.0%}")
        color = "#ef5350" if used >= 1 else "#f0b429" if used >= 0.5 else "#26a69a"
        bar.setStyleSheet(f"QProgressBar::chunk {{ background: {color}; }} QProgressBar {{ text-align: center; }}")

    def bar(self, name: str) -> QProgressBar:
        return self.rows[name][2]

    def now_text(self, name: str) -> str:
        return self.rows[name][1].text()
