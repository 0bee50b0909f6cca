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


# --- remote engine tokens (for `workstation gui --remote URL`) -------------------------------

REMOTE_TOKEN_SERVICE = "open-alpha-workstation-remote"


def remote_key(url: str) -> str:
    return url.strip().rstrip("/")


def store_remote_token(url: str, token: str) -> None:
    """Keep the API token for a headless engine in the OS keyring (never in a file)."""
    from workstation.secrets.backends import default_backend, resolve_backend

    if not token.strip():
        raise SecretsError("the token is empty")
    register_secret(token)
    backend = resolve_backend(default_backend())
    failure = None
    try:
        backend.set_password(REMOTE_TOKEN_SERVICE, remote_key(url), token.strip())
    except Exception as exc:  # backends differ (DBus, Keychain, WinCred): report, never echo the token
        failure = type(exc).__name__
    if failure is not None:
        raise SecretsError(f"could not store the token for {remote_key(url)} in the keyring ({failure})")


def remote_token(url: str) -> str | None:
    from workstation.secrets.backends import default_backend, resolve_backend

    backend = resolve_backend(default_backend())
    token = backend.get_password(REMOTE_TOKEN_SERVICE, remote_key(url))
    if token:
        register_secret(token)
    return token


@app.command("set-token")
def set_token(
    url: Annotated[str, typer.Argument(help="The headless engine, e.g. https://droplet.example:443")],
) -> None:
    """Store the API token `workstation gui --remote URL` uses (typed without echo, kept in the keyring)."""
    token = typer.prompt(f"API token for {remote_key(url)}", hide_input=True).strip()
    try:
        store_remote_token(url, token)
    except SecretsError as exc:
        fail(f"error: {exc}")
    out_console.print(f"stored the API token for {remote_key(url)} in the OS keyring", markup=False)


@app.command("delete-token")
def delete_token(url: Annotated[str, typer.Argument(help="The headless engine URL")]) -> None:
    """Forget the API token stored for URL."""
    from keyring.errors import PasswordDeleteError

    from workstation.secrets.backends import default_backend, resolve_backend

    try:
        resolve_backend(default_backend()).delete_password(REMOTE_TOKEN_SERVICE, remote_key(url))
    except PasswordDeleteError:
        fail(f"no API token stored for {remote_key(url)}")
    except SecretsError as exc:
        fail(f"error: {exc}")
    out_console.print(f"deleted the API token for {remote_key(url)}", markup=False)
