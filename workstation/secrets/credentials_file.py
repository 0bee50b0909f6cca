"""The headless credentials file: YAML or INI, one section per venue, readable only by its owner.

YAML::

    bybit-testnet:
      api_key: "..."
      api_secret: "..."

INI::

    [bybit-testnet]
    api_key = ...
    api_secret = ...

Parser errors are re-raised without their text or chained exception, because both can quote
the offending line, and that line may hold a secret.
"""

from __future__ import annotations

import configparser
import os
import shlex
import stat
from pathlib import Path
from typing import Any

import yaml

from workstation.core.enums import Venue
from workstation.core.errors import SecretsError
from workstation.core.types import ApiCredentials
from workstation.secrets.model import check_venue, display_name, validate_credentials

MAX_FILE_BYTES = 64 * 1024
_FIELDS = ("api_key", "api_secret")
_YAML_SUFFIXES = {".yaml", ".yml"}
_INI_SUFFIXES = {".ini", ".cfg", ".conf"}


def read_credentials_file(path: Path, *, required: bool) -> dict[Venue, ApiCredentials]:
    """All key pairs in the file. A missing file is empty unless `required`."""
    text = _read_private_text(path, required=required)
    if text is None:
        return {}
    sections = _parse_ini(text, path) if _is_ini(path, text) else _parse_yaml(text, path)
    return _to_credentials(sections, path)


def _read_private_text(path: Path, *, required: bool) -> str | None:
    failure: str | None = None
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        if not required:
            return None
        failure = "it does not exist"
    except OSError as exc:
        failure = f"it cannot be opened ({exc.strerror})"
    if failure is not None:
        raise SecretsError(f"Cannot read the credentials file {path}: {failure}.")
    with os.fdopen(fd, "rb") as handle:
        # Checked on the open descriptor, so the file cannot be swapped between check and read.
        _check_private(path, os.fstat(handle.fileno()))
        data = handle.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise SecretsError(f"The credentials file {path} is larger than {MAX_FILE_BYTES} bytes.")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    raise SecretsError(f"The credentials file {path} is not valid UTF-8 text.")


def _check_private(path: Path, st: os.stat_result) -> None:
    if not stat.S_ISREG(st.st_mode):
        raise SecretsError(f"The credentials file {path} is not a regular file.")
    if os.name != "posix":
        return  # NTFS ACLs are not expressed in st_mode; the user profile directory protects it.
    mode = stat.S_IMODE(st.st_mode)
    if mode & 0o077:
        raise SecretsError(
            f"Refusing to read the credentials file {path}: its permissions are {mode:04o}, so other "
            f"users can read it; they must be 0600. Run: chmod 600 {shlex.quote(str(path))}"
        )
    if hasattr(os, "geteuid") and st.st_uid != os.geteuid():
        raise SecretsError(
            f"Refusing to read the credentials file {path}: it belongs to user id {st.st_uid}, not to "
            f"you (user id {os.geteuid()}). Run: chown {os.geteuid()} {shlex.quote(str(path))}"
        )


def _is_ini(path: Path, text: str) -> bool:
    suffix = path.suffix.lower()
    if suffix in _YAML_SUFFIXES:
        return False
    if suffix in _INI_SUFFIXES:
        return True
    for line in text.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith(("#", ";")):
            return stripped.startswith("[")
    return False


def _parse_yaml(text: str, path: Path) -> dict[Any, Any]:
    location: str | None = None
    try:
        loaded = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        location = f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else "unknown"
    if location is not None:
        raise SecretsError(f"The credentials file {path} is not valid YAML (error at {location}).")
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise SecretsError(f"The credentials file {path} must be a mapping of venue name to api_key and api_secret.")
    return loaded


def _parse_ini(text: str, path: Path) -> dict[Any, Any]:
    # No interpolation ('%' is a legal secret character) and no DEFAULT section to inherit from.
    parser = configparser.ConfigParser(interpolation=None, default_section="\x00no-default")
    location: str | None = None
    try:
        parser.read_string(text, source=str(path))
    except configparser.Error as exc:
        lineno = getattr(exc, "lineno", None)
        if lineno is None and isinstance(exc, configparser.ParsingError) and exc.errors:
            lineno = exc.errors[0][0]
        location = f"line {lineno}" if lineno is not None else "unknown"
    if location is not None:
        raise SecretsError(f"The credentials file {path} is not valid INI (error at {location}).")
    return {name: dict(parser.items(name)) for name in parser.sections()}


def _to_credentials(sections: dict[Any, Any], path: Path) -> dict[Venue, ApiCredentials]:
    known = {v.value for v in Venue if v.needs_keys}
    unknown = [display_name(name) for name in sections if name not in known]
    if unknown:
        raise SecretsError(
            f"The credentials file {path} has sections that are not venues taking keys: "
            f"{', '.join(unknown)}; expected section names: {', '.join(sorted(known))}."
        )
    result: dict[Venue, ApiCredentials] = {}
    for name, body in sections.items():
        venue = check_venue(name)
        where = f"for {venue.value} in {path}"
        if not isinstance(body, dict):
            raise SecretsError(f"The section {venue.value} in {path} must hold api_key and api_secret.")
        extra = [display_name(field) for field in body if field not in _FIELDS]
        if extra:
            raise SecretsError(
                f"The section {venue.value} in {path} has unexpected fields {', '.join(extra)}; "
                "only api_key and api_secret are allowed."
            )
        missing = [field for field in _FIELDS if field not in body]
        if missing:
            raise SecretsError(f"The section {venue.value} in {path} is missing {' and '.join(missing)}.")
        result[venue] = validate_credentials(body["api_key"], body["api_secret"], where=where)
    return result
