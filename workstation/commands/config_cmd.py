"""`workstation config show|check`."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

from workstation.commands.common import fail_config, options, out_console
from workstation.core.errors import ConfigError
from workstation.logs import REDACTED
from workstation.runtime import config_sources, resolve_home
from workstation.settings.loader import DEBUG_FILE, load_settings

app = typer.Typer(help="Show or check configuration.", no_args_is_help=True)

_SECRET_WORDS = ("secret", "password", "passphrase", "token", "api_key", "apikey", "private_key")


def redact_mapping(value: Any) -> Any:
    """Strip anything secret-shaped before a config is shown (defence in depth: settings hold no
    secrets by design)."""
    if isinstance(value, dict):
        return {
            k: (REDACTED if any(w in str(k).lower() for w in _SECRET_WORDS) and v is not None else redact_mapping(v))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [redact_mapping(v) for v in value]
    return value


@app.command("show")
def show(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of YAML.")] = False,
) -> None:
    """Print the effective configuration (all layers merged, secrets redacted)."""
    opts = options(ctx)
    home = resolve_home(opts.home)
    try:
        loaded = load_settings(config_sources(home, opts.config_file, opts.overrides))
    except ConfigError as exc:
        fail_config(exc)
    data = redact_mapping(loaded.settings.model_dump(mode="json"))
    if as_json:
        out_console.print_json(json.dumps({"files": list(loaded.files), "settings": data}))
        return
    out_console.print("# layers, in order: " + ", ".join(loaded.files), markup=False)
    out_console.print(yaml.safe_dump(data, sort_keys=False).rstrip(), markup=False)


@app.command("check")
def check(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="A YAML file to validate as a user config layer.")],
) -> None:
    """Validate PATH on top of the shipped defaults. Exit 2 with precise errors if it is invalid."""
    opts = options(ctx)
    home = resolve_home(opts.home)
    sources = config_sources(home, opts.config_file, opts.overrides)
    if path.name == DEBUG_FILE:
        sources = replace(sources, debug_file=path)
    else:
        sources = replace(sources, user_file=path)
    try:
        load_settings(sources)
    except ConfigError as exc:
        fail_config(exc)
    out_console.print(f"{path}: OK", markup=False)
