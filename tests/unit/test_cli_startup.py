"""Start-up cost: the CLI loads a heavy library only for the command that needs it."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("sklearn", "numba", "pandas", "ccxt", "PySide6", "pybit", "fastapi", "pyqtgraph")


def loaded_after(code: str) -> list[str]:
    probe = f"{code}\nimport sys\nprint(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True)
    return [m for m in done.stdout.strip().split(",") if m]


def test_cli_import_when_loaded_then_no_heavy_library_is_imported() -> None:
    assert loaded_after("import workstation.cli") == []


def test_lazy_command_when_resolved_then_only_its_own_libraries_load() -> None:
    code = (
        "import typer.main, workstation.cli as c\n"
        "group = typer.main.get_command(c.app)\n"
        "assert group.get_command(None, 'risk') is not None"
    )
    assert "sklearn" not in loaded_after(code)
    assert "PySide6" not in loaded_after(code)
