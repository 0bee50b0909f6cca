"""The durable ledger: orders, fills, funding, positions, balance snapshots and an audit log in SQLite (WAL).

Every write is one short transaction, committed with synchronous=FULL, so a `kill -9` (or a power
cut) keeps everything that was committed. An order row is committed before its request is sent.
Fills and funding settlements are keyed by the venue's execution id, so recording one twice is a
no-op (the private stream and the REST execution pull both deliver them).

The methods are blocking; the engine calls them through `Ledger.call`, which runs them one at a time
on the ledger's own thread (never on the event loop, and never two writers at once).
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, RowMapping, create_engine, event, insert, select
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError, IntegrityError

from workstation.core.enums import Category, OrderStatus, OrderType, Side, TimeInForce
from workstation.core.errors import WorkstationError
from workstation.core.funding import FundingPayment
from workstation.core.types import Balance, Fill, Order
from workstation.engine import schema
from workstation.engine.portfolio import PositionState
from workstation.engine.state import OPEN, OrderRecord
from workstation.storage.migrations import Migrations

log = logging.getLogger(__name__)
T = TypeVar("T")
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


class LedgerUnavailable(WorkstationError):
    """The ledger could not be written or read (database locked, disk full, I/O error)."""


class DuplicateOrderError(WorkstationError):
    """An order with this client order id is already in the ledger."""


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _s(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _d(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


# --- migrations ------------------------------------------------------------------------------
MIGRATIONS = Migrations(MIGRATIONS_DIR, schema.VERSION_TABLE)
head_revision = MIGRATIONS.head_revision
current_revision = MIGRATIONS.current_revision
upgrade_to_head = MIGRATIONS.upgrade_to_head


# --- rows <-> domain ---------------------------------------------------------------------------
def _order_values(record: OrderRecord) -> dict[str, Any]:
    o = record.order
    return {
        "client_order_id": o.client_order_id,
        "venue": o.venue,
        "category": record.category.value,
        "symbol": o.symbol,
        "side": o.side.value,
        "order_type": o.order_type.value,
        "qty": str(o.qty),
        "price": _s(o.price),
        "trigger_price": _s(record.trigger_price),
        "time_in_force": record.time_in_force.value,
        "reduce_only": record.reduce_only,
        "stop_loss": _s(record.stop_loss),
        "take_profit": _s(record.take_profit),
        "status": o.status.value,
        "filled_qty": str(o.filled_qty),
        "avg_price": _s(o.avg_price),
        "venue_order_id": o.venue_order_id,
        "created_ms": o.created_ms,
        "updated_ms": o.updated_ms,
        "reason": record.reason,
        "origin": record.origin,
        "inferred": record.inferred,
        "misses": record.misses,
    }


def _order_record(row: RowMapping) -> OrderRecord:
    order = Order(
        client_order_id=row["client_order_id"],
        venue=row["venue"],
        symbol=row["symbol"],
        side=Side(row["side"]),
        order_type=OrderType(row["order_type"]),
        qty=Decimal(row["qty"]),
        price=_d(row["price"]),
        status=OrderStatus(row["status"]),
        filled_qty=Decimal(row["filled_qty"]),
        avg_price=_d(row["avg_price"]),
        venue_order_id=row["venue_order_id"],
        created_ms=row["created_ms"],
        updated_ms=row["updated_ms"],
    )
    return OrderRecord(
        order=order,
        category=Category(row["category"]),
        time_in_force=TimeInForce(row["time_in_force"]),
        reduce_only=bool(row["reduce_only"]),
        trigger_price=_d(row["trigger_price"]),
        stop_loss=_d(row["stop_loss"]),
        take_profit=_d(row["take_profit"]),
        reason=row["reason"],
        origin=row["origin"],
        inferred=bool(row["inferred"]),
        misses=row["misses"],
    )


def _fill(row: RowMapping) -> Fill:
    return Fill(
        exec_id=row["exec_id"],
        client_order_id=row["client_order_id"],
        symbol=row["symbol"],
        side=Side(row["side"]),
        qty=Decimal(row["qty"]),
        price=Decimal(row["price"]),
        fee=Decimal(row["fee"]),
        fee_currency=row["fee_currency"],
        ts=row["ts"],
        is_maker=bool(row["is_maker"]),
    )


def _funding(row: RowMapping) -> FundingPayment:
    return FundingPayment(
        exec_id=row["exec_id"],
        symbol=row["symbol"],
        ts=row["ts"],
        amount=Decimal(row["amount"]),
        currency=row["currency"],
        rate=_d(row["rate"]),
        position_qty=Decimal(row["position_qty"]),
        price=_d(row["price"]),
    )


def _position_values(p: PositionState) -> dict[str, Any]:
    return {
        "venue": p.venue,
        "symbol": p.symbol,
        "size": str(p.size),
        "entry_price": str(p.entry_price),
        "realized_pnl": str(p.realized_pnl),
        "fees": str(p.fees),
        "source": p.source,
        "updated_ms": p.updated_ms,
    }


class Ledger:
    def __init__(self, engine: Engine, path: Path | None = None) -> None:
        self.engine = engine
        self.path = path
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ledger")

    @classmethod
    def open(cls, path: str | Path, *, busy_timeout_s: float = 5.0) -> Ledger:
        """Open (creating if needed) the ledger file and migrate it to the newest schema."""
        file = Path(path).expanduser().resolve()
        file.parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            f"sqlite:///{file}", connect_args={"check_same_thread": False, "timeout": busy_timeout_s}
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        upgrade_to_head(engine)
        return cls(engine, file)

    def close(self) -> None:
        self._executor.shutdown(wait=True)
        self.engine.dispose()

    async def call(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a ledger method on the ledger thread; calls run in the order they were made."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(function, *args, **kwargs))

    @contextmanager
    def _tx(self) -> Iterator[Connection]:
        try:
            with self.engine.begin() as conn:
                yield conn
        except IntegrityError:
            raise
        except DBAPIError as exc:
            raise LedgerUnavailable(f"ledger write failed: {exc.orig}") from None

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        try:
            with self.engine.connect() as conn:
                yield conn
        except DBAPIError as exc:
            raise LedgerUnavailable(f"ledger read failed: {exc.orig}") from None

    # --- orders -------------------------------------------------------------------------------
    def insert_order(self, record: OrderRecord, *, kind: str = "order_created") -> None:
        """Commit a new order row. Raises DuplicateOrderError when the id is taken."""
        try:
            with self._tx() as conn:
                conn.execute(insert(schema.orders).values(**_order_values(record)))
                self._audit(conn, kind, record.client_order_id, _order_values(record))
        except IntegrityError:
            raise DuplicateOrderError(f"order {record.client_order_id} is already in the ledger") from None

    def save_order(self, record: OrderRecord, *, kind: str = "order_updated") -> None:
        values = _order_values(record)
        with self._tx() as conn:
            stmt = sqlite_insert(schema.orders).values(**values)
            conn.execute(stmt.on_conflict_do_update(index_elements=["client_order_id"], set_=values))
            self._audit(
                conn,
                kind,
                record.client_order_id,
                {k: values[k] for k in ("status", "filled_qty", "avg_price", "venue_order_id", "reason", "misses")},
            )

    def order(self, client_order_id: str) -> OrderRecord | None:
        with self._read() as conn:
            row = (
                conn.execute(select(schema.orders).where(schema.orders.c.client_order_id == client_order_id))
                .mappings()
                .first()
            )
        return _order_record(row) if row else None

    def orders(self, *, open_only: bool = False, venue: str | None = None) -> list[OrderRecord]:
        query = select(schema.orders).order_by(schema.orders.c.created_ms, schema.orders.c.client_order_id)
        if open_only:
            query = query.where(schema.orders.c.status.in_([s.value for s in OPEN]))
        if venue is not None:
            query = query.where(schema.orders.c.venue == venue)
        with self._read() as conn:
            return [_order_record(row) for row in conn.execute(query).mappings()]

    # --- fills and positions ------------------------------------------------------------------
    def record_fill(self, fill: Fill, venue: str, position: PositionState | None = None) -> bool:
        """Store a fill (and the position it leads to) in one transaction. False: already stored."""
        values = {
            "exec_id": fill.exec_id,
            "client_order_id": fill.client_order_id,
            "venue": venue,
            "symbol": fill.symbol,
            "side": fill.side.value,
            "qty": str(fill.qty),
            "price": str(fill.price),
            "fee": str(fill.fee),
            "fee_currency": fill.fee_currency,
            "ts": fill.ts,
            "is_maker": fill.is_maker,
            "recorded_ms": _now_ms(),
        }
        with self._tx() as conn:
            result = conn.execute(sqlite_insert(schema.fills).values(**values).on_conflict_do_nothing())
            if result.rowcount == 0:
                return False
            if position is not None:
                self._upsert_position(conn, position)
            self._audit(conn, "fill", fill.client_order_id, {k: values[k] for k in ("exec_id", "qty", "price")})
        return True

    def fills(self, client_order_id: str | None = None, venue: str | None = None) -> list[Fill]:
        query = select(schema.fills).order_by(schema.fills.c.ts, schema.fills.c.exec_id)
        if client_order_id is not None:
            query = query.where(schema.fills.c.client_order_id == client_order_id)
        if venue is not None:
            query = query.where(schema.fills.c.venue == venue)
        with self._read() as conn:
            return [_fill(row) for row in conn.execute(query).mappings()]

    def exec_ids(self) -> set[str]:
        with self._read() as conn:
            return set(conn.execute(select(schema.fills.c.exec_id)).scalars())

    # --- funding --------------------------------------------------------------------------------
    def record_funding(self, payment: FundingPayment, venue: str, *, source: str = "rest") -> bool:
        """Store a funding settlement (amount: paid +, received -). False: already stored."""
        values = {
            "exec_id": payment.exec_id,
            "venue": venue,
            "symbol": payment.symbol,
            "ts": payment.ts,
            "amount": str(payment.amount),
            "currency": payment.currency,
            "rate": _s(payment.rate),
            "position_qty": str(payment.position_qty),
            "price": _s(payment.price),
            "source": source,
            "recorded_ms": _now_ms(),
        }
        with self._tx() as conn:
            result = conn.execute(sqlite_insert(schema.funding).values(**values).on_conflict_do_nothing())
            if result.rowcount == 0:
                return False
            self._audit(conn, "funding", None, {k: values[k] for k in ("exec_id", "symbol", "ts", "amount", "source")})
        return True

    def funding(
        self,
        venue: str | None = None,
        symbol: str | None = None,
        *,
        start_ms: int | None = None,
        end_ms: int | None = None,
    ) -> list[FundingPayment]:
        """Funding settlements in time order; `start_ms` inclusive, `end_ms` exclusive."""
        t = schema.funding
        query = select(t).order_by(t.c.ts, t.c.exec_id)
        if venue is not None:
            query = query.where(t.c.venue == venue)
        if symbol is not None:
            query = query.where(t.c.symbol == symbol)
        if start_ms is not None:
            query = query.where(t.c.ts >= start_ms)
        if end_ms is not None:
            query = query.where(t.c.ts < end_ms)
        with self._read() as conn:
            return [_funding(row) for row in conn.execute(query).mappings()]

    def funding_ids(self, venue: str | None = None) -> set[str]:
        t = schema.funding
        query = select(t.c.exec_id) if venue is None else select(t.c.exec_id).where(t.c.venue == venue)
        with self._read() as conn:
            return set(conn.execute(query).scalars())

    def save_position(self, position: PositionState, *, kind: str = "position") -> None:
        with self._tx() as conn:
            self._upsert_position(conn, position)
            self._audit(conn, kind, None, _position_values(position))

    @staticmethod
    def _upsert_position(conn: Connection, position: PositionState) -> None:
        values = _position_values(position)
        stmt = sqlite_insert(schema.positions).values(**values)
        conn.execute(stmt.on_conflict_do_update(index_elements=["venue", "symbol"], set_=values))

    def positions(self, venue: str | None = None) -> list[PositionState]:
        query = select(schema.positions).order_by(schema.positions.c.venue, schema.positions.c.symbol)
        if venue is not None:
            query = query.where(schema.positions.c.venue == venue)
        with self._read() as conn:
            return [
                PositionState(
                    venue=row["venue"],
                    symbol=row["symbol"],
                    size=Decimal(row["size"]),
                    entry_price=Decimal(row["entry_price"]),
                    realized_pnl=Decimal(row["realized_pnl"]),
                    fees=Decimal(row["fees"]),
                    source=row["source"],
                    updated_ms=row["updated_ms"],
                )
                for row in conn.execute(query).mappings()
            ]

    # --- balances and audit -------------------------------------------------------------------
    def snapshot_balances(self, balances: Iterable[Balance], ts_ms: int) -> None:
        rows = [
            {"venue": b.venue, "coin": b.coin, "total": str(b.total), "available": str(b.available), "ts": ts_ms}
            for b in balances
        ]
        if rows:
            with self._tx() as conn:
                conn.execute(insert(schema.balance_snapshots), rows)

    def latest_balances(self, venue: str) -> list[Balance]:
        t = schema.balance_snapshots
        with self._read() as conn:
            last = conn.execute(select(t.c.ts).where(t.c.venue == venue).order_by(t.c.ts.desc()).limit(1)).scalar()
            if last is None:
                return []
            rows = conn.execute(select(t).where(t.c.venue == venue, t.c.ts == last).order_by(t.c.coin)).mappings()
            return [Balance(r["venue"], r["coin"], Decimal(r["total"]), Decimal(r["available"])) for r in rows]

    def audit(self, kind: str, client_order_id: str | None, detail: dict[str, Any]) -> None:
        with self._tx() as conn:
            self._audit(conn, kind, client_order_id, detail)

    @staticmethod
    def _audit(conn: Connection, kind: str, client_order_id: str | None, detail: dict[str, Any]) -> None:
        conn.execute(
            insert(schema.audit_log).values(
                ts=_now_ms(), kind=kind, client_order_id=client_order_id, detail=json.dumps(detail, default=str)
            )
        )

    def audit_entries(self, client_order_id: str | None = None) -> list[dict[str, Any]]:
        t = schema.audit_log
        query = select(t).order_by(t.c.id)
        if client_order_id is not None:
            query = query.where(t.c.client_order_id == client_order_id)
        with self._read() as conn:
            return [
                {"ts": r["ts"], "kind": r["kind"], "client_order_id": r["client_order_id"], **json.loads(r["detail"])}
                for r in conn.execute(query).mappings()
            ]


def _sqlite_pragmas(dbapi_connection: Any, _record: object) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")  # money: a commit survives a power cut, not only a crash
    cursor.close()
