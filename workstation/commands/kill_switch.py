"""`workstation kill-switch status|engage|clear`."""

from __future__ import annotations

import getpass
from typing import Annotated

import typer

from workstation.commands.common import options, out_console

app = typer.Typer(help="The kill switch: HALTED survives restarts until a human clears it.", no_args_is_help=True)


def _who() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


@app.command("status")
def status(ctx: typer.Context) -> None:
    """Show whether the kill switch is engaged."""
    rt = options(ctx).runtime()
    out_console.print(f"kill switch: {rt.kill_switch.describe()}", markup=False)


@app.command("engage")
def engage(
    ctx: typer.Context,
    reason: Annotated[str, typer.Option("--reason", help="Why (kept in the log and the state file).")],
) -> None:
    """Engage the kill switch: new risk is refused until `clear`."""
    rt = options(ctx).runtime()
    rt.kill_switch.engage(reason, _who())
    out_console.print(f"kill switch: {rt.kill_switch.describe()}", markup=False)


@app.command("clear")
def clear(ctx: typer.Context) -> None:
    """Clear the kill switch (a human decision; logged)."""
    rt = options(ctx).runtime()
    rt.kill_switch.clear(_who())
    out_console.print(f"kill switch: {rt.kill_switch.describe()}", markup=False)
