"""`workstation orders|positions|balances [--json]`: the ledger and the saved paper account of --home.

They read files only (the SQLite ledger, the paper journal): safe while a trader runs, and they
never load a key or open a socket."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from decimal import Decimal
from typing import Annotated, Any, TypeVar

import typer
from rich.table import Table

from workstation.commands.common import options, out_console
from workstation.core.enums import Category

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]
VenueOpt = Annotated[str | None, typer.Option("--venue", help="Only this venue (paper, bybit-testnet, ...).")]
T = TypeVar("T")


def _s(value: Decimal | None) -> str | None:
    return None if value is None else format(value.normalize(), "f")


def _ledger(ctx: typer.Context, read: Callable[[Any], T], empty: T) -> T:
    from workstation.engine.kernel import ledger_path
    from workstation.engine.ledger import Ledger

    path = ledger_path(options(ctx).runtime().home)
    if not path.exists():
        return empty
    ledger = Ledger.open(path)
    try:
        return read(ledger)
    finally:
        ledger.close()


def _print_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2))


def orders(
    ctx: typer.Context,
    as_json: JsonOpt = False,
    open_only: Annotated[bool, typer.Option("--open", help="Only orders still open.")] = False,
    venue: VenueOpt = None,
) -> None:
    """Orders in the ledger, newest last, each with its fills."""
    records, fills = _ledger(
        ctx, lambda lg: (lg.orders(open_only=open_only, venue=venue), lg.fills(venue=venue)), ([], [])
    )
    by_order: dict[str, list[Any]] = {}
    for f in fills:
        by_order.setdefault(f.client_order_id, []).append(f)
    rows = []
    for r in records:
        o = r.order
        rows.append(
            {
                "client_order_id": o.client_order_id,
                "venue": o.venue,
                "symbol": o.symbol,
                "side": o.side.value,
                "type": o.order_type.value,
                "qty": _s(o.qty),
                "price": _s(o.price),
                "status": o.status.value,
                "filled_qty": _s(o.filled_qty),
                "avg_price": _s(o.avg_price),
                "reduce_only": r.reduce_only,
                "reason": r.reason,
                "created_ms": o.created_ms,
                "fills": [
                    {"exec_id": f.exec_id, "qty": _s(f.qty), "price": _s(f.price), "fee": _s(f.fee), "ts": f.ts}
                    for f in by_order.get(o.client_order_id, [])
                ],
            }
        )
    protective = [f for f in fills if not f.client_order_id]
    if as_json:
        exits = [{"exec_id": f.exec_id, "symbol": f.symbol, "side": f.side.value, "qty": _s(f.qty),
                  "price": _s(f.price), "ts": f.ts} for f in protective]  # fmt: skip
        _print_json({"orders": rows, "protective_fills": exits})
        return
    if not rows:
        out_console.print("no orders in the ledger", markup=False)
        return
    table = Table("order", "venue", "symbol", "side", "type", "qty", "price", "status", "filled", "avg", "fills")
    for row in rows:
        table.add_row(
            row["client_order_id"], row["venue"], row["symbol"], row["side"], row["type"], row["qty"],
            row["price"] or "", row["status"], row["filled_qty"], row["avg_price"] or "", str(len(row["fills"])),
        )  # fmt: skip
    out_console.print(table)
    n_fills = sum(len(r["fills"]) for r in rows) + len(protective)
    out_console.print(f"{len(rows)} order(s), {n_fills} fill(s)", markup=False)


def positions(ctx: typer.Context, as_json: JsonOpt = False, venue: VenueOpt = None) -> None:
    """Positions in the ledger, and those the saved paper venue holds."""
    states = _ledger(ctx, lambda lg: lg.positions(venue), [])
    rows = [
        {
            "venue": p.venue,
            "symbol": p.symbol,
            "size": _s(p.size),
            "entry_price": _s(p.entry_price),
            "realized_pnl": _s(p.realized_pnl),
            "fees": _s(p.fees),
            "source": "ledger",
        }
        for p in states
        if p.size != 0
    ]
    paper = _paper(ctx) if venue in (None, "paper") else None
    if paper is not None:
        for p in asyncio.run(paper.fetch_positions(Category.LINEAR)):
            size = p.size if p.side is None or p.side.value == "Buy" else -p.size
            rows.append({"venue": "paper", "symbol": p.symbol, "size": _s(size), "entry_price": _s(p.entry_price),
                         "mark_price": _s(p.mark_price), "unrealized_pnl": _s(p.unrealized_pnl),
                         "source": "paper venue"})  # fmt: skip
    if as_json:
        _print_json(rows)
        return
    if not rows:
        out_console.print("no open positions", markup=False)
        return
    table = Table("venue", "symbol", "size", "entry", "source")
    for row in rows:
        table.add_row(row["venue"], row["symbol"], row["size"], row["entry_price"], row["source"])
    out_console.print(table)


def balances(ctx: typer.Context, as_json: JsonOpt = False, venue: VenueOpt = None) -> None:
    """The saved paper account's balance, and the ledger's last balance snapshot per venue."""
    rows: list[dict[str, Any]] = []
    paper = _paper(ctx) if venue in (None, "paper") else None
    if paper is not None:
        for b in asyncio.run(paper.fetch_balances()):
            rows.append({"venue": b.venue, "coin": b.coin, "total": _s(b.total), "available": _s(b.available),
                         "equity": _s(b.extra.get("equity")), "source": "paper venue"})  # fmt: skip

    def snapshots(lg: Any) -> list[Any]:
        from sqlalchemy import select

        from workstation.engine import schema

        with lg.engine.connect() as conn:
            venues = [v for (v,) in conn.execute(select(schema.balance_snapshots.c.venue).distinct())]
        return [b for v in venues if venue in (None, v) for b in lg.latest_balances(v)]

    for b in _ledger(ctx, snapshots, []):
        rows.append({"venue": b.venue, "coin": b.coin, "total": _s(b.total), "available": _s(b.available),
                     "source": "ledger snapshot"})  # fmt: skip
    if as_json:
        _print_json(rows)
        return
    if not rows:
        out_console.print("no balances yet (nothing has traded in this home)", markup=False)
        return
    table = Table("venue", "coin", "total", "available", "source")
    for row in rows:
        table.add_row(row["venue"], row["coin"], row["total"], row["available"], row["source"])
    out_console.print(table)


def _paper(ctx: typer.Context) -> Any:
    from workstation.paper.store import read_paper

    rt = options(ctx).runtime()
    return read_paper(rt.home, cash=rt.settings.trading.paper_balance)
