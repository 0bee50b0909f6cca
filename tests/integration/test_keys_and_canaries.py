"""Keys through the CLI into a real Secret Service, and canary secrets that must never leak:
not to stdout/stderr, log files (rotated or not), state files, config dumps or error messages."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from keyring.backends.SecretService import Keyring as SecretServiceKeyring

from tests.fakes.bybit_server import FakeBybit
from tests.integration.cli_runner import run_cli

CANARY_KEY = "CANARYKEYa1b2c3d4e5f6"
CANARY_SECRET = "CANARYSECRETz9y8x7w6v5u4t3s2r1q0"


def assert_no_canary_anywhere_under(home: Path) -> None:
    for path in home.rglob("*"):
        if not path.is_file():
            continue
        data = gzip.open(path).read() if path.suffix == ".gz" else path.read_bytes()
        for canary in (CANARY_KEY, CANARY_SECRET, CANARY_KEY[:12], CANARY_SECRET[:16]):
            assert canary.encode() not in data, f"{canary[:6]}... leaked into {path}"


def assert_no_canary_in(*texts: str) -> None:
    for text in texts:
        for canary in (CANARY_KEY, CANARY_SECRET, CANARY_KEY[:12], CANARY_SECRET[:16]):
            assert canary not in text


def test_keys_when_set_listed_and_deleted_through_cli_then_real_keyring_holds_them_and_nothing_echoes(
    isolated_home: Path, secret_service_keyring: SecretServiceKeyring
) -> None:
    done = run_cli("keys", "set", "bybit-testnet", home=isolated_home, input_text=f"{CANARY_KEY}\n{CANARY_SECRET}\n")
    assert done.returncode == 0, done.stderr
    assert_no_canary_in(done.stdout, done.stderr)
    stored = json.loads(secret_service_keyring.get_password("open-alpha-workstation", "bybit-testnet"))
    assert stored == {"api_key": CANARY_KEY, "api_secret": CANARY_SECRET}

    listed = run_cli("keys", "list", home=isolated_home)
    assert listed.returncode == 0 and "bybit-testnet" in listed.stdout and "keyring" in listed.stdout
    assert_no_canary_in(listed.stdout, listed.stderr)
    as_json = json.loads(run_cli("keys", "list", "--json", home=isolated_home).stdout)
    assert as_json == [{"venue": "bybit-testnet", "source": "keyring"}]

    assert run_cli("keys", "delete", "bybit-testnet", home=isolated_home).returncode == 0
    assert secret_service_keyring.get_password("open-alpha-workstation", "bybit-testnet") is None
    assert json.loads(run_cli("keys", "list", "--json", home=isolated_home).stdout) == []


def test_keys_set_when_venue_is_paper_or_unknown_then_refused_with_exit_2(isolated_home: Path) -> None:
    paper = run_cli("keys", "set", "paper", home=isolated_home, input_text="a\nb\n")
    assert paper.returncode == 2 and "paper trading never loads secrets" in paper.stderr
    unknown = run_cli("keys", "set", "binance", home=isolated_home, input_text="a\nb\n")
    assert unknown.returncode == 2 and "expected one of bybit-testnet, bybit-demo, bybit-mainnet" in unknown.stderr


def test_canary_secrets_when_loaded_used_and_rejected_then_never_appear_in_output_logs_or_files(
    isolated_home: Path,
    secret_service_keyring: SecretServiceKeyring,
    fake_bybit: FakeBybit,
) -> None:
    assert (
        run_cli(
            "keys", "set", "bybit-testnet", home=isolated_home, input_text=f"{CANARY_KEY}\n{CANARY_SECRET}\n"
        ).returncode
        == 0
    )
    sets = ["--set", "trading.venue=bybit-testnet", "--set", "debug_mode=false"]
    sets += ["--set", f"exchanges.bybit.base_url={fake_bybit.base_url}", "--set", "logging.level=DEBUG"]
    outputs: list[str] = []

    # 1. the key is loaded and used for signed requests (doctor queries its permissions)
    fake_bybit.add_key(CANARY_KEY, CANARY_SECRET, permissions={"Wallet": ["Withdraw"]})
    used = run_cli(*sets, "doctor", "--json", home=isolated_home)
    report = {c["name"]: c for c in json.loads(used.stdout)["checks"]}
    assert report["key_permissions"]["status"] == "fail"  # withdraw: proves the signed request happened
    assert fake_bybit.requests_to("/v5/user/query-api")[0].api_key == CANARY_KEY
    outputs += [used.stdout, used.stderr]

    # 2. the exchange rejects the signature: the error text travels through exceptions to the user
    fake_bybit.add_key(CANARY_KEY, "SOMEOTHERSECRET000000000000000000")
    rejected = run_cli(*sets, "doctor", "--json", home=isolated_home)
    report = {c["name"]: c for c in json.loads(rejected.stdout)["checks"]}
    assert report["key_permissions"]["status"] == "warn" and "10004" in report["key_permissions"]["reason"]
    outputs += [rejected.stdout, rejected.stderr]

    # 3. the config dump
    shown = run_cli(*sets, "config", "show", home=isolated_home)
    outputs += [shown.stdout, shown.stderr]

    # 4. a database written while the secrets are in the process's key store
    loaded = run_cli(*sets, "data", "load-sample", home=isolated_home)
    assert loaded.returncode == 0, loaded.stderr
    outputs += [loaded.stdout, loaded.stderr]

    assert_no_canary_in(*outputs)
    assert (isolated_home / "logs" / "workstation.log").exists()
    assert (isolated_home / "candles.db").exists()
    assert_no_canary_anywhere_under(isolated_home)
