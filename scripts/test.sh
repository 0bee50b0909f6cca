#!/usr/bin/env bash
# Set everything up (including the test tools: Xvfb, D-Bus, gnome-keyring) and run the whole
# test suite headless: lint, then pytest. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --with-test-tools
export QT_QPA_PLATFORM=offscreen
export PYTHONDONTWRITEBYTECODE=1
# Tests must never touch the real user's data directory or keyring.
export WORKSTATION_HOME="$(mktemp -d)"
trap 'rm -rf "$WORKSTATION_HOME"' EXIT
echo "== ruff =="
.venv/bin/ruff check workstation tests bench
echo "== pytest: GUI (Qt offscreen) =="
# The Qt tests run in their own process: one QApplication, one qasync loop per test.
set +e
.venv/bin/python -m pytest tests/gui "$@"
gui_rc=$?
set -e
echo "== pytest: everything else =="
set +e
.venv/bin/python -m pytest --ignore=tests/gui "$@"
rest_rc=$?
set -e
[ "$gui_rc" -eq 0 ] && [ "$rest_rc" -eq 0 ]
