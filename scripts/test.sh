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
echo "== pytest =="
.venv/bin/python -m pytest "$@"
