#!/usr/bin/env bash
# Set everything up (idempotent) and open the workstation. Extra arguments go to `workstation`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/workstation "$@"
