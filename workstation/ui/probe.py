"""`python -m workstation.ui.probe`: start Qt offscreen and report whether it can draw text.
The doctor runs this in a child process so a broken Qt install cannot crash the doctor."""

from __future__ import annotations

import os
import sys


def main() -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    try:
        from PySide6 import __version__ as pyside_version
        from PySide6.QtGui import QFontDatabase, QGuiApplication
    except ImportError as exc:
        print(f"PySide6 is not importable: {exc}")
        return 1
    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    families = QFontDatabase.families()
    platform = app.platformName()
    if not families:
        print(f"Qt {pyside_version} ({platform}) found no fonts: text would render as empty boxes")
        return 1
    print(f"PySide6 {pyside_version}, platform {platform}, {len(families)} font families")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
