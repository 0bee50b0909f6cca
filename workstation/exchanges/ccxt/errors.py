"""Translate ccxt's exceptions into the project's own, with secrets scrubbed.

ccxt's hierarchy: ExchangeError > InsufficientFunds, InvalidOrder, BadRequest, ...;
NetworkError > RequestTimeout, RateLimitExceeded, InvalidNonce, ExchangeNotAvailable, ...
ccxt puts the raw response body in the message. For Bybit that body can echo the signed string
(api key included), so only a scrubbed, shortened text survives, and the original exception is
never chained (__cause__/__context__). The exchange's own error code is read from the body
("retCode" for Bybit): 110072 reaches us as a plain InvalidOrder and must be recognised by code.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import ccxt.async_support as ccxt

from workstation.core.errors import ExchangeError, ExchangeUnavailable
from workstation.exchanges.bybit.errors import BybitHttpError, BybitRateLimited

REDACTED = "<redacted>"
CLOCK_SKEW = 10002  # the code the OMS resyncs the clock on (Bybit's; used for every InvalidNonce)
DUPLICATE_ORDER_LINK_ID = 110072
RATE_LIMITED = 10006  # Bybit's per-key limit code, given to any exchange's RateLimitExceeded
MAX_TEXT = 240

_ORIGIN_STRING = re.compile(r"origin_string\[.*?\]", re.DOTALL)
_SIGNATURE = re.compile(r"(?i)\b(sign(?:ature)?|api_?key|apikey|secret|passphrase)=[^&\s\"']+")
_RET_CODE = re.compile(r'"(?:retCode|ret_code)"\s*:\s*"?(-?\d+)')
_GENERIC_CODE = re.compile(r'"code"\s*:\s*"?(-?\d+)')
_HTTP_403 = re.compile(r"\b403\b")


class DuplicateClientOrderId(ExchangeError):
    """The exchange already has an order with this client order id (Bybit 110072)."""


class ClockSkewError(ExchangeError):
    """The request's timestamp fell outside the exchange's window (code 10002: resync, retry)."""


def redact(text: str, secrets: Iterable[str]) -> str:
    text = _ORIGIN_STRING.sub(f"origin_string[{REDACTED}]", text)
    text = _SIGNATURE.sub(lambda m: f"{m.group(1)}={REDACTED}", text)
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return text


def exchange_code(text: str) -> int | None:
    """The exchange's error code in a ccxt message (which carries the response body)."""
    match = _RET_CODE.search(text) or _GENERIC_CODE.search(text)
    return int(match.group(1)) if match else None


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 3] + "..."


def translate(exc: BaseException, where: str, secrets: Iterable[str]) -> ExchangeError | None:
    """The project error for a ccxt exception, or None when `exc` is not one of ccxt's."""
    if not isinstance(exc, ccxt.BaseError):
        return None
    secrets = tuple(secrets)
    raw = str(exc)
    code = exchange_code(raw)
    detail = _short(redact(raw, secrets))
    kind = type(exc).__name__
    if isinstance(exc, ccxt.InvalidNonce) or code == CLOCK_SKEW:
        return ClockSkewError(
            f"{where}: clock skew, the exchange rejected our timestamp ({detail}); resync the clock",
            code=CLOCK_SKEW,
        )
    if isinstance(exc, ccxt.DuplicateOrderId) or code == DUPLICATE_ORDER_LINK_ID:
        return DuplicateClientOrderId(f"{where}: an order with this client order id already exists", code=code)
    if isinstance(exc, ccxt.InsufficientFunds):
        return ExchangeError(
            f"{where}: insufficient funds, the account cannot cover this order (not retried; "
            f"add funds or reduce the size) ({detail})",
            code=code,
        )
    if isinstance(exc, ccxt.RequestTimeout):
        return ExchangeUnavailable(f"{where}: timed out (the request may still have taken effect)", code=code)
    if isinstance(exc, (ccxt.NetworkError, ccxt.ExchangeNotAvailable)) and _HTTP_403.search(raw):
        # ccxt calls Bybit's 403 a RateLimitExceeded: it is the IP ban; the venue guard stops all traffic
        return BybitHttpError(f"{where}: HTTP 403, the exchange refused this IP; stop traffic", http_status=403)
    if isinstance(exc, ccxt.RateLimitExceeded):  # the venue guard backs off and retries these
        return BybitRateLimited(f"{where}: rate limited ({detail})", code=code or RATE_LIMITED, reset_at_ms=None)
    if isinstance(exc, (ccxt.NetworkError, ccxt.ExchangeNotAvailable)):
        return ExchangeUnavailable(f"{where}: exchange unreachable: {kind} ({detail})", code=code)
    if isinstance(exc, (ccxt.AuthenticationError, ccxt.PermissionDenied, ccxt.AccountSuspended)):
        return ExchangeError(f"{where}: the API key was refused: {kind} ({detail})", code=code)
    return ExchangeError(f"{where}: {kind} ({detail})", code=code)
