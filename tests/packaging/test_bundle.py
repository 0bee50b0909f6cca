"""The distributables: the PyInstaller bundle runs, the NSIS script compiles, Windows resolves.

One build (about 90 s) serves every assertion here."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def build_output(tmp_path_factory: pytest.TempPathFactory) -> subprocess.CompletedProcess[str]:
    if shutil.which("makensis") is None:
        pytest.skip("makensis missing: scripts/setup.sh --with-test-tools installs nsis")
    out = tmp_path_factory.mktemp("build")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    return subprocess.run(
        ["bash", str(ROOT / "build" / "build.sh"), "--dist", str(out / "dist"), "--work", str(out / "work")],
        capture_output=True,
        text=True,
        timeout=900,
        env=env,
    )


def test_build_when_run_then_it_succeeds(build_output: subprocess.CompletedProcess[str]) -> None:
    assert build_output.returncode == 0, build_output.stdout[-3000:] + build_output.stderr[-3000:]


def test_bundle_when_started_offscreen_then_doctor_passes_and_gui_saves_a_screenshot(
    build_output: subprocess.CompletedProcess[str],
) -> None:
    assert "preflight passed" in build_output.stdout
    assert "bundle screenshot OK" in build_output.stdout
    assert "bundle databases OK" in build_output.stdout
    assert "BTCUSDT" in build_output.stdout  # the bundled sample imported and listed


def test_installer_script_when_compiled_with_warnings_as_errors_then_it_compiles(
    build_output: subprocess.CompletedProcess[str],
) -> None:
    assert "installer script compiles with -WX" in build_output.stdout


def test_windows_resolution_when_checked_then_every_pin_has_a_windows_wheel(
    build_output: subprocess.CompletedProcess[str],
) -> None:
    assert "have wheels for win_amd64 / CPython 3.11" in build_output.stdout
