"""`workstation headless`: the engine and its API without Qt; `headless token rotate`."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from workstation.commands.common import options, out_console

app = typer.Typer(help="Run the engine headless (no Qt) with its HTTP/WebSocket API.", invoke_without_command=True)
token_app = typer.Typer(help="API bearer tokens.", no_args_is_help=True)
app.add_typer(token_app, name="token")


@app.callback()
def headless(
    ctx: typer.Context,
    host: Annotated[
        str, typer.Option("--host", help="Address to bind (non-loopback needs a TLS reverse proxy).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="TCP port.", min=1, max=65535)] = 8765,
    replay: Annotated[
        str | None,
        typer.Option(
            "--replay",
            envvar="WORKSTATION_REPLAY",
            help="Paper venue only: replay stored candles through it, as "
            "SYMBOL:INTERVAL[:STRATEGY[:NAME=VALUE,NAME=VALUE...]], e.g. BTCUSDT:1m:sma_cross:fast=5,slow=20 or "
            "ETHUSDT:1h:ml_classifier:features=2,peer=1 (parameters not given keep their defaults).",
        ),
    ] = None,
    replay_speed: Annotated[
        float,
        typer.Option(
            "--replay-speed",
            envvar="WORKSTATION_REPLAY_SPEED",
            help="Candles per second for --replay (0 = as fast as possible).",
            min=0,
        ),
    ] = 0.0,
    sync: Annotated[
        bool,
        typer.Option("--sync/--no-sync", help="Top up data.universe now and every data.sync_every while running."),
    ] = True,
) -> None:
    """Run the headless engine until interrupted."""
    if ctx.invoked_subcommand is not None:
        return
    rt = options(ctx).runtime()
    from workstation.api.server import serve

    if replay is not None:
        from workstation.paper.session import ReplaySpec

        try:
            ReplaySpec.parse(replay)
        except (ValueError, KeyError) as exc:
            raise typer.BadParameter(str(exc), param_hint="--replay") from None
    raise typer.Exit(asyncio.run(serve(rt, host, port, replay=replay, replay_speed=replay_speed, sync=sync)))


@token_app.command("rotate")
def rotate(ctx: typer.Context) -> None:
    """Make new read and admin tokens; the old ones stop working (restart a running engine)."""
    rt = options(ctx).runtime()
    from workstation.api.tokens import TokenStore

    issued = TokenStore.for_home(rt.home).rotate()
    out_console.print("new API tokens (shown once; the old ones no longer work):", markup=False)
    out_console.print(f"  read/operator token: {issued.read}", markup=False)
    out_console.print(f"  admin token:         {issued.admin}", markup=False)
