"""`workstation doctor`: the preflight safety validation."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from workstation.commands.common import EXIT_FAILED, options, out_console
from workstation.commands.probes import probe_for
from workstation.core.enums import Venue
from workstation.core.errors import SecretsError
from workstation.safety.preflight import (
    KeyPresence,
    PreflightContext,
    SecretsBackendState,
    Status,
    passed,
    run_preflight,
)
from workstation.secrets.backends import describe_backend
from workstation.secrets.keystore import KeyStore

_STYLE = {Status.PASS: "green", Status.WARN: "yellow", Status.FAIL: "bold red"}


def doctor(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print the checks as JSON.")] = False,
    confirm_mainnet: Annotated[
        bool, typer.Option("--confirm-mainnet", help="Confirm that mainnet (real money) is intended.")
    ] = False,
    offline: Annotated[bool, typer.Option("--offline", help="Skip checks that need the network.")] = False,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds per network check.")] = 3.0,
) -> None:
    """Run the preflight safety checks. Exit 0 when nothing failed, 1 otherwise."""
    rt = options(ctx).runtime(confirm_mainnet=confirm_mainnet)
    keystore = KeyStore()

    def key_presence(venue: Venue) -> KeyPresence:
        try:
            found = [k for k in keystore.list() if k.venue is venue]
        except SecretsError as exc:
            return KeyPresence(False, error=str(exc))
        return KeyPresence(bool(found), source=found[0].source if found else "")

    def secrets_backend(probe: bool) -> SecretsBackendState:
        described = describe_backend(probe=probe)
        return SecretsBackendState(described.name, described.usable, described.problem)

    pctx = PreflightContext(
        settings=rt.settings,
        home=rt.home,
        confirm_mainnet=confirm_mainnet,
        online=not offline,
        key_presence=key_presence,
        secrets_backend=secrets_backend,
        probe=probe_for(rt.settings.trading.venue, rt.settings, keystore),
        kill_switch_description=rt.kill_switch.describe(),
        timeout_s=timeout,
    )
    results = run_preflight(pctx)
    ok = passed(results)
    if as_json:
        out_console.print_json(json.dumps({"ok": ok, "checks": [r.to_json() for r in results]}))
    else:
        table = Table("check", "status", "reason", "fix", show_lines=False)
        for r in results:
            table.add_row(r.name, f"[{_STYLE[r.status]}]{r.status.value.upper()}[/]", r.reason, r.fix)
        out_console.print(table)
        out_console.print("[green]preflight passed[/]" if ok else "[bold red]preflight FAILED[/]")
    if not ok:
        raise typer.Exit(EXIT_FAILED)
