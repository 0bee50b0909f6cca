"""Preflight safety validation (`workstation doctor`). Each check passes, warns or fails with a
reason and, when it is not a pass, a fix. Venue access comes in through small probes that the
composition root builds, so this module never imports a concrete exchange adapter."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Protocol

import psutil

from workstation.core.enums import Venue
from workstation.settings.models import Settings


class Status(StrEnum):
    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"


@dataclass(frozen=True)
class CheckResult:
    name: str
    status: Status
    reason: str
    fix: str = ""

    def to_json(self) -> dict[str, str]:
        return {k: str(v) for k, v in asdict(self).items()}


@dataclass(frozen=True)
class KeyPermissions:
    can_withdraw: bool
    read_only: bool
    ip_bound: bool
    summary: str


class VenueProbe(Protocol):
    """What doctor needs from a venue; the composition root supplies one per venue."""

    def server_time_ms(self, timeout_s: float) -> int: ...

    def key_permissions(self, timeout_s: float) -> KeyPermissions: ...


@dataclass(frozen=True)
class KeyPresence:
    """Whether keys exist for a venue, and where, without reading the secret."""

    present: bool
    source: str = ""
    error: str = ""


@dataclass(frozen=True)
class SecretsBackendState:
    """The secrets backend as the key store sees it (never any secret)."""

    name: str
    usable: bool
    problem: str = ""


@dataclass
class PreflightContext:
    settings: Settings
    home: Path
    confirm_mainnet: bool = False
    online: bool = True
    key_presence: Callable[[Venue], KeyPresence] | None = None
    secrets_backend: Callable[[bool], SecretsBackendState] | None = None
    """Called with probe=True only when it is fine to talk to the keyring."""
    probe: VenueProbe | None = None
    kill_switch_description: str = "not engaged"
    qt_probe: Callable[[], tuple[bool, str]] | None = None
    timeout_s: float = 3.0
    results: list[CheckResult] = field(default_factory=list)


def _ok(name: str, reason: str) -> CheckResult:
    return CheckResult(name, Status.PASS, reason)


def check_python(ctx: PreflightContext) -> CheckResult:
    version = platform.python_version()
    if sys.version_info < (3, 11):
        return CheckResult("python", Status.FAIL, f"Python {version} is too old", "install Python 3.11 or newer")
    return _ok("python", f"Python {version} ({platform.python_implementation()})")


def check_platform(ctx: PreflightContext) -> CheckResult:
    system = platform.system()
    if system not in ("Linux", "Windows", "Darwin"):
        return CheckResult("platform", Status.WARN, f"untested platform {system}", "use Windows or Linux")
    return _ok("platform", f"{system} {platform.release()} {platform.machine()}")


def check_qt(ctx: PreflightContext) -> CheckResult:
    probe = ctx.qt_probe or qt_probe_subprocess
    ok, detail = probe()
    if not ok:
        fix = "run scripts/setup.sh (installs Qt's system libraries and fonts)"
        return CheckResult("qt", Status.FAIL, detail, fix)
    return _ok("qt", detail)


def _qt_probe_command() -> list[str]:
    # A frozen bundle has no `python -m`: its own executable runs the probe as a hidden command.
    if getattr(sys, "frozen", False):
        return [sys.executable, "qt-probe"]
    return [sys.executable, "-m", "workstation.ui.probe"]


def qt_probe_subprocess() -> tuple[bool, str]:
    """Start Qt offscreen in a child process: importable, a platform plugin loads, fonts exist."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    try:
        done = subprocess.run(_qt_probe_command(), capture_output=True, text=True, timeout=60, env=env)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, f"Qt probe could not run: {exc}"
    lines = (done.stdout.strip() or done.stderr.strip() or "no output").splitlines()
    return done.returncode == 0, lines[-1]


def check_debug_mode(ctx: PreflightContext) -> CheckResult:
    if ctx.settings.debug_mode:
        return _ok("debug_mode", "debug mode is ON: every order is blocked at the safety gate")
    venue = ctx.settings.trading.venue
    return CheckResult(
        "debug_mode",
        Status.WARN,
        f"debug mode is OFF: orders can reach {venue.value}",
        "set debug_mode: true in debug.yaml to block every order",
    )


def check_venue(ctx: PreflightContext) -> CheckResult:
    s = ctx.settings
    venue = s.trading.venue
    if venue not in s.trading.allowed_venues:
        allowed = ", ".join(v.value for v in s.trading.allowed_venues)
        return CheckResult("venue", Status.FAIL, f"{venue.value} is not allowed ({allowed})", "pick an allowed venue")
    if venue.is_real_money and not s.debug_mode and not ctx.confirm_mainnet:
        return CheckResult(
            "venue",
            Status.FAIL,
            "mainnet selected with debug mode off and no confirmation: real money at risk",
            "re-run with --confirm-mainnet if you mean it, or select bybit-testnet",
        )
    if venue.is_real_money:
        return CheckResult("venue", Status.WARN, "mainnet selected: real money", "prefer bybit-testnet until graduated")
    return _ok("venue", f"{venue.value} (no real money)")


def check_keys(ctx: PreflightContext) -> CheckResult:
    venue = ctx.settings.trading.venue
    if not venue.needs_keys:
        return _ok("api_keys", f"{venue.value} needs no API keys; none are loaded")
    if ctx.settings.debug_mode:
        return _ok("api_keys", "not checked: debug mode never reads the key store (check again with debug mode off)")
    if ctx.key_presence is None:
        return CheckResult("api_keys", Status.WARN, "key store not checked", "")
    presence = ctx.key_presence(venue)
    if presence.error:
        return CheckResult("api_keys", Status.FAIL, presence.error, "fix the key store, then re-run doctor")
    if not presence.present:
        return CheckResult(
            "api_keys", Status.FAIL, f"no API key stored for {venue.value}", f"workstation keys set {venue.value}"
        )
    return _ok("api_keys", f"API key for {venue.value} found ({presence.source})")


def check_secrets_backend(ctx: PreflightContext) -> CheckResult:
    name = "secrets_backend"
    venue = ctx.settings.trading.venue
    if not venue.needs_keys:
        return _ok(name, f"{venue.value} needs no secrets")
    if ctx.secrets_backend is None:
        return CheckResult(name, Status.WARN, "not checked", "")
    state = ctx.secrets_backend(not ctx.settings.debug_mode)
    if state.usable:
        return _ok(name, f"OS keyring: {state.name}")
    return CheckResult(
        name,
        Status.WARN,
        f"no usable OS keyring ({state.problem})",
        "on a server use WORKSTATION_<VENUE>_API_KEY/_API_SECRET or a 0600 file named by WORKSTATION_CREDENTIALS_FILE",
    )


def check_key_permissions(ctx: PreflightContext) -> CheckResult:
    name = "key_permissions"
    venue = ctx.settings.trading.venue
    if not venue.needs_keys:
        return _ok(name, f"{venue.value} uses no API key")
    if ctx.settings.debug_mode:
        return _ok(name, "not checked: debug mode never loads keys")
    if not ctx.online or ctx.probe is None:
        return CheckResult(name, Status.WARN, "not checked (offline)", "re-run doctor online")
    try:
        perms = ctx.probe.key_permissions(ctx.timeout_s)
    except Exception as exc:  # the probe reports venue errors; the doctor must never crash
        return CheckResult(name, Status.WARN, f"could not query the key's permissions: {exc}", "check network and key")
    if perms.can_withdraw and ctx.settings.safety.refuse_withdraw_keys:
        return CheckResult(
            name,
            Status.FAIL,
            f"the key can WITHDRAW funds ({perms.summary})",
            "create a key without the Withdraw permission and store it with `workstation keys set`",
        )
    if not perms.ip_bound:
        return CheckResult(name, Status.WARN, f"no IP binding ({perms.summary})", "bind the key to your IP address")
    return _ok(name, perms.summary)


def check_writable(ctx: PreflightContext) -> CheckResult:
    problems = []
    for folder in (ctx.home, ctx.home / "logs", ctx.home / "state"):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=folder, prefix=".doctor-", delete=True) as fh:
                fh.write(b"ok")
                fh.flush()
        except OSError as exc:
            problems.append(f"{folder}: {exc.strerror or exc}")
    if problems:
        return CheckResult("files", Status.FAIL, "; ".join(problems), "use --home DIR with a writable directory")
    return _ok("files", f"{ctx.home} is writable")


def check_network(ctx: PreflightContext) -> CheckResult:
    venue = ctx.settings.trading.venue
    if venue is Venue.PAPER:
        return _ok("network", "paper venue needs no network")
    if not ctx.online or ctx.probe is None:
        return CheckResult("network", Status.WARN, "not checked (offline)", "")
    start = time.perf_counter()
    try:
        ctx.probe.server_time_ms(ctx.timeout_s)
    except Exception as exc:
        return CheckResult(
            "network", Status.WARN, f"{venue.value} unreachable: {exc}", "check the connection; data stays local"
        )
    return _ok("network", f"{venue.value} reachable in {(time.perf_counter() - start) * 1000:.0f} ms")


def check_resources(ctx: PreflightContext) -> CheckResult:
    safety = ctx.settings.safety
    target = ctx.home if ctx.home.exists() else ctx.home.parent
    free_disk_mb = shutil.disk_usage(target).free / 1e6
    free_mem_mb = psutil.virtual_memory().available / 1e6
    detail = f"{free_disk_mb:,.0f} MB disk free, {free_mem_mb:,.0f} MB memory available"
    if free_disk_mb < safety.min_free_disk_mb:
        return CheckResult("resources", Status.FAIL, f"low disk space: {detail}", "free disk space")
    if free_mem_mb < safety.min_free_memory_mb:
        return CheckResult("resources", Status.WARN, f"low memory: {detail}", "close other programs")
    return _ok("resources", detail)


def check_clock(ctx: PreflightContext) -> CheckResult:
    venue = ctx.settings.trading.venue
    if venue is Venue.PAPER:
        return _ok("clock_skew", "paper venue: exchange clock not needed")
    if not ctx.online or ctx.probe is None:
        return CheckResult("clock_skew", Status.WARN, "not checked (offline)", "")
    try:
        before = time.time() * 1000
        server = ctx.probe.server_time_ms(ctx.timeout_s)
        after = time.time() * 1000
    except Exception as exc:
        return CheckResult("clock_skew", Status.WARN, f"could not read server time: {exc}", "")
    skew = int((before + after) / 2 - server)
    limit = ctx.settings.safety.max_clock_skew_ms
    detail = f"local clock is {skew:+d} ms from {venue.value}"
    if abs(skew) > limit:
        return CheckResult("clock_skew", Status.FAIL, f"{detail} (limit {limit} ms)", "sync the clock (NTP / w32tm)")
    if abs(skew) > limit // 2:
        return CheckResult("clock_skew", Status.WARN, detail, "sync the clock (NTP / w32tm)")
    return _ok("clock_skew", detail)


def check_kill_switch(ctx: PreflightContext) -> CheckResult:
    if ctx.kill_switch_description == "not engaged":
        return _ok("kill_switch", "not engaged")
    return CheckResult(
        "kill_switch", Status.WARN, ctx.kill_switch_description, "workstation kill-switch clear (after checking why)"
    )


ALL_CHECKS: Sequence[Callable[[PreflightContext], CheckResult]] = (
    check_python,
    check_platform,
    check_qt,
    check_debug_mode,
    check_venue,
    check_secrets_backend,
    check_keys,
    check_key_permissions,
    check_writable,
    check_network,
    check_clock,
    check_resources,
    check_kill_switch,
)


def run_preflight(
    ctx: PreflightContext, checks: Sequence[Callable[[PreflightContext], CheckResult]] = ALL_CHECKS
) -> list[CheckResult]:
    results = []
    for check in checks:
        try:
            results.append(check(ctx))
        except Exception as exc:  # one broken check must not hide the others
            results.append(CheckResult(check.__name__.removeprefix("check_"), Status.FAIL, f"check crashed: {exc}"))
    return results


def passed(results: Sequence[CheckResult]) -> bool:
    return not any(r.status is Status.FAIL for r in results)
