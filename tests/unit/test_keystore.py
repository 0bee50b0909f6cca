"""KeyStore against the in-memory backend, refused backends, and the headless fallbacks."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from pathlib import Path

import keyring
import keyring.core
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import fail, null
from keyring.backends.chainer import ChainerBackend
from keyring.errors import KeyringLocked, NoKeyringError

from tests.fixtures.memory_keyring import InMemoryKeyring
from workstation.core.enums import Venue
from workstation.core.errors import SecretsError
from workstation.core.types import ApiCredentials
from workstation.secrets import (
    CREDENTIALS_FILE_ENV,
    SERVICE_NAME,
    InvalidCredentialsError,
    KeyStore,
    NoKeyringAvailableError,
    StoredKey,
    UnsafeBackendError,
    describe_backend,
    env_var_names,
)

pytest_plugins = ["tests.fixtures.keyring_service"]

CANARY = "CANARY"
CANARY_KEY = "CANARYkey7Qx2Lm9Pz4Rt"
CANARY_SECRET = "CANARYsecret8Hs3Kd0Wn5Vb1Yc6Fj"
CREDS = ApiCredentials(api_key=CANARY_KEY, api_secret=CANARY_SECRET)
TESTNET = Venue.BYBIT_TESTNET
KEY_VAR, SECRET_VAR = env_var_names(TESTNET)


def _unregistered(cls: type[KeyringBackend]) -> type[KeyringBackend]:
    # Keep test-only classes out of keyring's auto-detection registry.
    KeyringBackend._classes.discard(cls)  # type: ignore[attr-defined]
    return cls


# Named exactly like keyrings.alt's plaintext backend, which must be refused by its module path.
PlaintextKeyring = _unregistered(type("PlaintextKeyring", (InMemoryKeyring,), {"__module__": "keyrings.alt.file"}))


class _NoServiceKeyring(InMemoryKeyring):
    """Looks fine by name, but every call says there is no keyring (a Secret Service gone away)."""

    def get_password(self, service: str, username: str) -> str | None:
        raise NoKeyringError("no secret service on the bus")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise NoKeyringError("no secret service on the bus")

    def delete_password(self, service: str, username: str) -> None:
        raise NoKeyringError("no secret service on the bus")


class _LeakyFailingKeyring(InMemoryKeyring):
    """A badly written backend that puts the password into its error message."""

    def set_password(self, service: str, username: str, password: str) -> None:
        raise RuntimeError(f"could not write {password!r} for {username}")


class _LockedKeyring(InMemoryKeyring):
    def get_password(self, service: str, username: str) -> str | None:
        raise KeyringLocked("Failed to unlock the collection!")


class _DroppingKeyring(InMemoryKeyring):
    def set_password(self, service: str, username: str, password: str) -> None:
        pass


for _cls in (_NoServiceKeyring, _LeakyFailingKeyring, _LockedKeyring, _DroppingKeyring):
    _unregistered(_cls)


def _chainer_of(*backends: KeyringBackend) -> ChainerBackend:
    cls = _unregistered(type("FixedChainer", (ChainerBackend,), {"backends": list(backends)}))
    return cls()  # type: ignore[return-value]


def _write(path: Path, text: str, mode: int = 0o600) -> Path:
    path.write_text(text)
    os.chmod(path, mode)
    return path


def _yaml_file(tmp_path: Path, mode: int = 0o600, name: str = "credentials.yaml") -> Path:
    text = f'bybit-testnet:\n  api_key: "{CANARY_KEY}"\n  api_secret: "{CANARY_SECRET}"\n'
    return _write(tmp_path / name, text, mode)


def _assert_no_canary(*texts: object) -> None:
    for text in texts:
        assert CANARY not in str(text)
        assert CANARY not in repr(text)


def _assert_clean_error(exc: BaseException) -> None:
    """Neither the error nor anything chained to it carries key material."""
    seen: BaseException | None = exc
    while seen is not None:
        _assert_no_canary(seen, *seen.args)
        seen = seen.__cause__ or seen.__context__


def _headless(tmp_path: Path, env: dict[str, str] | None = None, **kwargs: object) -> KeyStore:
    return KeyStore(backend=fail.Keyring(), env=env or {}, **kwargs)  # type: ignore[arg-type]


# -- keyring round trip ---------------------------------------------------------------------------


def test_set_when_memory_backend_then_get_returns_same_credentials(memory_keyring: InMemoryKeyring) -> None:
    store = KeyStore(backend=memory_keyring, env={})
    store.set(TESTNET, CREDS)
    assert store.get(TESTNET) == CREDS


def test_set_when_stored_then_one_json_entry_under_service_and_venue(memory_keyring: InMemoryKeyring) -> None:
    KeyStore(backend=memory_keyring, env={}).set(TESTNET, CREDS)
    assert list(memory_keyring.entries) == [(SERVICE_NAME, "bybit-testnet")]
    assert json.loads(memory_keyring.entries[(SERVICE_NAME, "bybit-testnet")]) == {
        "api_key": CANARY_KEY,
        "api_secret": CANARY_SECRET,
    }


def test_set_when_called_twice_then_second_value_replaces_first(memory_keyring: InMemoryKeyring) -> None:
    store = KeyStore(backend=memory_keyring, env={})
    store.set(TESTNET, CREDS)
    newer = ApiCredentials(api_key="CANARYnewKey1", api_secret="CANARYnewSecret2")
    store.set(TESTNET, newer)
    assert store.get(TESTNET) == newer
    assert len(memory_keyring.entries) == 1


def test_list_when_key_in_keyring_then_venue_and_source_without_material(
    memory_keyring: InMemoryKeyring,
) -> None:
    store = KeyStore(backend=memory_keyring, env={})
    store.set(TESTNET, CREDS)
    listed = store.list()
    assert listed == [StoredKey(TESTNET, "keyring")]
    _assert_no_canary(listed, *(item.source for item in listed))


def test_delete_when_present_then_true_and_entry_gone(memory_keyring: InMemoryKeyring) -> None:
    store = KeyStore(backend=memory_keyring, env={})
    store.set(TESTNET, CREDS)
    assert store.delete(TESTNET) is True
    assert store.get(TESTNET) is None
    assert store.list() == []


def test_delete_when_absent_then_false(memory_keyring: InMemoryKeyring) -> None:
    assert KeyStore(backend=memory_keyring, env={}).delete(Venue.BYBIT_MAINNET) is False


def test_get_when_nothing_stored_and_keyring_works_then_none(memory_keyring: InMemoryKeyring) -> None:
    assert KeyStore(backend=memory_keyring, env={}).get(TESTNET) is None


def test_get_when_venue_given_as_string_then_accepted(memory_keyring: InMemoryKeyring) -> None:
    store = KeyStore(backend=memory_keyring, env={})
    store.set("bybit-demo", CREDS)  # type: ignore[arg-type]
    assert store.get(Venue.BYBIT_DEMO) == CREDS


def test_get_when_keyring_entry_malformed_then_error_without_content(
    memory_keyring: InMemoryKeyring,
) -> None:
    memory_keyring.set_password(SERVICE_NAME, "bybit-testnet", f"{{not json {CANARY_SECRET}")
    with pytest.raises(SecretsError, match="not a valid key record") as caught:
        KeyStore(backend=memory_keyring, env={}).get(TESTNET)
    _assert_clean_error(caught.value)


def test_get_when_keyring_locked_then_secrets_error_not_fallback() -> None:
    store = KeyStore(backend=_LockedKeyring(), env={KEY_VAR: "envkey", SECRET_VAR: "envsecret"})
    with pytest.raises(SecretsError, match="KeyringLocked"):
        store.get(TESTNET)


def test_set_when_backend_drops_writes_then_error() -> None:
    with pytest.raises(SecretsError, match="did not keep"):
        KeyStore(backend=_DroppingKeyring(), env={}).set(TESTNET, CREDS)


# -- bad input ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "action",
    [
        lambda s: s.set(Venue.PAPER, CREDS),
        lambda s: s.get(Venue.PAPER),
        lambda s: s.delete(Venue.PAPER),
    ],
    ids=["set", "get", "delete"],
)
def test_action_when_venue_is_paper_then_value_error(
    memory_keyring: InMemoryKeyring, action: Callable[[KeyStore], object]
) -> None:
    with pytest.raises(ValueError, match="needs no API keys"):
        action(KeyStore(backend=memory_keyring, env={}))


def test_set_when_unknown_venue_string_then_error_lists_venues(memory_keyring: InMemoryKeyring) -> None:
    with pytest.raises(InvalidCredentialsError, match="bybit-testnet"):
        KeyStore(backend=memory_keyring, env={}).set("binance", CREDS)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("api_key", "api_secret", "problem"),
    [
        ("", CANARY_SECRET, "api key .* is empty"),
        (CANARY_KEY, "", "api secret .* is empty"),
        (CANARY_KEY + " ", CANARY_SECRET, "api key .* whitespace"),
        (CANARY_KEY, CANARY_SECRET + "\n", "api secret .* whitespace"),
        (CANARY_KEY, "CANARY\u00e9", "api secret .* printable ASCII"),
    ],
)
def test_set_when_key_or_secret_malformed_then_clear_error_without_material(
    memory_keyring: InMemoryKeyring, api_key: str, api_secret: str, problem: str
) -> None:
    with pytest.raises(ValueError, match=problem) as caught:
        KeyStore(backend=memory_keyring, env={}).set(TESTNET, ApiCredentials(api_key, api_secret))
    assert isinstance(caught.value, SecretsError)
    _assert_clean_error(caught.value)
    assert memory_keyring.entries == {}


def test_set_when_not_api_credentials_then_error(memory_keyring: InMemoryKeyring) -> None:
    with pytest.raises(InvalidCredentialsError, match="Expected ApiCredentials"):
        KeyStore(backend=memory_keyring, env={}).set(TESTNET, {"api_key": CANARY_KEY})  # type: ignore[arg-type]


# -- refused and missing backends -----------------------------------------------------------------


def test_set_when_plaintext_backend_then_refused_by_name() -> None:
    with pytest.raises(UnsafeBackendError, match=r"keyrings\.alt\.file\.PlaintextKeyring") as caught:
        KeyStore(backend=PlaintextKeyring(), env={}).set(TESTNET, CREDS)
    assert "pip uninstall keyrings.alt" in str(caught.value)
    _assert_clean_error(caught.value)


def test_get_when_plaintext_backend_and_env_pair_then_env_used_and_keyring_untouched() -> None:
    backend = PlaintextKeyring()
    backend.set_password(SERVICE_NAME, "bybit-testnet", json.dumps({"api_key": "a", "api_secret": "b"}))
    store = KeyStore(backend=backend, env={KEY_VAR: CANARY_KEY, SECRET_VAR: CANARY_SECRET})
    assert store.get(TESTNET) == CREDS


def test_get_when_plaintext_backend_and_no_fallback_then_unsafe_backend_error() -> None:
    with pytest.raises(UnsafeBackendError, match=KEY_VAR):
        KeyStore(backend=PlaintextKeyring(), env={}).get(TESTNET)


def test_set_when_chainer_holds_only_plaintext_then_refused() -> None:
    with pytest.raises(UnsafeBackendError, match="no safe backend"):
        KeyStore(backend=_chainer_of(PlaintextKeyring()), env={}).set(TESTNET, CREDS)


def test_set_when_chainer_holds_plaintext_and_safe_then_only_safe_backend_written() -> None:
    plaintext, safe = PlaintextKeyring(), InMemoryKeyring()
    store = KeyStore(backend=_chainer_of(plaintext, safe), env={})
    store.set(TESTNET, CREDS)
    assert plaintext.entries == {}
    assert store.get(TESTNET) == CREDS
    assert store.backend_name().endswith("InMemoryKeyring")


@pytest.mark.parametrize("backend", [fail.Keyring(), null.Keyring(), _chainer_of()], ids=str)
def test_set_when_no_keyring_then_secrets_error_mentions_headless_fallbacks(backend: KeyringBackend) -> None:
    with pytest.raises(NoKeyringAvailableError) as caught:
        KeyStore(backend=backend, env={}).set(TESTNET, CREDS)
    message = str(caught.value)
    assert "WORKSTATION_BYBIT_TESTNET_API_KEY" in message
    assert CREDENTIALS_FILE_ENV in message


def test_set_when_backend_raises_no_keyring_error_then_secrets_error() -> None:
    with pytest.raises(NoKeyringAvailableError, match="headless server"):
        KeyStore(backend=_NoServiceKeyring(), env={}).set(TESTNET, CREDS)


def test_get_when_backend_raises_no_keyring_error_then_env_fallback_used() -> None:
    store = KeyStore(backend=_NoServiceKeyring(), env={KEY_VAR: CANARY_KEY, SECRET_VAR: CANARY_SECRET})
    assert store.get(TESTNET) == CREDS
    assert store.list() == [StoredKey(TESTNET, "environment")]


def test_get_when_no_keyring_and_no_fallback_then_error_names_venue_variables(tmp_path: Path) -> None:
    with pytest.raises(NoKeyringAvailableError, match="WORKSTATION_BYBIT_DEMO_API_KEY"):
        _headless(tmp_path).get(Venue.BYBIT_DEMO)


def test_delete_when_no_keyring_then_secrets_error(tmp_path: Path) -> None:
    with pytest.raises(NoKeyringAvailableError):
        _headless(tmp_path).delete(TESTNET)


@pytest.fixture
def default_backend_is(monkeypatch: pytest.MonkeyPatch) -> Callable[[KeyringBackend], None]:
    def install(backend: KeyringBackend) -> None:
        monkeypatch.setattr(keyring.core, "_keyring_backend", backend)

    return install


def test_init_when_default_backend_is_plaintext_then_set_refused(
    default_backend_is: Callable[[KeyringBackend], None],
) -> None:
    default_backend_is(PlaintextKeyring())
    store = KeyStore(env={})
    assert store.backend_name() == "keyrings.alt.file.PlaintextKeyring"
    with pytest.raises(UnsafeBackendError):
        store.set(TESTNET, CREDS)


def test_init_when_default_backend_is_fail_then_headless_env_works(
    default_backend_is: Callable[[KeyringBackend], None],
) -> None:
    default_backend_is(fail.Keyring())
    store = KeyStore(env={KEY_VAR: CANARY_KEY, SECRET_VAR: CANARY_SECRET})
    assert store.get(TESTNET) == CREDS
    assert store.backend_name() == "keyring.backends.fail.Keyring"


def test_get_when_configured_backend_cannot_load_then_env_fallback_still_works(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(keyring.core, "_keyring_backend", None)
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "no_such_module.Keyring")
    store = KeyStore(env={KEY_VAR: CANARY_KEY, SECRET_VAR: CANARY_SECRET})
    assert store.get(TESTNET) == CREDS
    assert store.backend_name() == "(not loaded)"
    with pytest.raises(NoKeyringAvailableError, match="PYTHON_KEYRING_BACKEND"):
        store.set(TESTNET, CREDS)
    description = describe_backend()
    assert not description.usable
    assert "cannot be loaded" in description.problem


def test_describe_backend_when_memory_then_usable(memory_keyring: InMemoryKeyring) -> None:
    description = describe_backend(memory_keyring, probe=True)
    assert description.usable
    assert description.name == "tests.fixtures.memory_keyring.InMemoryKeyring"


@pytest.mark.parametrize(
    ("backend", "expected"),
    [
        (PlaintextKeyring(), "Refusing keyring backend"),
        (fail.Keyring(), "No OS keyring"),
        (_NoServiceKeyring(), "No OS keyring"),
    ],
    ids=["plaintext", "fail", "no-service"],
)
def test_describe_backend_when_unusable_then_problem_explained(backend: KeyringBackend, expected: str) -> None:
    description = describe_backend(backend, probe=True)
    assert not description.usable
    assert expected in description.problem
    assert expected in str(description)


# -- environment fallback -------------------------------------------------------------------------


def test_env_var_names_when_venue_has_dash_then_upper_snake_case() -> None:
    assert env_var_names(TESTNET) == (
        "WORKSTATION_BYBIT_TESTNET_API_KEY",
        "WORKSTATION_BYBIT_TESTNET_API_SECRET",
    )


def test_get_when_env_pair_set_and_no_keyring_then_env_credentials(tmp_path: Path) -> None:
    store = _headless(tmp_path, {KEY_VAR: CANARY_KEY, SECRET_VAR: CANARY_SECRET})
    assert store.get(TESTNET) == CREDS
    assert store.list() == [StoredKey(TESTNET, "environment")]


def test_get_when_keyring_and_env_both_hold_key_then_keyring_wins(memory_keyring: InMemoryKeyring) -> None:
    store = KeyStore(backend=memory_keyring, env={KEY_VAR: "envkey", SECRET_VAR: "envsecret"})
    store.set(TESTNET, CREDS)
    assert store.get(TESTNET) == CREDS
    assert store.list() == [StoredKey(TESTNET, "keyring"), StoredKey(TESTNET, "environment")]


@pytest.mark.parametrize(
    ("env", "missing"),
    [({KEY_VAR: CANARY_KEY}, SECRET_VAR), ({SECRET_VAR: CANARY_SECRET}, KEY_VAR)],
    ids=["key-only", "secret-only"],
)
def test_get_when_env_pair_half_set_then_error_names_missing_variable(
    tmp_path: Path, env: dict[str, str], missing: str
) -> None:
    with pytest.raises(SecretsError, match=f"but {missing} is not") as caught:
        _headless(tmp_path, env).get(TESTNET)
    _assert_clean_error(caught.value)


def test_get_when_env_secret_has_trailing_newline_then_error_names_variables(tmp_path: Path) -> None:
    with pytest.raises(InvalidCredentialsError, match="whitespace") as caught:
        _headless(tmp_path, {KEY_VAR: CANARY_KEY, SECRET_VAR: CANARY_SECRET + "\n"}).get(TESTNET)
    assert SECRET_VAR in str(caught.value)
    _assert_clean_error(caught.value)


# -- credentials file fallback --------------------------------------------------------------------


def test_get_when_yaml_file_is_0600_then_file_credentials(tmp_path: Path) -> None:
    path = _yaml_file(tmp_path)
    store = _headless(tmp_path, credentials_file=path)
    assert store.get(TESTNET) == CREDS
    assert store.list() == [StoredKey(TESTNET, f"file:{path}")]


def test_get_when_ini_file_is_0600_then_file_credentials(tmp_path: Path) -> None:
    text = f"# headless server keys\n[bybit-testnet]\napi_key = {CANARY_KEY}\napi_secret = {CANARY_SECRET}\n"
    path = _write(tmp_path / "credentials", text)
    assert _headless(tmp_path, credentials_file=path).get(TESTNET) == CREDS


def test_get_when_ini_secret_contains_percent_then_kept_verbatim(tmp_path: Path) -> None:
    path = _write(tmp_path / "creds.ini", "[bybit-demo]\napi_key = k%1\napi_secret = s%(x)s\n")
    assert _headless(tmp_path, credentials_file=path).get(Venue.BYBIT_DEMO) == ApiCredentials("k%1", "s%(x)s")


def test_get_when_file_is_0644_then_refused_with_chmod_hint(tmp_path: Path) -> None:
    path = _yaml_file(tmp_path, mode=0o644)
    with pytest.raises(SecretsError, match="0644") as caught:
        _headless(tmp_path, credentials_file=path).get(TESTNET)
    assert f"chmod 600 {path}" in str(caught.value)
    _assert_clean_error(caught.value)


def test_list_when_file_is_group_readable_then_refused(tmp_path: Path) -> None:
    path = _yaml_file(tmp_path, mode=0o640)
    with pytest.raises(SecretsError, match="chmod 600"):
        _headless(tmp_path, credentials_file=path).list()


def test_get_when_file_named_by_env_var_then_used(tmp_path: Path) -> None:
    path = _yaml_file(tmp_path)
    assert _headless(tmp_path, {CREDENTIALS_FILE_ENV: str(path)}).get(TESTNET) == CREDS


def test_get_when_env_var_names_missing_file_then_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(SecretsError, match="does not exist"):
        _headless(tmp_path, {CREDENTIALS_FILE_ENV: str(missing)}).get(TESTNET)


def test_get_when_constructor_file_missing_then_treated_as_empty(memory_keyring: InMemoryKeyring) -> None:
    store = KeyStore(backend=memory_keyring, env={}, credentials_file=Path("/nonexistent/creds.yaml"))
    assert store.get(TESTNET) is None


def test_get_when_yaml_file_has_syntax_error_then_error_gives_line_only(tmp_path: Path) -> None:
    text = f'bybit-testnet:\n  api_key: "{CANARY_KEY}"\n  api_secret: "{CANARY_SECRET}\n  : [\n'
    path = _write(tmp_path / "creds.yaml", text)
    with pytest.raises(SecretsError, match="not valid YAML") as caught:
        _headless(tmp_path, credentials_file=path).get(TESTNET)
    _assert_clean_error(caught.value)


def test_get_when_ini_file_has_syntax_error_then_error_gives_line_only(tmp_path: Path) -> None:
    path = _write(tmp_path / "creds.ini", f"[bybit-testnet]\n{CANARY_SECRET}\n")
    with pytest.raises(SecretsError, match="line 2") as caught:
        _headless(tmp_path, credentials_file=path).get(TESTNET)
    _assert_clean_error(caught.value)


def test_get_when_file_has_unknown_sections_then_names_echoed_only_if_name_like(tmp_path: Path) -> None:
    text = f"bybit-tesnet:\n  api_key: a\n  api_secret: b\n{CANARY_KEY}: {CANARY_SECRET}\n"
    path = _write(tmp_path / "creds.yaml", text)
    with pytest.raises(SecretsError, match="'bybit-tesnet', <hidden name>") as caught:
        _headless(tmp_path, credentials_file=path).get(TESTNET)
    _assert_clean_error(caught.value)


def test_get_when_yaml_secret_is_unquoted_number_then_error_asks_for_quotes(tmp_path: Path) -> None:
    path = _write(tmp_path / "creds.yaml", "bybit-testnet:\n  api_key: 0123\n  api_secret: abc\n")
    with pytest.raises(InvalidCredentialsError, match="put it in quotes"):
        _headless(tmp_path, credentials_file=path).get(TESTNET)


def test_get_when_section_missing_secret_then_error_names_field(tmp_path: Path) -> None:
    path = _write(tmp_path / "creds.yaml", f"bybit-testnet:\n  api_key: {CANARY_KEY}\n")
    with pytest.raises(SecretsError, match="missing api_secret") as caught:
        _headless(tmp_path, credentials_file=path).get(TESTNET)
    _assert_clean_error(caught.value)


def test_get_when_env_and_file_both_hold_key_then_env_wins_and_both_listed(tmp_path: Path) -> None:
    path = _yaml_file(tmp_path)
    store = _headless(tmp_path, {KEY_VAR: "envkey", SECRET_VAR: "envsecret"}, credentials_file=path)
    assert store.get(TESTNET) == ApiCredentials("envkey", "envsecret")
    assert [item.source for item in store.list()] == ["environment", f"file:{path}"]


# -- canaries -------------------------------------------------------------------------------------


def test_set_when_backend_error_quotes_password_then_message_scrubbed() -> None:
    with pytest.raises(SecretsError, match="RuntimeError") as caught:
        KeyStore(backend=_LeakyFailingKeyring(), env={}).set(TESTNET, CREDS)
    _assert_clean_error(caught.value)
    assert "<redacted>" in str(caught.value)


def test_repr_when_keystore_used_then_no_key_material(memory_keyring: InMemoryKeyring, tmp_path: Path) -> None:
    store = KeyStore(
        backend=memory_keyring,
        env={KEY_VAR: CANARY_KEY, SECRET_VAR: CANARY_SECRET},
        credentials_file=_yaml_file(tmp_path),
    )
    store.set(Venue.BYBIT_DEMO, CREDS)
    _assert_no_canary(store, store.get(TESTNET), store.get(Venue.BYBIT_DEMO), store.list())


def test_every_action_when_logging_at_debug_then_no_canary_in_records(
    memory_keyring: InMemoryKeyring, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    env = {KEY_VAR: CANARY_KEY, SECRET_VAR: CANARY_SECRET}
    path = _yaml_file(tmp_path, name="c.yaml")
    for store in (
        KeyStore(backend=memory_keyring, env=env, credentials_file=path),
        KeyStore(backend=fail.Keyring(), env=env, credentials_file=path),
        KeyStore(backend=PlaintextKeyring(), env=env, credentials_file=path),
    ):
        for action in (
            lambda s=store: s.set(Venue.BYBIT_DEMO, CREDS),
            lambda s=store: s.get(TESTNET),
            lambda s=store: s.get(Venue.BYBIT_DEMO),
            lambda s=store: s.list(),
            lambda s=store: s.delete(Venue.BYBIT_DEMO),
        ):
            try:
                action()
            except SecretsError as exc:
                _assert_clean_error(exc)
    assert caplog.records, "expected the store to log what it does"
    for record in caplog.records:
        _assert_no_canary(record.getMessage(), record.args)
