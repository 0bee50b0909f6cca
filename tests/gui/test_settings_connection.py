"""Settings "test connection" against the fake Bybit V5 server: the stored key's permissions are
shown, a withdraw-enabled key gets the warning, and a key Bybit rejects reports the failure."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
from pytestqt.qtbot import QtBot

from tests.fakes.bybit_server import FakeBybit
from tests.fixtures.memory_keyring import InMemoryKeyring
from workstation.core.enums import Venue
from workstation.runtime import build_runtime
from workstation.ui.settings_dialog import SettingsDialog

KEY = "GUIKEY00000000000001"
SECRET = "GUISECRET000000000000000000000000001"


@pytest.fixture
def memory_keyring() -> Iterator[InMemoryKeyring]:
    previous = keyring.get_keyring()
    backend = InMemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


def dialog_on(qtbot: QtBot, home: Path, fake: FakeBybit) -> SettingsDialog:
    runtime = build_runtime(home=home, config_file=None, overrides=(f"exchanges.bybit.base_url={fake.base_url}",))
    dialog = SettingsDialog(runtime)
    qtbot.addWidget(dialog)
    dialog.venue_box.setCurrentIndex(dialog.venue_box.findData(Venue.BYBIT_TESTNET))
    dialog.key_edit.setText(KEY)
    dialog.secret_edit.setText(SECRET)
    dialog.save_key_button.click()  # into the (in-memory) OS keyring, where the test reads it from
    assert "Stored the API key" in dialog.key_status.text()
    return dialog


def ask_venue(qtbot: QtBot, dialog: SettingsDialog) -> str:
    dialog.test_button.click()
    assert not dialog.test_button.isEnabled()  # one question at a time
    qtbot.waitUntil(dialog.test_button.isEnabled, timeout=15_000)
    return dialog.key_status.text()


def test_settings_test_connection_when_key_can_withdraw_then_permissions_and_the_warning_show(
    qtbot: QtBot, qloop, isolated_home: Path, fake_bybit: FakeBybit, memory_keyring: InMemoryKeyring
) -> None:
    fake_bybit.add_key(KEY, SECRET, permissions={"Wallet": ["AccountTransfer", "Withdraw"]}, ips=["203.0.113.7"])
    dialog = dialog_on(qtbot, isolated_home, fake_bybit)
    text = ask_venue(qtbot, dialog)
    assert text.startswith("bybit-testnet: read-write; permissions ") and "Wallet: AccountTransfer/Withdraw" in text
    assert "IPs 203.0.113.7" in text
    assert "can WITHDRAW funds" in dialog.withdraw_warning.text()
    assert fake_bybit.requests_to("/v5/user/query-api")  # really asked the venue, signed with the stored key


def test_settings_test_connection_when_key_is_read_only_without_withdraw_then_no_warning(
    qtbot: QtBot, qloop, isolated_home: Path, fake_bybit: FakeBybit, memory_keyring: InMemoryKeyring
) -> None:
    fake_bybit.add_key(KEY, SECRET, permissions={"ContractTrade": ["Order", "Position"]}, read_only=True)
    dialog = dialog_on(qtbot, isolated_home, fake_bybit)
    text = ask_venue(qtbot, dialog)
    assert "read-only; permissions ContractTrade: Order/Position; any IP" in text
    assert dialog.withdraw_warning.text() == ""


def test_settings_test_connection_when_venue_rejects_the_key_then_the_failure_is_shown(
    qtbot: QtBot, qloop, isolated_home: Path, fake_bybit: FakeBybit, memory_keyring: InMemoryKeyring
) -> None:
    dialog = dialog_on(qtbot, isolated_home, fake_bybit)  # never registered with the venue
    text = ask_venue(qtbot, dialog)
    assert text.startswith("Test failed:") and dialog.withdraw_warning.text() == ""
