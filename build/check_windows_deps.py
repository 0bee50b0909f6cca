"""Check that the locked dependencies resolve on Windows (64-bit, CPython 3.11).

1. Evaluate every marker in requirements/lock.txt for a Windows environment.
2. Fail if a package the Windows build needs is missing (keyring's Windows backend needs
   pywin32-ctypes, console colours need colorama): a lock made on Linux without --universal
   silently drops them.
3. Ask pip (metadata only, --dry-run) whether every pinned package has a win_amd64/cp311 wheel.

Usage: .venv/bin/python build/check_windows_deps.py [--offline]
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from packaging.markers import Marker
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements" / "lock.txt"
WINDOWS = {
    "sys_platform": "win32",
    "platform_system": "Windows",
    "os_name": "nt",
    "implementation_name": "cpython",
    "platform_python_implementation": "CPython",
    "python_version": "3.11",
    "python_full_version": "3.11.9",
    "platform_machine": "AMD64",
    "extra": "",
}
REQUIRED_ON_WINDOWS = {"pywin32-ctypes", "colorama", "pyside6-essentials", "keyring"}


def windows_pins(lock: Path = LOCK) -> list[str]:
    pins = []
    for raw in lock.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        requirement, _, marker = line.partition(";")
        if marker.strip() and not Marker(marker.strip()).evaluate(WINDOWS):
            continue
        pins.append(requirement.strip())
    return pins


def main() -> int:
    pins = windows_pins()
    names = {Requirement(p).name.lower() for p in pins}
    missing = sorted(REQUIRED_ON_WINDOWS - names)
    if missing:
        print(f"FAIL: the lock has no Windows pin for {', '.join(missing)} (re-lock with `uv pip compile --universal`)")
        return 1
    print(f"{len(pins)} packages pinned for Windows; required Windows-only packages present")
    if "--offline" in sys.argv:
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        req = Path(tmp) / "windows.txt"
        req.write_text("\n".join(pins) + "\n", encoding="utf-8")
        report = Path(tmp) / "report.json"
        cmd = [sys.executable, "-m", "pip", "install", "--dry-run", "--quiet", "--ignore-installed", "--no-deps",
               "--only-binary=:all:", "--platform", "win_amd64", "--python-version", "3.11", "--implementation", "cp",
               "--target", str(Path(tmp) / "target"), "--report", str(report), "-r", str(req)]  # fmt: skip
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:
            errors = [line for line in done.stderr.splitlines() if "WARNING: Location" not in line]
            print("FAIL: pip could not resolve the lock for win_amd64:\n" + "\n".join(errors[-15:]))
            return 1
        resolved = len(json.loads(report.read_text())["install"])
    print(f"OK: all {resolved} pinned packages have wheels for win_amd64 / CPython 3.11")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
