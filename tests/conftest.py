"""Shared fixtures. Every test gets its own home directory; none touches the user's real one."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest_plugins = ["tests.fixtures.keyring_service", "tests.fakes.bybit_server", "tests.fakes.bybit_public_ws"]

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("WORKSTATION_HOME", str(home))
    monkeypatch.delenv("WORKSTATION_CONFIG_DIR", raising=False)
    monkeypatch.delenv("WORKSTATION_CREDENTIALS_FILE", raising=False)
    return home


@pytest.fixture
def config_dir(tmp_path: Path) -> Iterator[Path]:
    """A writable copy of the shipped config/ that a test may break."""
    target = tmp_path / "config"
    shutil.copytree(REPO / "config", target)
    yield target
