"""doctor against a local fake Bybit: each check passes, warns or fails for the right reason."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.fakes.bybit_server import FakeBybit
from tests.integration.cli_runner import run_cli

KEY = "DOCTORKEY00000000001"
SECRET = "DOCTORSECRET0000000000000000000000001"
KEY_ENV = {"WORKSTATION_BYBIT_TESTNET_API_KEY": KEY, "WORKSTATION_BYBIT_TESTNET_API_SECRET": SECRET}


def doctor(
    home: Path, fake: FakeBybit | None, *extra: str, env: dict[str, str] | None = None
) -> tuple[int, dict[str, Any]]:
    sets = ["--set", "trading.venue=bybit-testnet"]
    if fake is not None:
        sets += ["--set", f"exchanges.bybit.base_url={fake.base_url}"]
    done = run_cli(*sets, *extra, "doctor", "--json", "--timeout", "2", home=home, env=env)
    assert done.returncode in (0, 1), done.stderr
    report = json.loads(done.stdout)
    return done.returncode, {c["name"]: c for c in report["checks"]}


def test_doctor_when_testnet_key_is_clean_and_clock_in_sync_then_passes(
    isolated_home: Path, fake_bybit: FakeBybit
) -> None:
    fake_bybit.add_key(KEY, SECRET, ips=["203.0.113.7"])
    code, checks = doctor(isolated_home, fake_bybit, "--set", "debug_mode=false", env=KEY_ENV)
    assert code == 0, checks
    assert checks["api_keys"]["status"] == "pass" and "environment" in checks["api_keys"]["reason"]
    assert checks["key_permissions"]["status"] == "pass"
    assert checks["network"]["status"] == "pass"
    assert checks["clock_skew"]["status"] == "pass"
    assert checks["debug_mode"]["status"] == "warn"  # debug off: orders can reach testnet


def test_doctor_when_key_can_withdraw_then_fails_with_the_fix(isolated_home: Path, fake_bybit: FakeBybit) -> None:
    fake_bybit.add_key(KEY, SECRET, permissions={"Wallet": ["AccountTransfer", "Withdraw"]}, ips=["203.0.113.7"])
    code, checks = doctor(isolated_home, fake_bybit, "--set", "debug_mode=false", env=KEY_ENV)
    assert code == 1
    assert checks["key_permissions"]["status"] == "fail"
    assert "WITHDRAW" in checks["key_permissions"]["reason"]
    assert "without the Withdraw permission" in checks["key_permissions"]["fix"]


def test_doctor_when_debug_mode_on_then_keys_are_not_loaded_even_if_present(
    isolated_home: Path, fake_bybit: FakeBybit
) -> None:
    fake_bybit.add_key(KEY, SECRET, permissions={"Wallet": ["Withdraw"]})
    _, checks = doctor(isolated_home, fake_bybit, env=KEY_ENV)
    assert checks["key_permissions"]["status"] == "pass"
    assert "debug mode never loads keys" in checks["key_permissions"]["reason"]
    assert not fake_bybit.requests_to("/v5/user/query-api")
    assert all(not r.has_auth for r in fake_bybit.requests)


def test_doctor_when_clock_is_six_seconds_off_then_clock_check_fails(
    isolated_home: Path, fake_bybit: FakeBybit
) -> None:
    fake_bybit.set_clock_offset_ms(6000)
    code, checks = doctor(isolated_home, fake_bybit, env=KEY_ENV)
    assert code == 1
    assert checks["clock_skew"]["status"] == "fail"
    assert "ms from bybit-testnet" in checks["clock_skew"]["reason"]


def test_doctor_when_venue_unreachable_then_network_warns_and_doctor_does_not_crash(isolated_home: Path) -> None:
    _, checks = doctor(isolated_home, None, "--set", "exchanges.bybit.base_url=http://127.0.0.1:9", env=KEY_ENV)
    assert checks["network"]["status"] == "warn" and "unreachable" in checks["network"]["reason"]
    assert checks["clock_skew"]["status"] == "warn"


def test_doctor_when_testnet_key_missing_then_fails_naming_the_command(
    isolated_home: Path, fake_bybit: FakeBybit
) -> None:
    code, checks = doctor(
        isolated_home, fake_bybit, "--set", "debug_mode=false", env={"WORKSTATION_CREDENTIALS_FILE": ""}
    )
    assert code == 1
    assert checks["api_keys"]["status"] == "fail"
    assert checks["api_keys"]["fix"] == "workstation keys set bybit-testnet"


def test_doctor_when_mainnet_with_debug_off_and_no_confirmation_then_fails(
    isolated_home: Path, fake_bybit: FakeBybit
) -> None:
    sets = ["--set", "trading.allowed_venues=[paper, bybit-mainnet]", "--set", "trading.venue=bybit-mainnet"]
    sets += ["--set", "debug_mode=false", "--set", f"exchanges.bybit.base_url={fake_bybit.base_url}"]
    env = {"WORKSTATION_BYBIT_MAINNET_API_KEY": KEY, "WORKSTATION_BYBIT_MAINNET_API_SECRET": SECRET}
    fake_bybit.add_key(KEY, SECRET, ips=["203.0.113.7"])
    unconfirmed = json.loads(run_cli(*sets, "doctor", "--json", home=isolated_home, env=env).stdout)
    [venue] = [c for c in unconfirmed["checks"] if c["name"] == "venue"]
    assert venue["status"] == "fail" and "--confirm-mainnet" in venue["fix"]
    confirmed = json.loads(run_cli(*sets, "doctor", "--json", "--confirm-mainnet", home=isolated_home, env=env).stdout)
    [venue] = [c for c in confirmed["checks"] if c["name"] == "venue"]
    assert venue["status"] == "warn"
