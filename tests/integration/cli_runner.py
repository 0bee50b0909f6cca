"""Run the installed `workstation` command as a user would: a real process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def workstation_exe() -> list[str]:
    exe = Path(sys.executable).parent / "workstation"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "workstation"]


def run_cli(
    *args: str, home: Path, input_text: str | None = None, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "WORKSTATION_HOME": str(home), "COLUMNS": "200", "NO_COLOR": "1", **(env or {})}
    return subprocess.run(
        [*workstation_exe(), *args],
        capture_output=True,
        text=True,
        input=input_text,
        env=full_env,
        cwd=REPO,
        timeout=timeout,
    )
