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
# Known open bug (issue 8 note): the Qt test process occasionally dies with SIGSEGV while Qt
# processes events. A crash (exit by signal, >= 128) re-runs the GUI suite, at most 3 times;
# a failing test (exit < 128) never does.
for attempt in 1 2 3; do
  set +e
  .venv/bin/python -m pytest tests/gui "$@"
  gui_rc=$?
  set -e
  [ "$gui_rc" -lt 128 ] && break
  echo "GUI test process crashed (exit $gui_rc); re-running the GUI suite (attempt $attempt of 3)" >&2
done
echo "== pytest: everything else =="
set +e
.venv/bin/python -m pytest --ignore=tests/gui "$@"
rest_rc=$?
set -e
[ "$gui_rc" -eq 0 ] && [ "$rest_rc" -eq 0 ]
