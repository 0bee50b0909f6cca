"""Translate pybit and transport errors into the project's exceptions, with secrets redacted.

Real Bybit echoes the signed string on a bad signature ("error sign! origin_string[...]"), and that
string contains the api key; pybit's exceptions also carry the request body and the response
headers. Nothing from them is kept except the retCode and a scrubbed message, and the original
exception is never attached as __cause__ or __context__.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import requests
from pybit.exceptions import FailedRequestError, InvalidRequestError

from workstation.core.errors import ExchangeError, ExchangeUnavailable

REDACTED = "<redacted>"
_ORIGIN_STRING = re.compile(r"origin_string\[.*?\]", re.DOTALL)

RATE_LIMITED = 10006
# retCodes that mean "the venue is busy or down", not "your request is wrong".
TRANSIENT_CODES = frozenset({10000, 10006, 10016, 10018, 10429, 110079, 170007, 170146})


class BybitHttpError(ExchangeUnavailable):
    """Bybit answered with a non-200 HTTP status. 403 means the IP rate limit (or a blocked
    region): Bybit wants at least 10 minutes of silence."""

    def __init__(self, message: str, *, http_status: int) -> None:
        self.http_status = http_status
        super().__init__(message)


class BybitRateLimited(ExchangeUnavailable):
    """retCode 10006: this key's per-endpoint limit. `reset_at_ms` is Bybit's
    X-Bapi-Limit-Reset-Timestamp (server clock, ms) when it was sent: wait until then."""

    def __init__(self, message: str, *, code: int, reset_at_ms: int | None) -> None:
        self.reset_at_ms = reset_at_ms
        super().__init__(message, code=code)


def redact(text: str, secrets: Iterable[str]) -> str:
    text = _ORIGIN_STRING.sub(f"origin_string[{REDACTED}]", text)
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return text


def translate(exc: BaseException, operation: str, secrets: Iterable[str]) -> ExchangeError | None:
    """The project error for `exc`, or None when `exc` is not an exchange or transport error."""
    secrets = tuple(secrets)
    where = f"bybit {operation}"
    if isinstance(exc, InvalidRequestError):
        code = _int_or_none(exc.status_code)
        message = f"{where}: {redact(str(exc.message).strip(), secrets)}"
        if code == RATE_LIMITED:
            headers = exc.resp_headers or {}
            reset = _int_or_none(headers.get("X-Bapi-Limit-Reset-Timestamp"))
            return BybitRateLimited(message, code=code, reset_at_ms=reset)
        if code in TRANSIENT_CODES:
            return ExchangeUnavailable(message, code=code)
        return ExchangeError(message, code=code)
    if isinstance(exc, FailedRequestError):
        status = _int_or_none(exc.status_code) or 0
        if status == 403:
            text = "HTTP 403: IP rate limit breached (or region blocked); stop traffic for 10 minutes"
        elif status == 409:
            text = "the response was not valid JSON"
        else:
            text = f"HTTP {status}: {redact(str(exc.message), secrets)}"
        return BybitHttpError(f"{where}: {text}", http_status=status)
    if isinstance(exc, requests.Timeout):
        return ExchangeUnavailable(f"{where}: timed out (the request may still have taken effect)")
    if isinstance(exc, requests.ConnectionError):
        return ExchangeUnavailable(f"{where}: connection failed ({type(exc).__name__})")
    if isinstance(exc, requests.RequestException):
        return ExchangeUnavailable(f"{where}: transport error ({type(exc).__name__})")
    if isinstance(exc, PermissionError):
        return ExchangeError(f"{where}: this endpoint needs API credentials")
    return None


def _int_or_none(value: object) -> int | None:
    try:
        return int(value)  # type: ignore[call-overload, no-any-return]
    except (TypeError, ValueError):
        return None


class VenueBlockedError(ExchangeError):
    """Not sent: traffic to the venue is paused (HTTP 403 ban window). Nothing left the process."""

    def __init__(self, message: str, *, until_ms: int) -> None:
        self.until_ms = until_ms
        super().__init__(message)


class VenueHaltedError(ExchangeError):
    """Not sent: the venue connection is hard-stopped (e.g. 10003, a key for another environment)
    until a human fixes the cause and restarts. Nothing left the process."""
