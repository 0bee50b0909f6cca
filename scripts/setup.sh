#!/usr/bin/env bash
# Sets up everything the workstation needs on this machine, idempotently:
#   - on Debian/Ubuntu, the system libraries Qt needs (and, for the test suite, Xvfb,
#     a D-Bus session daemon and gnome-keyring) when they are missing;
#   - a .venv/ at the repository root with the locked dependencies and the package itself.
# Usage: scripts/setup.sh [--with-test-tools] [--with-bench]
#   --with-bench also installs the peers the benchmarks compare against (vectorbt, backtesting.py).
set -euo pipefail
cd "$(dirname "$0")/.."

WITH_TEST_TOOLS=0
LOCK=requirements/lock.txt
for arg in "$@"; do
  case "$arg" in
    --with-test-tools) WITH_TEST_TOOLS=1 ;;
    --with-bench) LOCK=requirements/bench-lock.txt ;;
    *) echo "setup: unknown option $arg" >&2; exit 2 ;;
  esac
done

QT_DEBS=(libegl1 libgl1 libxkbcommon0 libxkbcommon-x11-0 libfontconfig1 libdbus-1-3 fonts-dejavu-core
         libx11-xcb1 libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0
         libxcb-randr0 libxcb-shape0 libxcb-xinerama0 libxcb-xkb1)
TEST_DEBS=(xvfb xauth dbus dbus-x11 gnome-keyring nsis)

install_debs() {
  command -v dpkg-query >/dev/null 2>&1 || return 0
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
      echo "setup: missing system packages: ${missing[*]} (run as root: apt-get install ${missing[*]})" >&2
      return 0
    fi
  fi
  echo "setup: installing system packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

if [ "$(uname -s)" = "Linux" ]; then
  install_debs "${QT_DEBS[@]}"
  [ $WITH_TEST_TOOLS -eq 1 ] && install_debs "${TEST_DEBS[@]}"
fi

PY="${PYTHON:-}"
if [ -z "$PY" ]; then
  for cand in python3.11 python3.12 python3.13 python3; do
    if command -v "$cand" >/dev/null 2>&1 && "$cand" -c 'import sys; sys.exit(0 if (3,11) <= sys.version_info[:2] < (3,14) else 1)'; then
      PY="$cand"; break
    fi
  done
fi
[ -n "$PY" ] || { echo "setup: Python 3.11-3.13 is required" >&2; exit 1; }

if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv with $PY"
  "$PY" -m venv .venv
fi

# Re-install only when the lock or the project metadata changed.
stamp=.venv/.workstation-lock.sha256
want=$(cat "$LOCK" pyproject.toml | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ] || [ ! -x .venv/bin/workstation ]; then
  echo "setup: installing locked dependencies into .venv"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -r "$LOCK"
  .venv/bin/python -m pip install -q --no-deps -e .
  echo "$want" > "$stamp"
fi
echo "setup: ready (.venv/bin/workstation)"
