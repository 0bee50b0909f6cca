"""`workstation gui --exit-after SECONDS`: the app closes itself (packaging smoke test, benches)."""

from __future__ import annotations

import time
from pathlib import Path

from tests.integration.cli_runner import run_cli


def test_gui_when_exit_after_given_then_it_closes_itself_with_code_0(isolated_home: Path) -> None:
    started = time.monotonic()
    done = run_cli("gui", "--exit-after", "1", home=isolated_home, env={"QT_QPA_PLATFORM": "offscreen"})
    assert done.returncode == 0, done.stderr
    assert time.monotonic() - started < 30
    assert "--exit-after 1.0 s: closing" in (isolated_home / "logs" / "workstation.log").read_text()


def test_gui_when_exit_after_is_negative_then_usage_error(isolated_home: Path) -> None:
    done = run_cli("gui", "--exit-after", "-1", home=isolated_home, env={"QT_QPA_PLATFORM": "offscreen"})
    assert done.returncode == 2
