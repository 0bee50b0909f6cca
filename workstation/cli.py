"""`workstation ...`: the command-line entry point and the composition root for headless commands."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from workstation import APP_NAME, __version__
from workstation.commands import backtest, config_cmd, data, graduation, headless, keys, kill_switch, risk
from workstation.commands import discover as discover_cmd
from workstation.commands.common import GlobalOptions, options
from workstation.commands.doctor import doctor

app = typer.Typer(
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
app.add_typer(data.app, name="data")
app.add_typer(headless.app, name="headless")
app.add_typer(backtest.app, name="backtest")
app.add_typer(risk.app, name="risk")
app.add_typer(graduation.app, name="graduation")
app.command("doctor")(doctor)
app.command("discover")(discover_cmd.discover)
app.command("regimes")(discover_cmd.regimes)
app.command("correlations")(discover_cmd.correlations)


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
        typer.Option("--panel", help="With --screenshot: save only this panel (chart, Positions, Orders, Log, ...)."),
    ] = None,
) -> None:
    """Open the desktop workstation."""
    if panel is not None and screenshot is None:
        raise typer.BadParameter("--panel needs --screenshot", param_hint="--panel")
    rt = options(ctx).runtime()
    from workstation.ui.app import run_gui

    raise typer.Exit(run_gui(rt, screenshot=screenshot, panel=panel))


@app.command("qt-probe", hidden=True)
def qt_probe() -> None:
    """Start Qt offscreen and report whether it can draw text (used by doctor)."""
    from workstation.ui.probe import main as probe_main

    raise typer.Exit(probe_main())


def main() -> None:
    app()


if __name__ == "__main__":
    main()
