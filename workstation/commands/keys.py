"""`workstation keys set|list|delete VENUE`: API keys in the OS keyring, never echoed."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from workstation.commands.common import fail, out_console
from workstation.core.enums import Venue
from workstation.core.errors import SecretsError
from workstation.core.types import ApiCredentials
from workstation.logs import register_secret
from workstation.secrets.keystore import KeyStore

app = typer.Typer(help="Store, list and delete exchange API keys (OS keyring).", no_args_is_help=True)

KEYED_VENUES = [v.value for v in Venue if v.needs_keys]


def parse_venue(text: str) -> Venue:
    try:
        venue = Venue(text)
    except ValueError:
        fail(f"unknown venue {text!r}: expected one of {', '.join(KEYED_VENUES)}", code=2)
    if not venue.needs_keys:
        fail(f"{venue.value} needs no API keys: paper trading never loads secrets", code=2)
    return venue


def keystore() -> KeyStore:
    return KeyStore()


@app.command("set")
def set_key(
    venue: Annotated[str, typer.Argument(help=f"One of: {', '.join(KEYED_VENUES)}")],
) -> None:
    """Store a key pair for VENUE. Both values are typed without echo."""
    chosen = parse_venue(venue)
    api_key = typer.prompt(f"{chosen.value} API key", hide_input=True).strip()
    api_secret = typer.prompt(f"{chosen.value} API secret", hide_input=True).strip()
    register_secret(api_key, api_secret)
    try:
        keystore().set(chosen, ApiCredentials(api_key=api_key, api_secret=api_secret))
    except (SecretsError, ValueError) as exc:
        fail(f"error: {exc}")
    out_console.print(f"stored the API key for {chosen.value} in the OS keyring", markup=False)
    out_console.print("next: `workstation doctor` checks it has no withdraw permission", markup=False)


@app.command("list")
def list_keys(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show which venues have keys and where they come from (never any part of a key)."""
    try:
        stored = keystore().list()
    except SecretsError as exc:
        fail(f"error: {exc}")
    if as_json:
        out_console.print_json(json.dumps([{"venue": s.venue.value, "source": s.source} for s in stored]))
        return
    if not stored:
        out_console.print("no API keys stored (add one with: workstation keys set bybit-testnet)", markup=False)
        return
    table = Table("venue", "source")
    for item in stored:
        table.add_row(item.venue.value, item.source)
    out_console.print(table)


@app.command("delete")
def delete_key(
    venue: Annotated[str, typer.Argument(help=f"One of: {', '.join(KEYED_VENUES)}")],
) -> None:
    """Delete VENUE's key pair from the OS keyring."""
    chosen = parse_venue(venue)
    try:
        removed = keystore().delete(chosen)
    except SecretsError as exc:
        fail(f"error: {exc}")
    if not removed:
        fail(f"no API key stored in the keyring for {chosen.value}")
    out_console.print(f"deleted the API key for {chosen.value}", markup=False)
