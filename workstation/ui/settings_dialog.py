"""Settings: API keys per venue (masked, stored in the OS keyring, never a file) with a "test
connection" that shows the key's permissions and warns about withdraw; the remote engine token;
the user's config layer as YAML, validated with the CLI's own messages before it is saved."""

from __future__ import annotations

import asyncio
import logging
import shutil
import tempfile
from pathlib import Path

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from workstation.core.enums import Venue
from workstation.core.errors import ConfigError, SecretsError
from workstation.core.types import ApiCredentials
from workstation.runtime import Runtime, config_sources
from workstation.secrets.keystore import KeyStore
from workstation.settings.loader import load_settings, shown
from workstation.ui.engine_model import spawn
from workstation.ui.theme import MUTED

log = logging.getLogger(__name__)

INVALID = "configuration invalid: nothing was changed"  # the CLI's closing line
TEMPLATE = "# Your settings, layered over every shipped config file. For example:\n# risk:\n#   max_drawdown: 0.1\n"


def user_layer(runtime: Runtime) -> str:
    """The user's shadow of the last named shipped layer (environment, else profile, else
    defaults): <home>/config/environments/development.yaml by default. Anything set there wins
    over every shipped file but debug.yaml, so an edit always takes effect."""
    s = runtime.settings
    if s.environment is not None:
        return f"environments/{s.environment.value}.yaml"
    return f"{s.profile}.yaml" if s.profile else "default.yaml"


def validate_user_layer(runtime: Runtime, text: str) -> list[str]:
    """Problems the CLI would print if the user's layer held `text` (empty: valid). The text is
    checked in a copy of the user's config directory; paths are reported as the real one."""
    relative = user_layer(runtime)
    real = runtime.user_config_dir / relative
    with tempfile.TemporaryDirectory(prefix="config-check-") as tmp:
        copy = Path(tmp) / "config"
        if runtime.user_config_dir.exists():
            shutil.copytree(runtime.user_config_dir, copy)
        (copy / relative).parent.mkdir(parents=True, exist_ok=True)
        (copy / relative).write_text(text, encoding="utf-8")
        sources = config_sources(runtime.home, None, ())
        sources = type(sources)(config_dir=sources.config_dir, user_config_dir=copy)
        try:
            load_settings(sources)
        except ConfigError as exc:
            return [
                line.replace(shown(copy / relative), shown(real)).replace(str(copy), str(runtime.user_config_dir))
                for line in exc.problems
            ]
    return []


class SettingsDialog(QDialog):
    def __init__(self, runtime: Runtime, parent: QWidget | None = None, keystore: KeyStore | None = None) -> None:
        super().__init__(parent)
        self.runtime = runtime
        self.keystore = keystore or KeyStore()
        self.setWindowTitle("Settings")
        self.resize(720, 520)
        tabs = QTabWidget()
        tabs.addTab(self._keys_tab(), "API keys")
        tabs.addTab(self._config_tab(), "Config")
        layout = QVBoxLayout(self)
        layout.addWidget(tabs)
        self.tabs = tabs

    # --- API keys -----------------------------------------------------------------------------
    def _keys_tab(self) -> QWidget:
        page = QWidget()
        form = QFormLayout()
        self.venue_box = QComboBox()
        for venue in Venue:
            if venue.needs_keys:
                self.venue_box.addItem(venue.value, venue)
        self.key_edit = QLineEdit()
        self.secret_edit = QLineEdit()
        for edit in (self.key_edit, self.secret_edit):
            edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.key_edit.setPlaceholderText("API key (masked)")
        self.secret_edit.setPlaceholderText("API secret (masked)")
        form.addRow("Venue", self.venue_box)
        form.addRow("API key", self.key_edit)
        form.addRow("API secret", self.secret_edit)
        self.save_key_button = QPushButton("Save to the OS keyring")
        self.test_button = QPushButton("Test connection")
        buttons = QHBoxLayout()
        buttons.addWidget(self.save_key_button)
        buttons.addWidget(self.test_button)
        buttons.addStretch(1)
        self.key_status = QLabel("")
        self.key_status.setWordWrap(True)
        self.withdraw_warning = QLabel("")
        self.withdraw_warning.setWordWrap(True)
        self.withdraw_warning.setStyleSheet("color: #ff5252; font-weight: 700;")
        self.stored_label = QLabel("")
        self.stored_label.setStyleSheet(f"color: {MUTED};")
        layout = QVBoxLayout(page)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addWidget(self.key_status)
        layout.addWidget(self.withdraw_warning)
        layout.addWidget(self.stored_label)
        layout.addStretch(1)
        self.save_key_button.clicked.connect(self.save_key)
        self.test_button.clicked.connect(self.test_connection)
        self._show_stored()
        return page

    def venue(self) -> Venue:
        return Venue(self.venue_box.currentData())

    def _show_stored(self) -> None:
        try:
            stored = self.keystore.list()
        except SecretsError as exc:
            self.stored_label.setText(f"Keyring: {exc}")
            return
        listed = ", ".join(f"{s.venue.value} ({s.source})" for s in stored) or "none"
        self.stored_label.setText(f"Keys stored: {listed}")

    def save_key(self) -> None:
        venue = self.venue()
        try:
            self.keystore.set(venue, ApiCredentials(self.key_edit.text().strip(), self.secret_edit.text().strip()))
        except (SecretsError, ValueError) as exc:
            self._key_result(f"Not stored: {exc}", False)
            return
        self.key_edit.clear()
        self.secret_edit.clear()
        self._key_result(f"Stored the API key for {venue.value} in the OS keyring.", True)
        self._show_stored()

    def test_connection(self) -> None:
        from workstation.commands.probes import BybitProbe

        venue = self.venue()
        probe = BybitProbe(venue, self.runtime.settings, self.keystore)
        self.withdraw_warning.setText("")
        self._key_result(f"Asking {venue.value} about the stored key…", True)
        self.test_button.setEnabled(False)

        def done(perms: object) -> None:
            self.test_button.setEnabled(True)
            self._key_result(f"{venue.value}: {perms.summary}", True)  # type: ignore[attr-defined]
            if perms.can_withdraw:  # type: ignore[attr-defined]
                self.withdraw_warning.setText(
                    "WARNING: this key can WITHDRAW funds. Create a key without the withdraw permission; "
                    "`workstation doctor` refuses to trade with this one."
                )

        def failed(text: str) -> None:
            self.test_button.setEnabled(True)
            self._key_result(f"Test failed: {text}", False)

        spawn(asyncio.to_thread(probe.key_permissions, 10.0), done, failed)

    def _key_result(self, text: str, ok: bool) -> None:
        self.key_status.setText(text)
        self.key_status.setStyleSheet(f"color: {'#26a69a' if ok else '#ef5350'};")
        (log.info if ok else log.warning)("settings: %s", text)

    # --- config -------------------------------------------------------------------------------
    def _config_tab(self) -> QWidget:
        page = QWidget()
        self.config_path = self.runtime.user_config_dir / user_layer(self.runtime)
        self.config_edit = QPlainTextEdit()
        self.config_edit.setObjectName("configEditor")
        text = self.config_path.read_text(encoding="utf-8") if self.config_path.exists() else TEMPLATE
        self.config_edit.setPlainText(text)
        self.config_save = QPushButton("Validate and save")
        self.config_status = QLabel(f"Editing {self.config_path} (takes effect at the next start).")
        self.config_status.setWordWrap(True)
        layout = QVBoxLayout(page)
        layout.addWidget(self.config_edit, 1)
        row = QHBoxLayout()
        row.addWidget(self.config_save)
        row.addWidget(self.config_status, 1)
        layout.addLayout(row)
        self.config_save.clicked.connect(self.save_config)
        return page

    def save_config(self) -> bool:
        text = self.config_edit.toPlainText()
        problems = validate_user_layer(self.runtime, text)
        if problems:
            self.config_status.setText("\n".join([*problems, INVALID]))
            self.config_status.setStyleSheet("color: #ef5350;")
            log.warning("settings: config not saved: %s", "; ".join(problems))
            return False
        self.config_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.config_path.with_suffix(".yaml.tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(self.config_path)
        self.config_status.setText(f"Saved {self.config_path}: valid. It takes effect at the next start.")
        self.config_status.setStyleSheet("color: #26a69a;")
        log.info("settings: saved %s", self.config_path)
        return True
