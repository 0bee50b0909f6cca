"""Bybit V5 public market data through pybit: kline, mark-price kline, funding history, instruments.

Every HTTP call goes through `BybitSource._call` (blocking; callers run it in a worker thread).
No API key is ever given to the session: this is public market data.

Rate limits: requests are paced (`Pacing.min_interval_s`); when X-Bapi-Limit-Status says the
window is used up, or Bybit answers retCode 10006, we wait until X-Bapi-Limit-Reset-Timestamp.
HTTP 403 means Bybit has banned this IP for at least 10 minutes: we stop at once, raise
`BybitIpBanned`, and refuse further calls on this source until the ban should be over.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import numpy as np
import requests
from pybit.exceptions import FailedRequestError, InvalidRequestError
from pybit.unified_trading import HTTP

from workstation.core.enums import Category
from workstation.core.errors import ExchangeError, ExchangeUnavailable
from workstation.core.types import Instrument
from workstation.data.arrays import CandleArrays
from workstation.data.download import BAN_MS, IpBanned, Pacing
from workstation.data.intervals import BYBIT_KLINE_CODES as INTERVALS
from workstation.data.intervals import format_ms, interval_ms

KLINE_LIMIT = 1000
FUNDING_LIMIT = 200
INSTRUMENTS_LIMIT = 1000
RATE_LIMITED = 10006
# retCodes that mean "busy, try again", not "your request is wrong".
TRANSIENT_CODES = frozenset({10000, 10006, 10016, 10018, 10429})


class BybitIpBanned(IpBanned):
    """HTTP 403: the IP limit was breached (or the region is blocked)."""


def bybit_interval(interval: str) -> str:
    try:
        return INTERVALS[interval]
    except KeyError:
        raise ExchangeError(f"bybit has no {interval} kline; use one of {', '.join(INTERVALS)}") from None


def venue_for(category: str) -> str:
    """Store label: plain 'bybit' for linear perpetuals (as freqtrade names them), else 'bybit-spot'..."""
    return "bybit" if category == Category.LINEAR else f"bybit-{category}"


class BybitSource:
    name = "bybit"

    def __init__(
        self,
        category: str = "linear",
        *,
        base_url: str | None = None,
        timeout_s: float = 10.0,
        pacing: Pacing = Pacing(),
        sleep: Callable[[float], None] = time.sleep,
        clock_ms: Callable[[], int] = lambda: time.time_ns() // 1_000_000,
    ) -> None:
        if category not in ("spot", "linear", "inverse"):
            raise ExchangeError(f"bybit category {category!r} is not spot, linear or inverse")
        self.category = category
        self.venue = venue_for(category)
        self.requests = 0
        self._pacing = pacing
        self._sleep = sleep
        self._clock_ms = clock_ms
        self._offset_ms = 0  # server clock minus local clock, from the last answer
        self._last_request_ms = 0
        self._reset_at_ms = 0  # local-clock time before which the limit window is used up
        self._banned_until_ms = 0
        self._session = HTTP(
            testnet=False,
            api_key=None,
            api_secret=None,
            log_requests=False,
            timeout=timeout_s,
            max_retries=1,
            retry_delay=0,
            return_response_headers=True,
        )
        # pybit would retry 10006 itself with time.sleep and no cap; we back off here instead.
        self._session.retry_codes = set()
        if base_url:
            self._session.endpoint = base_url.rstrip("/")

    def __repr__(self) -> str:
        return f"BybitSource(category={self.category!r}, endpoint={self._session.endpoint!r})"

    def close(self) -> None:
        self._session.client.close()

    def server_now_ms(self) -> int:
        return self._clock_ms() + self._offset_ms

    # --- the one place that does I/O ------------------------------------------------------------
    def _call(self, operation: str, **params: Any) -> dict[str, Any]:
        what = f"bybit {operation.removeprefix('get_')}"
        delay = self._pacing.retry_delay_s
        problem = f"{what}: no answer"
        for _attempt in range(self._pacing.max_retries + 1):
            self._wait_for_turn(what)
            self.requests += 1
            sent_ms = self._clock_ms()
            self._last_request_ms = sent_ms
            try:
                body, _elapsed, headers = getattr(self._session, operation)(**params)
            except InvalidRequestError as exc:
                code = _int(exc.status_code)
                problem = f"{what}: {exc.message}"
                if code == RATE_LIMITED:
                    self._note_limit_reset(exc.resp_headers, exhausted=True)
                    continue
                if code in TRANSIENT_CODES:
                    self._sleep(delay)
                    delay *= 2
                    continue
                raise ExchangeError(problem, code=code) from None
            except FailedRequestError as exc:
                status = _int(exc.status_code) or 0
                if status == 403:
                    self._banned_until_ms = self._clock_ms() + BAN_MS
                    raise BybitIpBanned(self._ban_message(what), until_ms=self._banned_until_ms) from None
                problem = f"{what}: HTTP {status}" if status != 409 else f"{what}: the answer was not JSON"
                if status not in (409, 429) and status < 500:
                    raise ExchangeUnavailable(problem) from None
            except requests.RequestException as exc:
                problem = f"{what}: {type(exc).__name__} (network)"
            else:
                server_ms = _int(body.get("time"))
                if server_ms:
                    self._offset_ms = server_ms - (sent_ms + self._clock_ms()) // 2
                self._note_limit_reset(headers, exhausted=False)
                return body.get("result") or {}
            self._sleep(delay)
            delay *= 2
        raise ExchangeUnavailable(f"{problem} (gave up after {self._pacing.max_retries + 1} attempts)")

    def _wait_for_turn(self, what: str) -> None:
        now = self._clock_ms()
        if now < self._banned_until_ms:
            raise BybitIpBanned(self._ban_message(what), until_ms=self._banned_until_ms)
        wait_ms = max(self._reset_at_ms - now, self._last_request_ms + self._pacing.min_interval_s * 1000 - now)
        if wait_ms > 0:
            self._sleep(min(wait_ms / 1000, self._pacing.max_wait_s))

    def _note_limit_reset(self, headers: Any, *, exhausted: bool) -> None:
        """Remember when the window reopens if it is used up (10006, or X-Bapi-Limit-Status 0)."""
        headers = headers or {}
        remaining = _int(headers.get("X-Bapi-Limit-Status"))
        if not exhausted and (remaining is None or remaining > 0):
            return
        reset_server_ms = _int(headers.get("X-Bapi-Limit-Reset-Timestamp"))
        local_now = self._clock_ms()
        # Without a reset time, wait one second: Bybit's per-endpoint windows are one second long.
        reset_local = local_now + 1000 if reset_server_ms is None else reset_server_ms - self._offset_ms
        self._reset_at_ms = min(max(reset_local, local_now), local_now + int(self._pacing.max_wait_s * 1000))

    def _ban_message(self, what: str) -> str:
        return (
            f"{what}: HTTP 403, Bybit refused this IP (the 600 requests / 5 s IP limit was breached, or the "
            f"region is blocked). Bybit bans for at least 10 minutes: no more requests are sent; try again "
            f"after {format_ms(self._banned_until_ms)} UTC"
        )

    # --- candles --------------------------------------------------------------------------------
    def candle_pages(
        self, symbol: str, interval: str, start: int, end: int, *, kind: str = "trade"
    ) -> Iterator[CandleArrays]:
        """Closed candles with start <= ts < end, one page per request, newest page first.

        Bybit answers the newest `limit` bars in [start, end] (both inclusive), newest first; we
        page backwards by `end`. The still-open newest bar is dropped (judged on the server clock).
        """
        step = interval_ms(interval)
        code = bybit_interval(interval)
        if kind == "mark" and self.category == "spot":
            raise ExchangeError("bybit has no mark price for spot")
        operation = "get_kline" if kind == "trade" else "get_mark_price_kline"
        upper = end - 1
        while upper >= start:
            limit = min(KLINE_LIMIT, (upper - start) // step + 1)
            result = self._call(
                operation, category=self.category, symbol=symbol, interval=code, start=start, end=upper, limit=limit
            )
            rows = [r for r in result.get("list") or [] if int(r[0]) <= upper]
            if not rows:
                return
            page = _candles(result.get("list") or [], kind)
            # Bars newer than `upper` repeat the previous page (overlapping pages): already yielded.
            closed = page.take(page.ts + step <= self.server_now_ms()).between(start, min(upper + 1, end))
            if len(closed):
                yield closed
            oldest = min(int(r[0]) for r in rows)
            if oldest <= start or len(rows) < limit:
                return
            upper = oldest - 1

    # --- funding --------------------------------------------------------------------------------
    def funding_pages(self, symbol: str, start: int, end: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Funding settlements (ts, rate) with start <= ts < end, newest page first."""
        if self.category == "spot":
            raise ExchangeError("bybit funding rates exist for linear and inverse contracts only")
        upper = end - 1
        while upper >= start:
            result = self._call(
                "get_funding_rate_history",
                category=self.category,
                symbol=symbol,
                startTime=start,
                endTime=upper,
                limit=FUNDING_LIMIT,
            )
            items = result.get("list") or []
            if not items:
                return
            ts = np.array([int(i["fundingRateTimestamp"]) for i in items], dtype=np.int64)
            rate = np.array([float(i["fundingRate"]) for i in items], dtype=np.float64)
            keep = (ts >= start) & (ts < end)
            if keep.any():
                yield ts[keep], rate[keep]
            if int(ts.min()) <= start or len(items) < FUNDING_LIMIT:
                return
            upper = int(ts.min()) - 1

    # --- instruments ----------------------------------------------------------------------------
    def instrument_pages(self, *, page_size: int = INSTRUMENTS_LIMIT) -> Iterator[list[Instrument]]:
        """Every trading instrument of the category, one page per request (cursor paging)."""
        cursor = ""
        for _ in range(10_000):
            params: dict[str, Any] = {"category": self.category, "limit": page_size}
            if cursor:
                params["cursor"] = cursor
            result = self._call("get_instruments_info", **params)
            yield [self._instrument(i) for i in result.get("list") or []]
            cursor = str(result.get("nextPageCursor") or "")
            if not cursor:
                return
        raise ExchangeError("bybit instruments-info: the cursor never ended")

    def _instrument(self, raw: dict[str, Any]) -> Instrument:
        lot = raw.get("lotSizeFilter") or {}
        step = lot.get("qtyStep") or lot.get("basePrecision") or "0"
        return Instrument(
            venue=self.venue,
            symbol=raw["symbol"],
            category=Category(self.category),
            base=raw.get("baseCoin", ""),
            quote=raw.get("quoteCoin", ""),
            tick_size=Decimal((raw.get("priceFilter") or {}).get("tickSize") or "0"),
            qty_step=Decimal(step),
            min_qty=Decimal(lot.get("minOrderQty") or "0"),
            min_notional=Decimal(lot.get("minNotionalValue") or lot.get("minOrderAmt") or "0"),
        )


def _candles(rows: list[list[str]], kind: str) -> CandleArrays:
    """Bybit rows (newest first, strings) -> sorted unique CandleArrays. Mark rows have no volume."""
    if not rows:
        return CandleArrays.empty()
    table = np.array([r[:6] if kind == "trade" else r[:5] for r in rows], dtype=np.float64)
    ts = np.array([int(r[0]) for r in rows], dtype=np.int64)
    order = np.argsort(ts, kind="stable")
    ts, table = ts[order], table[order]
    unique = np.concatenate([ts[1:] != ts[:-1], [True]])  # keep the last copy of a repeated bar
    volume = table[:, 5] if kind == "trade" else np.full(len(ts), np.nan)
    return CandleArrays.from_columns(
        ts[unique], table[unique, 1], table[unique, 2], table[unique, 3], table[unique, 4], volume[unique]
    )


def _int(value: object) -> int | None:
    try:
        return int(value)  # type: ignore[call-overload, no-any-return]
    except (TypeError, ValueError):
        return None
