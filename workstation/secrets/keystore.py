"""KeyStore: exchange API keys in the OS keyring, with environment and file fallbacks for servers.

One keyring entry per venue: service "open-alpha-workstation", username the venue value
("bybit-testnet"), password a JSON object with api_key and api_secret.

Lookup order in `get`: keyring, then environment variables, then the credentials file. `get`
returns None only when the keyring works and no source has the venue; when the keyring cannot
be used and no fallback has the venue it raises SecretsError saying why and what to do.

Errors raised here never carry a key, a secret or a prefix of either, and are raised outside
`except` blocks so no library exception holding the raw value rides along as __context__.
"""

from __future__ import annotations

import functools
import json
import logging
import os
from collections.abc import Callable, Mapping
from pathlib import Path

from keyring.backend import KeyringBackend
from keyring.errors import NoKeyringError, PasswordDeleteError

from workstation.core.enums import Venue
from workstation.core.errors import SecretsError
from workstation.core.types import ApiCredentials
from workstation.secrets.backends import (
    backend_path,
    default_backend,
    no_keyring_message,
    resolve_backend,
)
from workstation.secrets.credentials_file import read_credentials_file
from workstation.secrets.model import (
    CREDENTIALS_FILE_ENV,
    SERVICE_NAME,
    SOURCE_ENVIRONMENT,
    SOURCE_FILE_PREFIX,
    SOURCE_KEYRING,
    InvalidCredentialsError,
    NoKeyringAvailableError,
    StoredKey,
    UnsafeBackendError,
    check_venue,
    env_var_names,
    validate_credentials,
)

log = logging.getLogger(__name__)


class KeyStore:
    """Exchange API key pairs, one per venue. PAPER takes no keys and is refused everywhere."""

    def __init__(
        self,
        *,
        backend: KeyringBackend | None = None,
        env: Mapping[str, str] | None = None,
        credentials_file: Path | None = None,
    ) -> None:
        self._requested = backend
        self._env: Mapping[str, str] = os.environ if env is None else env
        self._file_required = False
        if credentials_file is None and self._env.get(CREDENTIALS_FILE_ENV):
            # Named by the user in the environment, so a missing file is their mistake to hear about.
            credentials_file = Path(self._env[CREDENTIALS_FILE_ENV])
            self._file_required = True
        self._file = credentials_file.expanduser() if credentials_file is not None else None
        self._backend: KeyringBackend | None = None

    def __repr__(self) -> str:
        backend = self._backend or self._requested
        shown = "default" if backend is None else backend_path(backend)
        return f"KeyStore(backend={shown!r}, credentials_file={self._file!r})"

    # -- public API -------------------------------------------------------------------------

    def set(self, venue: Venue, credentials: ApiCredentials) -> None:
        """Store a key pair in the keyring (never in the environment or the file)."""
        venue = check_venue(venue)
        if not isinstance(credentials, ApiCredentials):
            raise InvalidCredentialsError(
                f"Expected ApiCredentials for {venue.value}, got {type(credentials).__name__}."
            )
        where = f"for {venue.value}"
        validate_credentials(credentials.api_key, credentials.api_secret, where=where)
        backend = self._usable_backend()
        payload = json.dumps({"api_key": credentials.api_key, "api_secret": credentials.api_secret})
        scrub = (credentials.api_key, credentials.api_secret, payload)

        def store() -> None:
            backend.set_password(SERVICE_NAME, venue.value, payload)

        self._call(backend, "store", venue, store, scrub=scrub)
        # Read it back: a backend that silently drops writes must not look like success.
        read = functools.partial(backend.get_password, SERVICE_NAME, venue.value)
        stored = self._call(backend, "read", venue, read, scrub=scrub)
        if stored != payload:
            raise SecretsError(
                f"The keyring backend {backend_path(backend)} did not keep the API key for {venue.value}."
            )
        log.info("Stored the API key for %s in %s", venue.value, backend_path(backend))

    def get(self, venue: Venue) -> ApiCredentials | None:
        """The key pair for a venue from the keyring, else the environment, else the file."""
        venue = check_venue(venue)
        keyring_problem: SecretsError | None = None
        credentials: ApiCredentials | None = None
        try:
            backend = self._usable_backend()
            credentials = self._from_keyring(backend, venue)
        except (NoKeyringAvailableError, UnsafeBackendError) as exc:
            keyring_problem = exc
        if credentials is not None:
            log.debug("Loaded the API key for %s from the keyring", venue.value)
            return credentials
        if isinstance(keyring_problem, UnsafeBackendError):
            log.warning("Keyring skipped for %s: %s", venue.value, keyring_problem)
        elif keyring_problem is not None:
            log.debug("Keyring not available for %s: %s", venue.value, keyring_problem)
        credentials = self._from_env(venue)
        if credentials is not None:
            log.debug("Loaded the API key for %s from the environment", venue.value)
            return credentials
        credentials = self._file_entries().get(venue)
        if credentials is not None:
            log.debug("Loaded the API key for %s from %s", venue.value, self._file)
            return credentials
        if keyring_problem is not None:
            key_var, secret_var = env_var_names(venue)
            raise type(keyring_problem)(
                f"No API key for {venue.value}: the keyring cannot be used, and neither {key_var} / "
                f"{secret_var} nor a credentials file provides one. {keyring_problem}"
            )
        return None

    def delete(self, venue: Venue) -> bool:
        """Remove the venue's keyring entry. False if there was none. Never touches env or file."""
        venue = check_venue(venue)
        backend = self._usable_backend()
        outcome: str
        try:
            backend.delete_password(SERVICE_NAME, venue.value)
            outcome = "deleted"
        except PasswordDeleteError:
            outcome = "absent"
        except NoKeyringError:
            outcome = "no-keyring"
        except Exception as exc:
            outcome = f"{type(exc).__name__}: {exc}"
        if outcome == "no-keyring":
            raise NoKeyringAvailableError(no_keyring_message(backend_path(backend)))
        if outcome not in ("deleted", "absent"):
            raise SecretsError(f"Could not delete the API key for {venue.value} from the keyring ({outcome}).")
        if outcome == "deleted":
            log.info("Deleted the API key for %s from %s", venue.value, backend_path(backend))
        return outcome == "deleted"

    def list(self) -> list[StoredKey]:
        """Every (venue, source) that holds a key pair, in lookup order. No key material."""
        keyring_venues: set[Venue] = set()
        try:
            backend = self._usable_backend()
            for venue in _keyed_venues():
                read = functools.partial(backend.get_password, SERVICE_NAME, venue.value)
                if self._call(backend, "read", venue, read) is not None:
                    keyring_venues.add(venue)
        except (NoKeyringAvailableError, UnsafeBackendError) as exc:
            log.debug("Keyring not listed: %s", exc)
        file_venues = set(self._file_entries())
        result: list[StoredKey] = []
        for venue in _keyed_venues():
            if venue in keyring_venues:
                result.append(StoredKey(venue, SOURCE_KEYRING))
            if any(name in self._env for name in env_var_names(venue)):
                result.append(StoredKey(venue, SOURCE_ENVIRONMENT))
            if venue in file_venues:
                result.append(StoredKey(venue, f"{SOURCE_FILE_PREFIX}{self._file}"))
        return result

    def backend_name(self) -> str:
        """Dotted class path of the keyring backend in use (or the one that was refused)."""
        try:
            return backend_path(self._usable_backend())
        except SecretsError:
            pass
        try:
            return backend_path(self._candidate())
        except SecretsError:
            return "(not loaded)"

    # -- internals ----------------------------------------------------------------------------

    def _candidate(self) -> KeyringBackend:
        return default_backend() if self._requested is None else self._requested

    def _usable_backend(self) -> KeyringBackend:
        if self._backend is None:
            self._backend = resolve_backend(self._candidate())
        return self._backend

    def _from_keyring(self, backend: KeyringBackend, venue: Venue) -> ApiCredentials | None:
        raw = self._call(backend, "read", venue, functools.partial(backend.get_password, SERVICE_NAME, venue.value))
        if raw is None:
            return None
        record: object = None
        try:
            record = json.loads(raw)
        except (TypeError, ValueError):
            pass  # reported below, outside the except block, so the raw text is not chained
        if not isinstance(record, dict) or set(record) != {"api_key", "api_secret"}:
            raise SecretsError(
                f"The keyring entry for {venue.value} (service {SERVICE_NAME}) is not a valid key "
                "record; delete it and store the key again."
            )
        return validate_credentials(
            record["api_key"], record["api_secret"], where=f"in the keyring entry for {venue.value}"
        )

    def _from_env(self, venue: Venue) -> ApiCredentials | None:
        key_var, secret_var = env_var_names(venue)
        has_key, has_secret = key_var in self._env, secret_var in self._env
        if not has_key and not has_secret:
            return None
        if not (has_key and has_secret):
            missing, present = (secret_var, key_var) if has_key else (key_var, secret_var)
            raise SecretsError(f"{present} is set but {missing} is not; set both or neither.")
        return validate_credentials(
            self._env[key_var],
            self._env[secret_var],
            where=f"for {venue.value} in the environment ({key_var} / {secret_var})",
        )

    def _file_entries(self) -> dict[Venue, ApiCredentials]:
        if self._file is None:
            return {}
        return read_credentials_file(self._file, required=self._file_required)

    @staticmethod
    def _call(
        backend: KeyringBackend,
        action: str,
        venue: Venue,
        operation: Callable[[], str | None],
        *,
        scrub: tuple[str, ...] = (),
    ) -> str | None:
        """Run one keyring operation, translating any library error into the project's own."""
        failure: str | None = None
        try:
            return operation()
        except NoKeyringError:
            failure = "no-keyring"
        except Exception as exc:  # the backend is a boundary: DBus, Keychain and WinCred errors vary
            failure = _scrubbed(f"{type(exc).__name__}: {exc}", scrub)
        if failure == "no-keyring":
            raise NoKeyringAvailableError(no_keyring_message(backend_path(backend)))
        raise SecretsError(
            f"Could not {action} the API key for {venue.value} in the keyring {backend_path(backend)} ({failure})."
        )


def _scrubbed(text: str, secrets: tuple[str, ...]) -> str:
    for secret in sorted(secrets, key=len, reverse=True):
        if secret:
            text = text.replace(secret, "<redacted>")
    return text


def _keyed_venues() -> list[Venue]:
    return [venue for venue in Venue if venue.needs_keys]
