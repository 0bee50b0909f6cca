"""Paper mode and debug mode never read the key store, whatever command runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.cli_runner import REPO, run_cli

COMMANDS = [
    ("doctor", "--json"),
    ("config", "show"),
    ("kill-switch", "status"),
]


@pytest.mark.parametrize(
    "overrides",
    [
        ("--set", "trading.venue=paper", "--set", "debug_mode=false"),
        ("--set", "trading.venue=paper"),
        ("--set", "trading.venue=bybit-testnet", "--set", "exchanges.bybit.base_url=http://127.0.0.1:9"),
    ],
    ids=["paper-debug-off", "paper-debug-on", "testnet-debug-on"],
)
def test_commands_when_paper_or_debug_mode_then_the_keyring_is_never_touched(
    overrides: tuple[str, ...], isolated_home: Path, tmp_path: Path
) -> None:
    tripwire = tmp_path / "keyring-touches.log"
    env = {
        "PYTHON_KEYRING_BACKEND": "tests.fixtures.tripwire_keyring.TripwireKeyring",
        "TRIPWIRE_KEYRING_LOG": str(tripwire),
        "PYTHONPATH": str(REPO),
    }
    for command in COMMANDS:
        done = run_cli(*overrides, *command, home=isolated_home, env=env)
        assert done.returncode in (0, 1), done.stderr
    shot = tmp_path / "w.png"
    assert run_cli(*overrides, "gui", "--screenshot", str(shot), home=isolated_home, env=env).returncode == 0
    assert not tripwire.exists(), tripwire.read_text()


def test_tripwire_when_keys_are_listed_then_it_does_fire(isolated_home: Path, tmp_path: Path) -> None:
    """The control: the tripwire really sees keyring use."""
    tripwire = tmp_path / "keyring-touches.log"
    env = {
        "PYTHON_KEYRING_BACKEND": "tests.fixtures.tripwire_keyring.TripwireKeyring",
        "TRIPWIRE_KEYRING_LOG": str(tripwire),
        "PYTHONPATH": str(REPO),
    }
    run_cli("keys", "list", home=isolated_home, env=env)
    assert tripwire.exists() and "bybit-testnet" in tripwire.read_text()
