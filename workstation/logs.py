"""Logging: rotating, gzip-compressed files under the home directory, UTC timestamps, one line
per event, and a redaction filter that keeps secrets out of every handler.

Filters attached to a logger do not see records propagated from child loggers, so the
redaction filter sits on every root handler (and on the root logger for records logged there).
"""

from __future__ import annotations

import gzip
import logging
import logging.handlers
import os
import re
import shutil
import threading
import time
from collections.abc import Iterable, Mapping
from pathlib import Path

REDACTED = "<redacted>"
THIRD_PARTY_HTTP_LOGGERS = ("pybit", "ccxt", "urllib3", "requests", "websocket", "aiohttp", "httpx", "keyring")
_MIN_SECRET_LEN = 6

# Values that look like credentials wherever they appear, whether or not we know them.
_PATTERNS = [
    re.compile(r"(?i)(x-bapi-(?:api-key|sign)[\"']?\s*[:=]\s*[\"']?)([^\s\"',}]+)"),
    re.compile(
        r"(?i)((?:api[_-]?key|api[_-]?secret|secret|password|passphrase|token|sign(?:ature)?)[\"']?\s*[:=]\s*[\"']?)([^\s\"',}&]+)"
    ),
    re.compile(r"(?i)(authorization[\"']?\s*[:=]\s*[\"']?(?:bearer\s+)?)([^\s\"',}]+)"),
]


class SecretRedactor:
    """Knows the secrets loaded in this process and scrubs them (and credential-shaped values)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._secrets: frozenset[str] = frozenset()

    def register(self, *values: str) -> None:
        fresh = {v for v in values if v and len(v) >= _MIN_SECRET_LEN}
        if fresh:
            with self._lock:
                self._secrets = self._secrets | fresh

    def redact(self, text: str) -> str:
        for secret in sorted(self._secrets, key=len, reverse=True):
            if secret in text:
                text = text.replace(secret, REDACTED)
        for pattern in _PATTERNS:
            text = pattern.sub(lambda m: m.group(1) + REDACTED, text)
        return text


redactor = SecretRedactor()


def register_secret(*values: str) -> None:
    """Call whenever a secret enters the process; every log line is scrubbed of it afterwards."""
    redactor.register(*values)


class RedactionFilter(logging.Filter):
    def __init__(self, secret_redactor: SecretRedactor = redactor) -> None:
        super().__init__()
        self._redactor = secret_redactor

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string must not lose the record
            message = f"{record.msg!r} {record.args!r}"
        record.msg = self._redactor.redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self._redactor.redact(record.exc_text)
        record.exc_info = None  # the redacted exc_text is what handlers print
        if record.stack_info:
            record.stack_info = self._redactor.redact(record.stack_info)
        return True


class OneLineUtcFormatter(logging.Formatter):
    """`2026-11-25T01:02:03.456Z INFO  workstation.safety.gate  message` with newlines escaped."""

    converter = time.gmtime

    def __init__(self) -> None:
        super().__init__("%(asctime)s.%(msecs)03dZ %(levelname)-7s %(name)s  %(message)s", "%Y-%m-%dT%H:%M:%S")

    def format(self, record: logging.LogRecord) -> str:
        return super().format(record).replace("\r", "").replace("\n", " \\n ")


def _gzip_rotator(source: str, dest: str) -> None:
    with open(source, "rb") as src, gzip.open(dest, "wb") as dst:
        shutil.copyfileobj(src, dst)
    os.remove(source)


def _gz_namer(name: str) -> str:
    return name + ".gz"


def configure_logging(
    log_dir: Path,
    *,
    level: str = "INFO",
    modules: Mapping[str, str] | None = None,
    max_bytes: int = 5_000_000,
    backups: int = 10,
    console_level: str | None = None,
) -> Path:
    """Set up the root logger once per process. Returns the log file's path."""
    log_dir.mkdir(parents=True, exist_ok=True)
    log_file = log_dir / "workstation.log"
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_workstation", False):
            root.removeHandler(handler)
            handler.close()

    file_handler = logging.handlers.RotatingFileHandler(
        log_file, maxBytes=max_bytes, backupCount=backups, encoding="utf-8", delay=True
    )
    file_handler.rotator = _gzip_rotator
    file_handler.namer = _gz_namer
    handlers: list[logging.Handler] = [file_handler]
    if console_level:
        console = logging.StreamHandler()
        console.setLevel(console_level)
        handlers.append(console)
    for handler in handlers:
        handler.setFormatter(OneLineUtcFormatter())
        handler.addFilter(RedactionFilter())
        handler._workstation = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    if not any(isinstance(f, RedactionFilter) for f in root.filters):
        root.addFilter(RedactionFilter())
    root.setLevel(level)
    for name, module_level in (modules or {}).items():
        logging.getLogger(name).setLevel(module_level)
    quiet_third_party_loggers(modules or {})
    return log_file


def quiet_third_party_loggers(requested: Mapping[str, str], names: Iterable[str] = THIRD_PARTY_HTTP_LOGGERS) -> None:
    """HTTP libraries log headers (keys, signatures) at DEBUG: keep them at INFO or above, always."""
    for name in names:
        wanted = logging.getLevelName(requested.get(name, "INFO"))
        logging.getLogger(name).setLevel(max(logging.INFO, wanted if isinstance(wanted, int) else logging.INFO))
