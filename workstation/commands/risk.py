"""`workstation risk status|clear-halt|reduce|resume`: the trading state and the limits behind it."""

from __future__ import annotations

import getpass
import json
from decimal import Decimal
from typing import Annotated, Any

import typer

from workstation.commands.common import fail, options, out_console, stdin_is_tty
from workstation.core.clock import SystemClock, utc_iso
from workstation.paper.risk_path import paper_risk_path
from workstation.risk.growth_view import growth_view
from workstation.risk.limits import RiskLimits
from workstation.risk.rates import ccxt_ticker
from workstation.risk.state import RiskStateStore
from workstation.runtime import Runtime

app = typer.Typer(help="The risk manager: trading state (ACTIVE/REDUCING/HALTED) and limits.", no_args_is_help=True)


def _who() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


PaperOpt = Annotated[
    bool, typer.Option("--paper", help="The paper account's trading state (<home>/state/paper/risk.json).")
]


def risk_store(rt: Runtime, paper: bool = False) -> RiskStateStore:
    """The live trading state (<home>/state/risk.json), or with `paper` the paper account's own."""
    path = paper_risk_path(rt.home) if paper else rt.state_dir / "risk.json"
    return RiskStateStore(path, kill_switch=rt.kill_switch, bus=rt.bus)


def _status(rt: Runtime, paper: bool = False) -> dict[str, Any]:
    s = rt.settings.risk
    store = risk_store(rt, paper)
    view = store.refresh()
    limits = RiskLimits(s, store, SystemClock())
    book = store.book
    usage = limits.usage()
    out: dict[str, Any] = {
        "account": "paper" if paper else "live",
        "state_file": str(store.path),
        "state": view.state.value,
        "reason": view.reason,
        "kill_switch": rt.kill_switch.describe(),
        "halts": [h.describe() for h in view.halts],
        "equity": {
            "last": None if book.last_equity is None else str(book.last_equity),
            "last_at": utc_iso(book.last_equity_ms) if book.last_equity_ms else None,
            "peak": None if book.peak_equity is None else str(book.peak_equity),
            "day": book.day,
            "day_start": None if book.day_start_equity is None else str(book.day_start_equity),
        },
        "usage": {
            "daily_loss": f"{usage.daily_loss:.4f}",
            "daily_budget_used": f"{usage.daily_used:.4f}",
            "drawdown": f"{usage.drawdown:.4f}",
            "drawdown_budget_used": f"{usage.drawdown_used:.4f}",
        },
        "limits": s.model_dump(mode="json", exclude={"growth", "monitor"}),
        "growth": _growth(rt, book.last_equity),
    }
    return out


def _growth(rt: Runtime, equity: Decimal | None) -> dict[str, Any]:
    return growth_view(rt.settings.risk, equity, SystemClock().now_ms(), ccxt_ticker)


@app.command("status")
def status(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
    paper: PaperOpt = False,
) -> None:
    """Show the trading state, why, the loss budgets used and the balance-building milestone."""
    rt = options(ctx).runtime()
    data = _status(rt, paper)
    if as_json:
        out_console.print_json(json.dumps(data))
        return
    style = {"ACTIVE": "green", "REDUCING": "yellow", "HALTED": "bold red"}[data["state"]]
    out_console.print(f"trading state: [{style}]{data['state']}[/]")
    out_console.print(f"  {data['reason']}", markup=False)
    eq, use = data["equity"], data["usage"]
    out_console.print(
        f"equity: last {eq['last']} (at {eq['last_at']}), peak {eq['peak']}, day start {eq['day_start']} ({eq['day']})",
        markup=False,
    )
    out_console.print(
        f"daily loss {float(use['daily_loss']):.2%} ({float(use['daily_budget_used']):.0%} of the budget), "
        f"drawdown {float(use['drawdown']):.2%} ({float(use['drawdown_budget_used']):.0%} of the budget)",
        markup=False,
    )
    lim = data["limits"]
    out_console.print(
        f"limits: risk/trade {lim['max_risk_per_trade']:.2%}, daily loss {lim['daily_loss_limit']:.2%}, "
        f"drawdown {lim['max_drawdown']:.2%}, leverage {lim['max_leverage']:g}x, "
        f"{lim['max_open_positions']} positions, {lim['max_orders_per_minute']} orders/min",
        markup=False,
    )
    growth = data["growth"]
    style = "red" if "sizing_refused" in growth else None
    out_console.print(f"balance building: {growth['summary']}", markup=False, style=style)


@app.command("clear-halt")
def clear_halt(
    ctx: typer.Context,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    paper: PaperOpt = False,
) -> None:
    """Lift the limit halts (drawdown, daily loss). The kill switch is separate: `kill-switch clear`."""
    rt = options(ctx).runtime()
    store = risk_store(rt, paper)
    halts = store.view().halts
    if not halts:
        out_console.print("no limit halt to clear", markup=False)
        if rt.kill_switch.engaged:
            out_console.print(
                f"kill switch: {rt.kill_switch.describe()} (clear it with `workstation kill-switch clear`)"
            )
        return
    for halt in halts:
        out_console.print(f"HALTED: {halt.describe()}", markup=False)
    if not yes:
        if not stdin_is_tty():
            fail("refusing to clear without confirmation: pass --yes, or run it in a terminal")
        typer.confirm("Clear these halts? The drawdown will be measured from the current equity", abort=True)
    store.clear_halts(by=_who())
    out_console.print(f"trading state: {store.view().state.value}", markup=False)


@app.command("reduce")
def reduce(
    ctx: typer.Context, reason: Annotated[str, typer.Option("--reason", help="Why (kept in the state file).")]
) -> None:
    """Set REDUCING by hand: only orders that reduce risk pass until `resume`."""
    rt = options(ctx).runtime()
    store = risk_store(rt)
    store.set_manual_reducing(reason, by=_who())
    out_console.print(f"trading state: {store.view().state.value}: {store.view().reason}", markup=False)


@app.command("resume")
def resume(ctx: typer.Context) -> None:
    """Lift a REDUCING state set by hand (limit halts and the kill switch are unaffected)."""
    rt = options(ctx).runtime()
    store = risk_store(rt)
    store.set_manual_reducing(None, by=_who())
    out_console.print(f"trading state: {store.view().state.value}: {store.view().reason}", markup=False)
