"""KeyStore against a real Secret Service (private dbus-daemon + gnome-keyring-daemon)."""

from __future__ import annotations

import contextlib
import json
import logging
import os
from pathlib import Path

import pytest
import secretstorage
from keyring.backends.SecretService import Keyring as SecretServiceKeyring

from workstation.core.enums import Venue
from workstation.core.types import ApiCredentials
from workstation.secrets import SERVICE_NAME, KeyStore, StoredKey, describe_backend

pytest_plugins = ["pytester", "tests.fixtures.keyring_service"]
pytestmark = pytest.mark.keyring_service

CANARY = "CANARY"
CREDS = ApiCredentials(api_key="CANARYkeySs4Tq8Wz", api_secret="CANARYsecretSs9Lp2Xc7Nv5")
TESTNET = Venue.BYBIT_TESTNET


def _service_items() -> list[dict[str, str]]:
    """Attributes of this app's items, read straight from the Secret Service."""
    with contextlib.closing(secretstorage.dbus_init()) as connection:
        collection = secretstorage.get_default_collection(connection)
        return [item.get_attributes() for item in collection.search_items({"service": SERVICE_NAME})]


def test_set_when_secret_service_then_get_list_delete_round_trip(
    secret_service_keyring: SecretServiceKeyring,
) -> None:
    store = KeyStore(backend=secret_service_keyring, env={})
    store.set(TESTNET, CREDS)

    assert store.get(TESTNET) == CREDS
    assert store.list() == [StoredKey(TESTNET, "keyring")]
    assert store.backend_name() == "keyring.backends.SecretService.Keyring"

    assert store.delete(TESTNET) is True
    assert store.get(TESTNET) is None
    assert store.list() == []
    assert store.delete(TESTNET) is False


def test_set_when_secret_service_then_one_item_per_venue_with_json_secret(
    secret_service_keyring: SecretServiceKeyring,
) -> None:
    store = KeyStore(backend=secret_service_keyring, env={})
    store.set(TESTNET, ApiCredentials("firstkey", "firstsecret"))
    store.set(TESTNET, CREDS)
    store.set(Venue.BYBIT_DEMO, CREDS)

    items = _service_items()
    assert sorted(item["username"] for item in items) == ["bybit-demo", "bybit-testnet"]
    raw = secret_service_keyring.get_password(SERVICE_NAME, "bybit-testnet")
    assert raw is not None
    assert json.loads(raw) == {"api_key": CREDS.api_key, "api_secret": CREDS.api_secret}
    for item in items:  # the item's label and attributes are visible without unlocking
        assert CANARY not in json.dumps(item)


def test_describe_backend_when_secret_service_running_then_usable(
    secret_service_keyring: SecretServiceKeyring,
) -> None:
    description = describe_backend(secret_service_keyring, probe=True)
    assert description.usable, description.problem
    assert description.name == "keyring.backends.SecretService.Keyring"


def test_every_action_when_secret_service_and_debug_logging_then_no_canary_anywhere(
    secret_service_keyring: SecretServiceKeyring, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    store = KeyStore(backend=secret_service_keyring, env={})
    store.set(TESTNET, CREDS)
    loaded = store.get(TESTNET)
    listed = store.list()
    store.delete(TESTNET)

    for text in (repr(store), repr(loaded), str(loaded), repr(listed)):
        assert CANARY not in text
    assert caplog.records
    for record in caplog.records:
        assert CANARY not in record.getMessage()
        assert CANARY not in repr(record.args)


_INNER_TEST = """
import os
from pathlib import Path

pytest_plugins = ["tests.fixtures.keyring_service"]


def test_inner(secret_service_keyring):
    secret_service_keyring.set_password("svc", "user", "pw")
    assert secret_service_keyring.get_password("svc", "user") == "pw"
    Path(os.environ["OUTER_REPORT"]).write_text(os.environ["HOME"])
"""


def test_fixture_when_test_ends_then_env_restored_and_temp_home_removed(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    before = {name: os.environ.get(name) for name in ("DBUS_SESSION_BUS_ADDRESS", "HOME", "XDG_RUNTIME_DIR")}
    report = tmp_path / "inner-home.txt"
    pytester.makepyfile(test_inner=_INNER_TEST)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("OUTER_REPORT", str(report))
        result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    inner_home = Path(report.read_text())
    assert inner_home != Path(before["HOME"] or "")
    assert not inner_home.exists()
    assert {name: os.environ.get(name) for name in before} == before


def test_fixture_when_daemons_missing_then_skipped_with_reason(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    pytester.makepyfile(test_inner=_INNER_TEST)
    monkeypatch.setenv("PATH", str(tmp_path))  # no dbus-daemon, no gnome-keyring-daemon
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "-rs")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*needs dbus-daemon and gnome-keyring-daemon*"])
