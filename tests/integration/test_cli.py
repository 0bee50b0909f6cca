"""The `workstation` command, run as a real process."""

from __future__ import annotations

import json
from pathlib import Path

from tests.integration.cli_runner import run_cli


def test_help_when_run_then_lists_every_command(isolated_home: Path) -> None:
    done = run_cli("--help", home=isolated_home)
    assert done.returncode == 0
    for command in ("gui", "doctor", "keys", "config", "kill-switch"):
        assert command in done.stdout
    for option in ("--config", "--home", "--set"):
        assert option in done.stdout


def test_doctor_json_when_fresh_install_then_prints_every_check_and_exits_zero(isolated_home: Path) -> None:
    done = run_cli("doctor", "--json", home=isolated_home)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    names = [c["name"] for c in report["checks"]]
    assert names == [
        "python", "platform", "qt", "debug_mode", "venue", "secrets_backend", "api_keys", "key_permissions",
        "files", "network", "clock_skew", "resources", "kill_switch",
    ]  # fmt: skip
    assert report["ok"] is True
    assert {c["status"] for c in report["checks"]} <= {"pass", "warn"}
    assert all(set(c) == {"name", "status", "reason", "fix"} for c in report["checks"])


def test_any_command_when_debug_yaml_malformed_then_precise_error_exit_2_and_nothing_written(
    isolated_home: Path,
) -> None:
    user_config = isolated_home / "config"
    user_config.mkdir()
    (user_config / "debug.yaml").write_text("debug_mode: yes please\n")
    before = sorted(p.relative_to(isolated_home) for p in isolated_home.rglob("*"))
    done = run_cli("doctor", home=isolated_home)
    assert done.returncode == 2
    assert f'{user_config / "debug.yaml"}: debug_mode: expected true/false, got "yes please"' in done.stderr
    assert sorted(p.relative_to(isolated_home) for p in isolated_home.rglob("*")) == before  # no logs, no state


def test_config_check_when_shipped_style_debug_file_is_malformed_then_exact_message(
    tmp_path: Path, isolated_home: Path
) -> None:
    bad = tmp_path / "config" / "debug.yaml"
    bad.parent.mkdir()
    bad.write_text("debug_mode: yes please\n")
    done = run_cli("config", "check", str(bad), home=isolated_home)
    assert done.returncode == 2
    assert done.stderr.splitlines()[0] == f'{bad}: debug_mode: expected true/false, got "yes please"'


def test_config_check_when_file_is_valid_then_ok_and_exit_zero(tmp_path: Path, isolated_home: Path) -> None:
    good = tmp_path / "mine.yaml"
    good.write_text("risk:\n  max_leverage: 2\n")
    done = run_cli("config", "check", str(good), home=isolated_home)
    assert done.returncode == 0 and "OK" in done.stdout


def test_config_show_when_set_overrides_then_effective_values_shown(isolated_home: Path) -> None:
    done = run_cli("--set", "risk.max_leverage=2", "config", "show", "--json", home=isolated_home)
    assert done.returncode == 0, done.stderr
    shown = json.loads(done.stdout)
    assert shown["settings"]["risk"]["max_leverage"] == 2
    assert shown["settings"]["debug_mode"] is True


def test_kill_switch_when_engaged_then_it_survives_restarts_and_doctor_warns(isolated_home: Path) -> None:
    assert run_cli("kill-switch", "engage", "--reason", "testing halt", home=isolated_home).returncode == 0
    status = run_cli("kill-switch", "status", home=isolated_home)
    assert "engaged since" in status.stdout and "testing halt" in status.stdout
    report = json.loads(run_cli("doctor", "--json", "--offline", home=isolated_home).stdout)
    [check] = [c for c in report["checks"] if c["name"] == "kill_switch"]
    assert check["status"] == "warn"
    assert run_cli("kill-switch", "clear", home=isolated_home).returncode == 0
    assert "not engaged" in run_cli("kill-switch", "status", home=isolated_home).stdout


def test_home_option_when_given_then_logs_go_there(tmp_path: Path, isolated_home: Path) -> None:
    other = tmp_path / "elsewhere"
    done = run_cli("--home", str(other), "kill-switch", "status", home=isolated_home)
    assert done.returncode == 0
    assert (other / "logs" / "workstation.log").exists()
    assert not (isolated_home / "logs").exists()
