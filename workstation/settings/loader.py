"""Load settings from layered YAML files.

Layers, later wins:
  1. config/default.yaml
  2. config/<profile>.yaml            (profile named by the layers so far, e.g. private_use)
  3. config/environments/<env>.yaml   (environment named by the layers so far)
  4. the user's file (--config PATH)
  5. config/debug.yaml                (the master switch; only this file may set debug_mode)
  6. --set dotted.key=value overrides (for one run)
Each bundled file may be shadowed by a file of the same name in <home>/config/, read right after it.
"""

from __future__ import annotations

import itertools
import os
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from workstation.core.errors import ConfigError
from workstation.settings.errors import format_validation_error
from workstation.settings.models import Settings
from workstation.settings.yaml_io import YamlFileError, parse_yaml_scalar, read_yaml_mapping

DEBUG_FILE = "debug.yaml"
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_KEY_PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")


def bundled_config_dir() -> Path:
    """Where the shipped config/ lives: env override, PyInstaller bundle, or the source tree."""
    override = os.environ.get("WORKSTATION_CONFIG_DIR")
    if override:
        return Path(override)
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        return Path(bundle) / "config"
    return Path(__file__).resolve().parents[2] / "config"


def shown(path: Path) -> str:
    """A path as the user should read it: relative to the working directory when inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


@dataclass(frozen=True)
class ConfigSources:
    config_dir: Path = field(default_factory=bundled_config_dir)
    user_config_dir: Path | None = None
    user_file: Path | None = None
    debug_file: Path | None = None
    """Replaces the debug.yaml layers (used by `config check path/to/debug.yaml`)."""
    overrides: tuple[str, ...] = ()


@dataclass(frozen=True)
class LoadedSettings:
    settings: Settings
    files: tuple[str, ...]
    origins: dict[tuple[str, ...], str]


def parse_override(text: str) -> tuple[tuple[str, ...], Any]:
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not _KEY_PATH.match(key):
        raise ConfigError([f"--set {text}: expected dotted.key=value, for example --set debug_mode=false"])
    return tuple(key.split(".")), parse_yaml_scalar(raw)


class _Merger:
    def __init__(self) -> None:
        self.data: dict[str, Any] = {}
        self.origins: dict[tuple[str, ...], str] = {}
        self._seq: dict[tuple[str, ...], int] = {}
        self._counter = itertools.count(1)
        self.files: list[str] = []

    def merge(self, incoming: dict[str, Any], origin: str, prefix: tuple[str, ...] = ()) -> None:
        target = self.data
        for part in prefix:
            nxt = target.get(part)
            if not isinstance(nxt, dict):
                nxt = {}
                target[part] = nxt
            target = nxt
        self._merge_into(target, incoming, origin, prefix)

    def _merge_into(self, target: dict[str, Any], incoming: dict[str, Any], origin: str, path: tuple[str, ...]) -> None:
        for key, value in incoming.items():
            here = (*path, str(key))
            if isinstance(value, dict) and isinstance(target.get(key), dict):
                self._merge_into(target[key], value, origin, here)
            else:
                target[key] = value
                for sub in (here, *_leaf_paths(value, here)):
                    self.origins[sub] = origin
                    self._seq[sub] = next(self._counter)

    def origin_of(self, loc: tuple[Any, ...]) -> str:
        """The layer that last set this key or anything under it (else its nearest parent)."""
        parts = tuple(str(p) for p in loc)
        under = [p for p in self.origins if p[: len(parts)] == parts]
        if under:
            return self.origins[max(under, key=lambda p: self._seq[p])]
        for n in range(len(parts) - 1, 0, -1):
            if parts[:n] in self.origins:
                return self.origins[parts[:n]]
        return "settings"


def _leaf_paths(value: Any, path: tuple[str, ...]) -> Iterable[tuple[str, ...]]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield (*path, str(k))
            yield from _leaf_paths(v, (*path, str(k)))


def _read_layer(merger: _Merger, path: Path, *, required: bool, is_debug_file: bool = False) -> None:
    if not path.exists() and not required:
        return
    name = shown(path)
    try:
        data = read_yaml_mapping(path, name)
    except YamlFileError as exc:
        raise ConfigError([str(exc)]) from None
    if is_debug_file:
        extra = sorted(set(data) - {"debug_mode"})
        if extra:
            raise ConfigError(
                [f"{name}: {extra[0]}: unknown key; {DEBUG_FILE} holds only the master switch debug_mode"]
            )
    elif "debug_mode" in data:
        raise ConfigError(
            [f"{name}: debug_mode: the master switch lives only in {DEBUG_FILE} (or --set debug_mode=... for one run)"]
        )
    merger.merge(data, name)
    merger.files.append(name)


def _bundled_and_user(sources: ConfigSources, relative: str) -> list[Path]:
    paths = [sources.config_dir / relative]
    if sources.user_config_dir is not None:
        paths.append(sources.user_config_dir / relative)
    return paths


def _named_layer(merger: _Merger, sources: ConfigSources, key: str, relative: str, chosen: dict[str, Any]) -> None:
    """Read the layer named by `key` (profile, environment). The name may come from any layer,
    including the user's file and --set, so it is looked up in `chosen` first."""
    value, origin = chosen.get(key, (merger.data.get(key), merger.origin_of((key,))))
    if value is None:
        return
    if not isinstance(value, str) or not _NAME.match(value):
        raise ConfigError([f"{origin}: {key}: expected a lower-case name such as private_use, got {value!r}"])
    bundled, *user = _bundled_and_user(sources, relative.format(value))
    if not bundled.exists() and not any(p.exists() for p in user):
        raise ConfigError([f"{origin}: {key}: no such file {shown(bundled)}"])
    for path in (bundled, *user):
        _read_layer(merger, path, required=False)


def _layer_names_chosen_later(sources: ConfigSources) -> dict[str, tuple[Any, str]]:
    """profile / environment as chosen by the user's file or --set (which are read last)."""
    chosen: dict[str, tuple[Any, str]] = {}
    if sources.user_file is not None and sources.user_file.exists():
        try:
            data = read_yaml_mapping(sources.user_file, shown(sources.user_file))
        except YamlFileError:
            data = {}  # reported with its location when the file is read as a layer
        for key in ("profile", "environment"):
            if key in data:
                chosen[key] = (data[key], shown(sources.user_file))
    for text in sources.overrides:
        path, value = parse_override(text)
        if len(path) == 1 and path[0] in ("profile", "environment"):
            chosen[path[0]] = (value, f"--set {path[0]}")
    return chosen


def load_settings(sources: ConfigSources | None = None) -> LoadedSettings:
    """Read, merge and validate every layer. Raises ConfigError listing every problem."""
    sources = sources or ConfigSources()
    merger = _Merger()
    for i, path in enumerate(_bundled_and_user(sources, "default.yaml")):
        _read_layer(merger, path, required=(i == 0))
    chosen = _layer_names_chosen_later(sources)
    _named_layer(merger, sources, "profile", "{}.yaml", chosen)
    _named_layer(merger, sources, "environment", "environments/{}.yaml", chosen)
    if sources.user_file is not None:
        _read_layer(merger, sources.user_file, required=True)
    if sources.debug_file is not None:
        _read_layer(merger, sources.debug_file, required=True, is_debug_file=True)
    else:
        for path in _bundled_and_user(sources, DEBUG_FILE):
            _read_layer(merger, path, required=False, is_debug_file=True)
    apply_overrides(merger, sources.overrides)
    try:
        settings = Settings.model_validate(merger.data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, Settings, merger.origin_of)) from None
    return LoadedSettings(settings=settings, files=tuple(merger.files), origins=dict(merger.origins))


def apply_overrides(merger: _Merger, overrides: Sequence[str]) -> None:
    for text in overrides:
        path, value = parse_override(text)
        merger.merge({path[-1]: value}, f"--set {text.partition('=')[0].strip()}", prefix=path[:-1])
