#!/usr/bin/env bash
# The README's main command: creates .venv (if missing), installs lgtsm-tf and runs the demo job
# (`lgtsm-demo`): reference parity, model sizes, and a forward pass written to outputs/demo/.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/venv.sh
"$VENV_PY" -m pip install -q -e .
exec .venv/bin/lgtsm-demo "$@"
