"""PaperJournal: the paper venue's durable state, so an accepted order or a fill survives kill -9.

The paper venue plays the exchange, and an exchange never forgets what it acknowledged. Every
change is appended to a JSON-lines file and fsync'd before the venue answers the call that made
it (see `PaperExecutionClient`): each line holds the orders that changed, the new executions and
the whole account (cash, fund, ids, every book with its position and the candle in progress).
Reading folds the lines (orders by client order id, executions by exec id); a torn last line (the
process died mid-write, so that call never returned) is cut off. A long journal is compacted on
open into one line, written to a temporary file and renamed over the old one.

Candles alone do not make a line: marks move every bar, but a bar that changed nothing needs no
record, and a replay resumes after the last bar the journal saw (it replays the same candles to
the same result).
"""

from __future__ import annotations

import json
import logging
import os
from decimal import Decimal
from pathlib import Path
from typing import Any

from workstation.core.enums import Category, OrderStatus, OrderType, Side, TimeInForce
from workstation.core.types import Candle, OrderRequest
from workstation.exchanges.simulated.account import PaperAccount
from workstation.exchanges.simulated.book import PaperFill, PaperOrder, SymbolBook

log = logging.getLogger(__name__)
FORMAT = 1
COMPACT_AFTER_LINES = 2000
_SCALARS = ("cash", "fund", "coin", "session", "now_ms", "fees_paid", "funding_paid", "_seq")
_BOOK_STATE = ("qty", "avg", "sl", "tp", "leverage", "funding_paid")


def _dec(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _undec(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def _candle(c: Candle | None) -> list[float] | None:
    return None if c is None else [c.ts, c.open, c.high, c.low, c.close, c.volume]


def _uncandle(v: list[float] | None) -> Candle | None:
    return None if v is None else Candle(int(v[0]), *(float(x) for x in v[1:]))


def order_to_json(o: PaperOrder) -> dict[str, Any]:
    r = o.request
    return {
        "coid": r.client_order_id,
        "symbol": r.symbol,
        "side": r.side.value,
        "rqty": str(r.qty),
        "type": r.order_type.value,
        "rprice": _dec(r.price),
        "rtrigger": _dec(r.trigger_price),
        "tif": r.time_in_force.value,
        "reduce_only": r.reduce_only,
        "category": r.category.value,
        "sl": _dec(r.stop_loss),
        "tp": _dec(r.take_profit),
        "vid": o.venue_order_id,
        "created": o.created_ms,
        "status": o.status.value,
        "filled_qty": o.filled_qty,
        "filled_value": o.filled_value,
        "updated": o.updated_ms,
        "qty": o.qty,
        "price": o.price,
        "trigger": o.trigger,
        "reason": o.reason,
    }


def order_from_json(d: dict[str, Any]) -> PaperOrder:
    request = OrderRequest(
        client_order_id=d["coid"],
        symbol=d["symbol"],
        side=Side(d["side"]),
        qty=Decimal(d["rqty"]),
        order_type=OrderType(d["type"]),
        price=_undec(d["rprice"]),
        trigger_price=_undec(d["rtrigger"]),
        time_in_force=TimeInForce(d["tif"]),
        reduce_only=bool(d["reduce_only"]),
        category=Category(d["category"]),
        stop_loss=_undec(d["sl"]),
        take_profit=_undec(d["tp"]),
    )
    order = PaperOrder(request, d["vid"], int(d["created"]), status=OrderStatus(d["status"]))
    order.filled_qty, order.filled_value = float(d["filled_qty"]), float(d["filled_value"])
    order.updated_ms, order.qty = int(d["updated"]), float(d["qty"])
    order.price, order.trigger, order.reason = float(d["price"]), float(d["trigger"]), d["reason"]
    return order


def _order_sig(o: PaperOrder) -> tuple[object, ...]:
    return (o.status, o.filled_qty, o.qty, o.price, o.trigger, o.updated_ms)


def _book_to_json(b: SymbolBook) -> dict[str, Any]:
    out: dict[str, Any] = {k: getattr(b, k) for k in _BOOK_STATE}
    out.update(
        symbol=b.symbol,
        category=b.category.value,
        mark=b.mark,
        prev=_candle(b.prev),
        bar=_candle(b.bar),
        path_open=b.path_open,
        allow_tp=b.allow_tp,
        open=[o.request.client_order_id for o in b.orders],
    )
    return out


class JournalError(OSError):
    """The journal could not be written: the venue must not acknowledge the change."""


class PaperJournal:
    def __init__(self, path: Path, *, fsync: bool = True) -> None:
        self.path = path
        self.fsync = fsync
        self._orders: dict[str, tuple[object, ...]] = {}
        self._fills = 0
        self._state: str = ""
        self._lines = 0

    # --- reading ---------------------------------------------------------------------------
    def restore(self, account: PaperAccount) -> bool:
        """Load the journal into a fresh `account`; False when there is nothing saved yet."""
        if not self.path.exists():
            return False
        scalars: dict[str, Any] | None = None
        books: list[dict[str, Any]] = []
        orders: dict[str, dict[str, Any]] = {}
        fills: dict[str, list[Any]] = {}
        good = 0
        with self.path.open("rb") as fh:
            raw = fh.read()
        lines = raw.split(b"\n")
        for n, line in enumerate(lines):
            if not line.strip():
                good += len(line) + 1
                continue
            try:
                entry = json.loads(line)
            except ValueError:
                if n == len(lines) - 1:  # torn tail: that change was never acknowledged
                    log.warning("paper journal %s: dropping a torn last line (%d bytes)", self.path, len(line))
                    break
                raise JournalError(f"paper journal {self.path} is corrupt at line {n + 1}") from None
            good += len(line) + 1
            self._lines += 1
            scalars, books = entry["account"], entry["books"]
            for d in entry["orders"]:
                orders[d["coid"]] = d
            for f in entry["fills"]:
                fills.setdefault(f[0], f)
        if good < len(raw):
            with self.path.open("r+b") as fh:
                fh.truncate(min(good, len(raw)))
        if scalars is None:
            return False
        for key in _SCALARS:
            setattr(account, key, scalars[key])
        account.orders = {coid: order_from_json(d) for coid, d in orders.items()}
        account.fills = [
            PaperFill(f[0], f[1], f[2], int(f[3]), *map(float, f[4:8]), int(f[8]), bool(f[9])) for f in fills.values()
        ]
        account.books = {}
        for d in books:
            b = SymbolBook(d["symbol"], Category(d["category"]), float(d["leverage"]))
            for key in _BOOK_STATE:
                setattr(b, key, float(d[key]))
            b.mark, b.path_open, b.allow_tp = float(d["mark"]), float(d["path_open"]), bool(d["allow_tp"])
            b.prev, b.bar = _uncandle(d["prev"]), _uncandle(d["bar"])
            b.orders = [account.orders[c] for c in d["open"]]
            account.books[b.symbol] = b
        self._mark_saved(account)
        if self._lines > COMPACT_AFTER_LINES:
            self.compact(account)
        return True

    # --- writing ---------------------------------------------------------------------------
    def commit(self, account: PaperAccount, *, force: bool = False) -> bool:
        """Append what changed since the last commit, durably. True when a line was written.
        `force`: write the account even if only marks and candles moved (a checkpoint)."""
        changed = [o for c, o in account.orders.items() if self._orders.get(c) != _order_sig(o)]
        new_fills = account.fills[self._fills :]
        state = self._state_key(account)
        if not force and not changed and not new_fills and state == self._state:
            return False
        self._append(self._entry(account, changed, new_fills))
        self._mark_saved(account)
        return True

    def compact(self, account: PaperAccount) -> None:
        """Rewrite the journal as one line holding everything (atomic rename)."""
        tmp = self.path.with_suffix(".compact.tmp")
        line = json.dumps(self._entry(account, list(account.orders.values()), account.fills)) + "\n"
        try:
            with tmp.open("w", encoding="utf-8") as fh:
                fh.write(line)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
            self._sync_dir()
        except OSError as exc:
            raise JournalError(f"paper journal compaction failed: {exc}") from exc
        self._lines = 1
        log.info("paper journal %s compacted: %d orders, %d fills", self.path, len(account.orders), len(account.fills))

    def _entry(self, account: PaperAccount, orders: list[PaperOrder], fills: list[PaperFill]) -> dict[str, Any]:
        return {
            "v": FORMAT,
            "account": {k: getattr(account, k) for k in _SCALARS},
            "books": [_book_to_json(b) for b in account.books.values()],
            "orders": [order_to_json(o) for o in orders],
            "fills": [
                [f.exec_id, f.client_order_id, f.symbol, f.ts, f.side, f.qty, f.price, f.fee, f.reason, f.is_maker]
                for f in fills
            ],
        }

    def _append(self, entry: dict[str, Any]) -> None:
        new = not self.path.exists()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps(entry) + "\n")
                fh.flush()
                if self.fsync:
                    os.fsync(fh.fileno())
            if new:
                self._sync_dir()
        except OSError as exc:
            raise JournalError(f"paper journal {self.path} not written: {exc}") from exc
        self._lines += 1

    def _sync_dir(self) -> None:
        if not self.fsync or os.name == "nt":
            return
        fd = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def _mark_saved(self, account: PaperAccount) -> None:
        self._orders = {c: _order_sig(o) for c, o in account.orders.items()}
        self._fills = len(account.fills)
        self._state = self._state_key(account)

    @staticmethod
    def _state_key(account: PaperAccount) -> str:
        """Everything but marks and candles: a bar that moved only the price writes nothing."""
        books = [
            (b.symbol, b.category.value, *(getattr(b, k) for k in _BOOK_STATE), len(b.orders))
            for b in account.books.values()
        ]
        return repr(([getattr(account, k) for k in _SCALARS if k != "now_ms"], books))
