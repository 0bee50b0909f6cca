"""Public market endpoints of the fake Bybit V5 exchange: time, kline, mark-price kline, funding
history and instruments-info. Shapes and paging follow the official docs examples in
/work/shared/data/bybit_api/docs_examples (kline `start`/`end` are both inclusive; newest first).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

from tests.fakes.bybit_exchange import ApiError, Params, page

KLINE_LIMIT = 1000
FUNDING_LIMIT = 200


def kline_rows(rows: Iterable[Any], *, with_volume: bool = True) -> list[list[str]]:
    """(ts_ms, open, high, low, close[, volume[, turnover]]) tuples or objects with those attributes
    -> Bybit's list of strings, oldest first. Mark-price rows have no volume or turnover."""
    out: list[list[str]] = []
    for row in rows:
        if hasattr(row, "ts"):
            values: list[Any] = [row.ts, row.open, row.high, row.low, row.close, row.volume]
        else:
            values = list(row)
        if not with_volume:
            values = values[:5]
        elif len(values) == 6:
            values.append(Decimal(str(values[4])) * Decimal(str(values[5])))
        out.append([str(int(values[0]))] + [str(v) for v in values[1:]])
    return sorted(out, key=lambda r: int(r[0]))


def _int(params: Params, name: str) -> int | None:
    raw = params.get(name)
    if raw in (None, ""):
        return None
    try:
        return int(str(raw))
    except ValueError:
        raise ApiError(10001, f"params error: {name} invalid") from None


def _limit(params: Params, default: int, maximum: int) -> int:
    limit = _int(params, "limit") or default
    if not 1 <= limit <= maximum:
        raise ApiError(10001, f"params error: limit must be 1-{maximum}")
    return limit


class FakeMarketState:
    """Mixed into the fake exchange state; the attributes below are set by its __init__."""

    now_ms: Callable[[], int]
    instruments: list[dict[str, Any]]
    candles: dict[tuple[str, str, str], list[list[str]]]
    mark_candles: dict[tuple[str, str, str], list[list[str]]]
    funding: dict[tuple[str, str], list[tuple[int, str]]]
    # Extra bars newer than `end` added to every kline answer: an exchange whose pages overlap.
    kline_overlap: int

    def market_time(self, params: Params) -> dict[str, Any]:
        now = self.now_ms()
        return {"timeSecond": str(now // 1000), "timeNano": str(now * 1_000_000)}

    def _kline(self, params: Params, table: dict[tuple[str, str, str], list[list[str]]]) -> dict[str, Any]:
        """Newest first. With `start` alone: the oldest `limit` bars from start; else the newest."""
        category = str(params.get("category") or "linear")
        symbol, interval = params.get("symbol"), params.get("interval")
        if not symbol or not interval:
            raise ApiError(10001, "params error: symbol and interval are required")
        limit = _limit(params, 200, KLINE_LIMIT)
        start, end = _int(params, "start"), _int(params, "end")
        rows = table.get((category, str(symbol), str(interval)), [])
        inside = [r for r in rows if (start is None or int(r[0]) >= start) and (end is None or int(r[0]) <= end)]
        chosen = inside[:limit] if start is not None and end is None else inside[-limit:]
        if self.kline_overlap and end is not None:
            chosen = chosen + [r for r in rows if int(r[0]) > end][: self.kline_overlap]
        return {"symbol": symbol, "category": category, "list": list(reversed(chosen))}

    def market_kline(self, params: Params) -> dict[str, Any]:
        return self._kline(params, self.candles)

    def market_mark_kline(self, params: Params) -> dict[str, Any]:
        return self._kline(params, self.mark_candles)

    def market_funding_history(self, params: Params) -> dict[str, Any]:
        """Newest first; endTime alone pages backwards; startTime alone is an error (as on Bybit)."""
        category = str(params.get("category") or "")
        symbol = params.get("symbol")
        if category not in ("linear", "inverse") or not symbol:
            raise ApiError(10001, "params error: category linear/inverse and symbol are required")
        limit = _limit(params, FUNDING_LIMIT, FUNDING_LIMIT)
        start, end = _int(params, "startTime"), _int(params, "endTime")
        if start is not None and end is None:
            raise ApiError(10001, "params error: endTime is required with startTime")
        rows = self.funding.get((category, str(symbol)), [])
        inside = [r for r in rows if (start is None or r[0] >= start) and (end is None or r[0] <= end)]
        items = [
            {"symbol": symbol, "fundingRate": rate, "fundingRateTimestamp": str(ts)}
            for ts, rate in reversed(inside[-limit:])
        ]
        return {"category": category, "list": items}

    def market_instruments(self, params: Params) -> dict[str, Any]:
        category = str(params.get("category") or "")
        if category != "linear":
            return {"category": category, "list": [], "nextPageCursor": ""}
        items = [
            i
            for i in self.instruments
            if (not params.get("symbol") or i["symbol"] == params["symbol"])
            and (i["status"] == (params.get("status") or "Trading"))
        ]
        chunk, cursor = page(items, params, default=500, maximum=1000)
        return {"category": category, "list": chunk, "nextPageCursor": cursor}
