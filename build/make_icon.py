"""Draw the application icon (resources/icons/workstation.png and .ico) with Qt, offscreen.

Run once when the design changes: .venv/bin/python build/make_icon.py
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QGuiApplication, QImage, QPainter, QPainterPath

ICONS = Path(__file__).resolve().parents[1] / "resources" / "icons"


def draw(size: int) -> QImage:
    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    path = QPainterPath()
    path.addRoundedRect(QRectF(0, 0, size, size), size * 0.18, size * 0.18)
    painter.fillPath(path, QColor("#15171c"))
    painter.setPen(QColor("#FF6B35"))
    font = QFont("DejaVu Sans", max(6, int(size * 0.62)))
    font.setBold(True)
    painter.setFont(font)
    painter.drawText(QRectF(0, -size * 0.04, size, size), Qt.AlignmentFlag.AlignCenter, "α")
    painter.end()
    return image


def main() -> int:
    QGuiApplication(sys.argv[:1])
    ICONS.mkdir(parents=True, exist_ok=True)
    if not draw(256).save(str(ICONS / "workstation.png")):
        return 1
    if not draw(256).save(str(ICONS / "workstation.ico")):
        print("this Qt has no ICO writer", file=sys.stderr)
        return 1
    print(f"wrote {ICONS / 'workstation.png'} and .ico")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
