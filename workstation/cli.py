"""`workstation ...`: the command-line entry point and the composition root for headless commands."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from workstation import APP_NAME, __version__
from workstation.commands import config_cmd, keys, kill_switch
from workstation.commands.common import GlobalOptions, options
from workstation.commands.doctor import doctor

# Commands whose modules pull in heavy libraries (pandas, numba, scikit-learn, FastAPI) are
# imported only when invoked, so `workstation keys list` does not pay for `discover`.
LAZY_GROUPS = {
    "data": "workstation.commands.data",
    "backtest": "workstation.commands.backtest",
    "headless": "workstation.commands.headless",
    "risk": "workstation.commands.risk",
    "graduation": "workstation.commands.graduation",
    "control": "workstation.commands.control",
}
LAZY_COMMANDS = {
    "discover": ("workstation.commands.discover", "discover"),
    "regimes": ("workstation.commands.discover", "regimes"),
    "correlations": ("workstation.commands.discover", "correlations"),
    "sweep": ("workstation.commands.backtest", "sweep_cmd"),
    "walkforward": ("workstation.commands.backtest_validate", "walkforward_cmd"),
    "montecarlo": ("workstation.commands.backtest_validate", "montecarlo_cmd"),
    "trade": ("workstation.commands.trade", "trade"),
    "orders": ("workstation.commands.account", "orders"),
    "positions": ("workstation.commands.account", "positions"),
    "balances": ("workstation.commands.account", "balances"),
}


class LazyGroup(TyperGroup):
    def list_commands(self, ctx: Any) -> list[str]:
        return sorted({*super().list_commands(ctx), *LAZY_GROUPS, *LAZY_COMMANDS})

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name in LAZY_GROUPS:
            command = typer.main.get_command(importlib.import_module(LAZY_GROUPS[cmd_name]).app)
        elif cmd_name in LAZY_COMMANDS:
            module, function = LAZY_COMMANDS[cmd_name]
            single = typer.Typer()
            single.command(cmd_name)(getattr(importlib.import_module(module), function))
            command = typer.main.get_command(single)
        else:
            return super().get_command(ctx, cmd_name)
        command.name = cmd_name
        return command


app = typer.Typer(
    cls=LazyGroup,
    name="workstation",
    help=f"{APP_NAME}: a trading workstation that is safe by default. With no command, opens the desktop app.",
    invoke_without_command=True,
    no_args_is_help=False,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(config_cmd.app, name="config")
app.add_typer(keys.app, name="keys")
app.add_typer(kill_switch.app, name="kill-switch")
app.command("doctor")(doctor)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"{APP_NAME} {__version__}")
        raise typer.Exit()


@app.callback()
def main_callback(
    ctx: typer.Context,
    config: Annotated[
        Path | None,
        typer.Option("--config", metavar="PATH", help="An extra YAML layer over the shipped config.", dir_okay=False),
    ] = None,
    home: Annotated[
        Path | None,
        typer.Option(
            "--home", help="Where databases and logs live (env WORKSTATION_HOME; default: per-user data dir)."
        ),
    ] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option(
            "--set", metavar="KEY=VALUE", help="Override one setting for this run: dotted.key=value (repeatable)."
        ),
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    ctx.obj = GlobalOptions(config_file=config, home=home, overrides=tuple(set_ or ()))
    if ctx.invoked_subcommand is None:
        ctx.invoke(gui, ctx=ctx)


@app.command()
def gui(
    ctx: typer.Context,
    screenshot: Annotated[
        Path | None, typer.Option("--screenshot", help="Save the window to this PNG and exit (works offscreen).")
    ] = None,
    panel: Annotated[
        str | None,
        typer.Option("--panel", help="With --screenshot: save only this panel (chart, Positions, Risk, Log, ...)."),
    ] = None,
    remote: Annotated[
        str | None,
        typer.Option(
            "--remote",
            metavar="URL",
            help="Attach to a headless engine; its token comes from the keyring (`workstation keys set-token URL`).",
        ),
    ] = None,
    exit_after: Annotated[
        float | None,
        typer.Option(
            "--exit-after", metavar="SECONDS", min=0.0, help="Close the window and exit 0 after this many seconds."
        ),
    ] = None,
) -> None:
    """Open the desktop workstation."""
    if panel is not None and screenshot is None:
        raise typer.BadParameter("--panel needs --screenshot", param_hint="--panel")
    rt = options(ctx).runtime()
    attach = None
    if remote is not None:
        from workstation.commands.common import fail
        from workstation.commands.keys import remote_key, remote_token
        from workstation.core.errors import SecretsError

        try:
            token = remote_token(remote)
        except SecretsError as exc:
            fail(f"error: {exc}")
        if not token:
            fail(f"no API token stored for {remote_key(remote)}: run `workstation keys set-token {remote_key(remote)}`")
        attach = (remote_key(remote), token)
    from workstation.ui.app import run_gui

    raise typer.Exit(run_gui(rt, screenshot=screenshot, panel=panel, remote=attach, exit_after=exit_after))


@app.command("qt-probe", hidden=True)
def qt_probe() -> None:
    """Start Qt offscreen and report whether it can draw text (used by doctor)."""
    from workstation.ui.probe import main as probe_main

    raise typer.Exit(probe_main())


def main() -> None:
    # Before any event loop exists: on Windows ccxt's aiodns needs the Selector loop (ccxt #24346).
    from workstation.exchanges.ccxt.loop_policy import apply_loop_policy

    apply_loop_policy()
    app()


if __name__ == "__main__":
    main()
