"""What every command shares: the global options and turning errors into exit codes."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn

import typer
from rich.console import Console

from workstation.core.errors import ConfigError, WorkstationError
from workstation.runtime import Runtime, build_runtime

EXIT_FAILED = 1
EXIT_CONFIG = 2

err_console = Console(stderr=True, highlight=False, soft_wrap=True)
out_console = Console(highlight=False, soft_wrap=True)


@dataclass
class GlobalOptions:
    config_file: Path | None = None
    home: Path | None = None
    overrides: tuple[str, ...] = ()
    _runtime: Runtime | None = field(default=None, repr=False)

    def runtime(self, *, confirm_mainnet: bool = False) -> Runtime:
        if self._runtime is None:
            try:
                self._runtime = build_runtime(
                    home=self.home,
                    config_file=self.config_file,
                    overrides=self.overrides,
                    confirm_mainnet=confirm_mainnet,
                )
            except ConfigError as exc:
                fail_config(exc)
        return self._runtime


def options(ctx: typer.Context) -> GlobalOptions:
    obj = ctx.find_root().obj
    if not isinstance(obj, GlobalOptions):
        obj = GlobalOptions()
        ctx.find_root().obj = obj
    return obj


def fail_config(exc: ConfigError) -> NoReturn:
    for line in exc.problems:
        err_console.print(line, markup=False)
    err_console.print("configuration invalid: nothing was changed", style="bold red")
    raise typer.Exit(EXIT_CONFIG)


def fail(message: str, code: int = EXIT_FAILED) -> NoReturn:
    err_console.print(message, markup=False, style="red")
    raise typer.Exit(code)


def report_error(exc: WorkstationError) -> NoReturn:
    fail(f"error: {exc}")


def stdin_is_tty() -> bool:
    return sys.stdin is not None and sys.stdin.isatty()
