"""Shared pieces of the secrets package: names, errors, and credential validation.

Nothing here ever puts a key, a secret, or any part of either into a message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from workstation.core.enums import Venue
from workstation.core.errors import SecretsError
from workstation.core.types import ApiCredentials

SERVICE_NAME = "open-alpha-workstation"
CREDENTIALS_FILE_ENV = "WORKSTATION_CREDENTIALS_FILE"
ENV_PREFIX = "WORKSTATION_"

SOURCE_KEYRING = "keyring"
SOURCE_ENVIRONMENT = "environment"
SOURCE_FILE_PREFIX = "file:"

_MAX_FIELD_LENGTH = 512
# Names of sections or fields are echoed in messages only when they look like a name
# (lower-case words joined by dashes or underscores): a random key or secret never does.
_ECHOABLE_NAME = re.compile(r"^[a-z]+(?:[-_][a-z]+)*$")


class InvalidCredentialsError(SecretsError, ValueError):
    """Bad input: an empty or malformed key or secret, or a venue that takes no keys."""


class NoKeyringAvailableError(SecretsError):
    """There is no usable OS keyring (none installed, none running, or disabled)."""


class UnsafeBackendError(SecretsError):
    """The keyring backend keeps secrets in plaintext or with weak protection; refused."""


@dataclass(frozen=True, slots=True)
class StoredKey:
    """Where a venue's key pair can be found. Never holds any part of the key or the secret.

    `source` is "keyring", "environment" or "file:<path>".
    """

    venue: Venue
    source: str


def env_var_names(venue: Venue) -> tuple[str, str]:
    """The (api key, api secret) environment variable names for a venue.

    >>> env_var_names(Venue.BYBIT_TESTNET)
    ('WORKSTATION_BYBIT_TESTNET_API_KEY', 'WORKSTATION_BYBIT_TESTNET_API_SECRET')
    """
    stem = ENV_PREFIX + venue.value.upper().replace("-", "_")
    return f"{stem}_API_KEY", f"{stem}_API_SECRET"


def headless_hint() -> str:
    key_var, secret_var = env_var_names(Venue.BYBIT_TESTNET)
    return (
        "On a headless server use a fallback instead: the environment variables "
        f"{key_var} and {secret_var} (WORKSTATION_<VENUE>_API_KEY / _API_SECRET, venue upper-cased "
        f"with '-' as '_'), or a credentials file with one section per venue, chmod 600, named by "
        f"{CREDENTIALS_FILE_ENV}."
    )


def check_venue(venue: Venue | str) -> Venue:
    """Accept a Venue (or its string value) that takes API keys; refuse PAPER."""
    if not isinstance(venue, Venue):
        known = {v.value: v for v in Venue}
        if not isinstance(venue, str) or venue not in known:
            shown = venue if isinstance(venue, str) and _ECHOABLE_NAME.match(venue) else "<hidden>"
            raise InvalidCredentialsError(
                f"Unknown venue {shown!r}; expected one of: {', '.join(v.value for v in Venue)}."
            )
        venue = known[venue]
    if not venue.needs_keys:
        raise InvalidCredentialsError(
            f"Venue {venue.value!r} needs no API keys (the paper venue never touches an exchange)."
        )
    return venue


def display_name(name: object) -> str:
    """A section or field name as it may appear in a message, or <hidden> if it could be secret."""
    if isinstance(name, str) and len(name) <= 40 and _ECHOABLE_NAME.match(name):
        return repr(name)
    return "<hidden name>"


def validate_field(value: object, *, field: str, where: str) -> str:
    """Check one key or secret value. `where` says where it came from, for the message."""
    if not isinstance(value, str):
        raise InvalidCredentialsError(
            f"The {field} {where} must be a string, not {type(value).__name__} (in YAML, put it in quotes)."
        )
    if not value:
        raise InvalidCredentialsError(f"The {field} {where} is empty.")
    if any(ch.isspace() for ch in value):
        raise InvalidCredentialsError(
            f"The {field} {where} contains whitespace (a stray space or newline from copy and paste?)."
        )
    if not value.isascii() or not value.isprintable():
        raise InvalidCredentialsError(f"The {field} {where} contains characters that are not printable ASCII.")
    if len(value) > _MAX_FIELD_LENGTH:
        raise InvalidCredentialsError(f"The {field} {where} is longer than {_MAX_FIELD_LENGTH} characters.")
    return value


def validate_credentials(api_key: object, api_secret: object, *, where: str) -> ApiCredentials:
    return ApiCredentials(
        api_key=validate_field(api_key, field="api key", where=where),
        api_secret=validate_field(api_secret, field="api secret", where=where),
    )
