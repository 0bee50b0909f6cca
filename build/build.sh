#!/usr/bin/env bash
# Build and check the distributables:
#   1. the Windows dependency check (markers + win_amd64 wheels for every pin);
#   2. the PyInstaller one-folder bundle for this platform (Linux here; Windows: build_windows.ps1);
#   3. a smoke test: the bundled CLI runs doctor, and the bundled GUI saves a screenshot offscreen;
#   4. the NSIS installer script compiled with `makensis -WX` (warnings are errors) around a
#      placeholder payload, so the script is linted without a Windows build.
# Usage: build/build.sh [--dist DIR] [--work DIR] [--skip-windows-check]
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DIST="$ROOT/build/dist"
WORK="$ROOT/build/work"
WINCHECK=1
while [ $# -gt 0 ]; do
  case "$1" in
    --dist) DIST="$2"; shift 2 ;;
    --work) WORK="$2"; shift 2 ;;
    --skip-windows-check) WINCHECK=0; shift ;;
    *) echo "build: unknown option $1" >&2; exit 2 ;;
  esac
done
cd "$ROOT"
[ -x .venv/bin/pyinstaller ] || bash scripts/setup.sh --with-test-tools

if [ $WINCHECK -eq 1 ]; then
  echo "== windows dependencies =="
  .venv/bin/python build/check_windows_deps.py
fi

echo "== pyinstaller =="
.venv/bin/pyinstaller --noconfirm --clean --log-level WARN --distpath "$DIST" --workpath "$WORK" build/workstation.spec
BUNDLE="$DIST/OpenAlphaWorkstation"
du -sh "$BUNDLE"

echo "== smoke test =="
SMOKE_HOME="$(mktemp -d)"
trap 'rm -rf "$SMOKE_HOME"' EXIT
export QT_QPA_PLATFORM=offscreen
"$BUNDLE/workstation" --home "$SMOKE_HOME" doctor --offline
# Databases are created through the bundled Alembic migrations, and the bundled sample loads.
"$BUNDLE/workstation" --home "$SMOKE_HOME" data load-sample
"$BUNDLE/workstation" --home "$SMOKE_HOME" data list
"$BUNDLE/workstation" --home "$SMOKE_HOME" graduation list
echo "bundle databases OK"
"$BUNDLE/OpenAlphaWorkstation" --home "$SMOKE_HOME" gui --screenshot "$SMOKE_HOME/bundle.png"
test -s "$SMOKE_HOME/bundle.png"
echo "bundle screenshot OK"

echo "== installer script lint =="
if command -v makensis >/dev/null 2>&1; then
  PAYLOAD="$(mktemp -d)"
  echo "placeholder payload: the real one is built on Windows" > "$PAYLOAD/OpenAlphaWorkstation.exe"
  cp "$PAYLOAD/OpenAlphaWorkstation.exe" "$PAYLOAD/workstation.exe"
  makensis -WX -V2 -DPAYLOAD_DIR="$PAYLOAD" -DOUTFILE="$WORK/OpenAlphaWorkstation-Setup-lint.exe" build/installer.nsi
  rm -rf "$PAYLOAD"
  echo "installer script compiles with -WX"
else
  echo "makensis not installed (apt-get install nsis): installer lint skipped" >&2
  exit 1
fi
echo "build OK: $BUNDLE"
