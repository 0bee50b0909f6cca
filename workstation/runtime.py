"""The run-time context every command starts from: settings, home directory, logging, bus,
switches and the SafetyGate. Built only by composition roots (cli, ui, api)."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

import platformdirs

from workstation.bus import EventBus
from workstation.logs import configure_logging
from workstation.safety.gate import SafetyGate
from workstation.safety.session import DebugSession
from workstation.safety.switches import DebugSwitch, KillSwitch
from workstation.settings.loader import ConfigSources, LoadedSettings, load_settings
from workstation.settings.models import Settings

log = logging.getLogger(__name__)


def resolve_home(explicit: Path | None) -> Path:
    """--home, else $WORKSTATION_HOME, else the per-user data directory."""
    if explicit is not None:
        return explicit.expanduser().resolve()
    env = os.environ.get("WORKSTATION_HOME")
    if env:
        return Path(env).expanduser().resolve()
    return Path(platformdirs.user_data_dir("OpenAlphaWorkstation", appauthor=False))


@dataclass
class Runtime:
    loaded: LoadedSettings
    home: Path
    bus: EventBus = field(default_factory=EventBus)
    confirm_mainnet: bool = False
    debug_switch: DebugSwitch = field(init=False)
    kill_switch: KillSwitch = field(init=False)
    gate: SafetyGate = field(init=False)
    debug_session: DebugSession = field(init=False)

    def __post_init__(self) -> None:
        s = self.settings
        self.debug_switch = DebugSwitch(s.debug_mode, self.bus)
        self.kill_switch = KillSwitch(self.state_dir / "safety.json", self.bus)
        self.gate = SafetyGate(
            debug_switch=self.debug_switch,
            kill_switch=self.kill_switch,
            bus=self.bus,
            allowed_venues=s.trading.allowed_venues,
            mainnet_confirmed=self.confirm_mainnet,
        )
        self.debug_session = DebugSession(s.safety.debug_session_max)

    @property
    def settings(self) -> Settings:
        return self.loaded.settings

    @property
    def log_dir(self) -> Path:
        return self.home / "logs"

    @property
    def state_dir(self) -> Path:
        return self.home / "state"

    @property
    def user_config_dir(self) -> Path:
        return self.home / "config"


def config_sources(home: Path, config_file: Path | None, overrides: tuple[str, ...]) -> ConfigSources:
    return ConfigSources(user_config_dir=home / "config", user_file=config_file, overrides=overrides)


def build_runtime(
    *,
    home: Path | None,
    config_file: Path | None,
    overrides: tuple[str, ...],
    confirm_mainnet: bool = False,
    console_log_level: str | None = None,
) -> Runtime:
    """Load settings (raises ConfigError before anything is written), then set up logging."""
    resolved_home = resolve_home(home)
    loaded = load_settings(config_sources(resolved_home, config_file, overrides))
    s = loaded.settings
    configure_logging(
        resolved_home / "logs",
        level=s.logging.level,
        modules=s.logging.modules,
        max_bytes=s.logging.max_bytes,
        backups=s.logging.backups,
        console_level=console_log_level,
    )
    log.info(
        "start: home=%s debug_mode=%s venue=%s files=%s",
        resolved_home,
        s.debug_mode,
        s.trading.venue.value,
        ",".join(loaded.files),
    )
    return Runtime(loaded=loaded, home=resolved_home, confirm_mainnet=confirm_mainnet)
