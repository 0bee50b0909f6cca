"""Candles, funding and instruments from any ccxt exchange (`ccxt:binance`, `ccxt:okx`, `ccxt:bybit`).

ccxt's synchronous API, no API key: public market data only. Pages go forward from `since`
(ccxt's unified meaning on every exchange); the still-open newest bar is dropped. ccxt errors
become ExchangeError / ExchangeUnavailable; network and rate-limit errors are retried with
back-off, an HTTP 403 stops at once (IpBanned). `ccxt:bybit` can be pointed at another host
(a local fake) with base_url.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import ccxt
import numpy as np

from workstation.core.enums import Category
from workstation.core.errors import ExchangeError, ExchangeUnavailable
from workstation.core.types import Instrument
from workstation.data.arrays import CandleArrays
from workstation.data.download import BAN_MS, IpBanned, Pacing, default_category, venue_label
from workstation.data.intervals import format_ms, interval_ms

DEFAULT_OHLCV_LIMIT = 500
FUNDING_PAGE = 200
_HTTP_403 = re.compile(r"\b403\b")


def _category_of(market: dict[str, Any]) -> str:
    if market.get("spot"):
        return "spot"
    if market.get("option"):
        return "option"
    return "inverse" if market.get("inverse") else "linear"


def _replace_urls(value: Any, base_url: str) -> Any:
    if isinstance(value, dict):
        return {k: _replace_urls(v, base_url) for k, v in value.items()}
    return base_url if isinstance(value, str) else value


class CcxtSource:
    def __init__(
        self,
        exchange_id: str,
        category: str | None = None,
        *,
        base_url: str | None = None,
        timeout_s: float = 10.0,
        pacing: Pacing = Pacing(),
        sleep: Callable[[float], None] = time.sleep,
        clock_ms: Callable[[], int] = lambda: time.time_ns() // 1_000_000,
    ) -> None:
        if exchange_id not in ccxt.exchanges:
            raise ExchangeError(f"ccxt has no exchange {exchange_id!r} (see ccxt.exchanges)")
        self.exchange_id = exchange_id
        self.name = f"ccxt:{exchange_id}"
        self.category = category or default_category(exchange_id)
        self.venue = venue_label(exchange_id, self.category)
        self.requests = 0
        self._pacing = pacing
        self._sleep = sleep
        self._clock_ms = clock_ms
        self._banned_until_ms = 0
        config: dict[str, Any] = {"enableRateLimit": True, "timeout": int(timeout_s * 1000)}
        if exchange_id == "bybit":
            # Load only the category asked for: one request pair instead of eleven.
            config["options"] = {"fetchMarkets": {"types": [self.category]}}
        self.exchange: ccxt.Exchange = getattr(ccxt, exchange_id)(config)
        if base_url:
            self.exchange.urls["api"] = _replace_urls(self.exchange.urls["api"], base_url.rstrip("/"))
        self._markets_loaded = False

    def __repr__(self) -> str:
        return f"CcxtSource({self.exchange_id!r}, category={self.category!r})"

    def close(self) -> None:
        session = getattr(self.exchange, "session", None)
        if session is not None:
            session.close()

    # --- the one place that does I/O ------------------------------------------------------------
    def _call(self, what: str, method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        delay = self._pacing.retry_delay_s
        problem = f"{self.name} {what}: no answer"
        for _attempt in range(self._pacing.max_retries + 1):
            if self._clock_ms() < self._banned_until_ms:
                raise IpBanned(self._ban_message(what), until_ms=self._banned_until_ms)
            self.requests += 1
            try:
                return method(*args, **kwargs)
            except ccxt.BadSymbol as exc:
                raise ExchangeError(f"{self.name} {what}: unknown symbol ({_short(exc)})") from None
            except (ccxt.NetworkError, ccxt.ExchangeNotAvailable) as exc:
                if _HTTP_403.search(str(exc)) and not isinstance(exc, ccxt.RequestTimeout):
                    self._banned_until_ms = self._clock_ms() + BAN_MS
                    raise IpBanned(self._ban_message(what), until_ms=self._banned_until_ms) from None
                problem = f"{self.name} {what}: {type(exc).__name__} ({_short(exc)})"
            except ccxt.BaseError as exc:
                raise ExchangeError(f"{self.name} {what}: {type(exc).__name__} ({_short(exc)})") from None
            self._sleep(delay)
            delay *= 2
        raise ExchangeUnavailable(f"{problem} (gave up after {self._pacing.max_retries + 1} attempts)")

    def _ban_message(self, what: str) -> str:
        return (
            f"{self.name} {what}: HTTP 403, the exchange refused this IP (rate limit breached or region "
            f"blocked); no more requests are sent; try again after {format_ms(self._banned_until_ms)} UTC"
        )

    def _load_markets(self) -> None:
        if not self._markets_loaded:
            self._call("load_markets", self.exchange.load_markets)
            self._markets_loaded = True

    def market(self, symbol: str) -> dict[str, Any]:
        """A unified symbol ('BTC/USDT:USDT') or an exchange id ('BTCUSDT') of this category."""
        self._load_markets()
        markets = self.exchange.markets or {}
        if symbol in markets:
            return markets[symbol]  # type: ignore[no-any-return]
        candidates = (self.exchange.markets_by_id or {}).get(symbol) or []
        matching = [m for m in candidates if _category_of(m) == self.category]
        if not matching:
            raise ExchangeError(f"{self.name}: no {self.category} market {symbol!r}")
        return sorted(matching, key=lambda m: not m.get("swap"))[0]  # type: ignore[no-any-return]

    def _ohlcv_limit(self, market: dict[str, Any]) -> int:
        features = getattr(self.exchange, "features", None) or {}
        section = features.get(market.get("type") or "spot") or {}
        if market.get("type") in ("swap", "future"):
            section = section.get("inverse" if market.get("inverse") else "linear") or {}
        limit = (section.get("fetchOHLCV") or {}).get("limit")
        return int(limit) if limit else DEFAULT_OHLCV_LIMIT

    # --- candles --------------------------------------------------------------------------------
    def candle_pages(
        self, symbol: str, interval: str, start: int, end: int, *, kind: str = "trade"
    ) -> Iterator[CandleArrays]:
        """Closed candles with start <= ts < end, one page per request, oldest page first."""
        step = interval_ms(interval)
        market = self.market(symbol)
        if interval not in (self.exchange.timeframes or {}):
            raise ExchangeError(f"{self.name} has no {interval} candles")
        if kind == "mark":
            if not self.exchange.has.get("fetchMarkOHLCV"):
                raise ExchangeError(f"{self.name} has no mark-price candles")
            fetch = self.exchange.fetch_mark_ohlcv
        else:
            fetch = self.exchange.fetch_ohlcv
        max_limit = self._ohlcv_limit(market)
        since = start
        while since < end:
            limit = min(max_limit, -((since - end) // step))
            rows = self._call("fetch_ohlcv", fetch, market["symbol"], interval, since, limit)
            if not rows:
                return
            page = _candles(rows, kind)
            closed = page.take(page.ts + step <= self._clock_ms()).between(start, end)
            if len(closed):
                yield closed
            newest = int(page.ts[-1])
            if newest < since:
                return
            since = newest + step

    # --- funding --------------------------------------------------------------------------------
    def funding_pages(self, symbol: str, start: int, end: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Funding (ts, rate) with start <= ts < end.

        Exchanges differ in which end of a [since, until] window a full page comes from (Bybit:
        the newest), so a full page that starts after `since` leaves a hole that is asked for again.
        """
        market = self.market(symbol)
        if not self.exchange.has.get("fetchFundingRateHistory") or not market.get("swap"):
            raise ExchangeError(f"{self.name} has no funding history for {symbol}")
        todo = [(start, end)]
        while todo:
            lo, hi = todo.pop()
            rows = self._call(
                "fetch_funding_rate_history",
                self.exchange.fetch_funding_rate_history,
                market["symbol"],
                lo,
                FUNDING_PAGE,
                {"until": hi - 1},
            )
            ts = np.array([int(r["timestamp"]) for r in rows], dtype=np.int64)
            rate = np.array([float(r["fundingRate"]) for r in rows], dtype=np.float64)
            keep = (ts >= lo) & (ts < hi)
            if not keep.any():
                continue
            ts, rate = ts[keep], rate[keep]
            yield ts, rate
            if int(ts.max()) + 1 < hi and len(rows) >= FUNDING_PAGE:
                todo.append((int(ts.max()) + 1, hi))
            if int(ts.min()) > lo and len(rows) >= FUNDING_PAGE:
                todo.append((lo, int(ts.min())))

    # --- instruments ----------------------------------------------------------------------------
    def instrument_pages(self) -> Iterator[list[Instrument]]:
        self._load_markets()
        tick_mode = self.exchange.precisionMode == ccxt.TICK_SIZE
        found = [
            self._instrument(m, tick_mode)
            for m in (self.exchange.markets or {}).values()
            if _category_of(m) == self.category and m.get("active", True) is not False
        ]
        yield sorted(found, key=lambda i: i.symbol)

    def _instrument(self, market: dict[str, Any], tick_mode: bool) -> Instrument:
        def step(value: Any) -> Decimal:
            if value is None:
                return Decimal(0)
            return Decimal(str(value)) if tick_mode else Decimal(1).scaleb(-int(value))

        limits = market.get("limits") or {}
        return Instrument(
            venue=self.venue,
            symbol=market["id"],
            category=Category(self.category),
            base=market.get("base") or "",
            quote=market.get("quote") or "",
            tick_size=step((market.get("precision") or {}).get("price")),
            qty_step=step((market.get("precision") or {}).get("amount")),
            min_qty=Decimal(str((limits.get("amount") or {}).get("min") or 0)),
            min_notional=Decimal(str((limits.get("cost") or {}).get("min") or 0)),
            contract_size=Decimal(str(market.get("contractSize") or 1)),
        )


def _candles(rows: list[list[Any]], kind: str) -> CandleArrays:
    """ccxt rows [ts, o, h, l, c, v] (oldest first) -> sorted unique CandleArrays."""
    table = np.array([[np.nan if v is None else v for v in r[:6]] for r in rows], dtype=np.float64)
    ts = table[:, 0].astype(np.int64)
    order = np.argsort(ts, kind="stable")
    ts, table = ts[order], table[order]
    unique = np.concatenate([ts[1:] != ts[:-1], [True]])
    volume = table[:, 5] if kind == "trade" else np.full(len(ts), np.nan)
    return CandleArrays.from_columns(
        ts[unique], table[unique, 1], table[unique, 2], table[unique, 3], table[unique, 4], volume[unique]
    )


def _short(exc: BaseException, limit: int = 200) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
