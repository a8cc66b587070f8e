#!/usr/bin/env bash
# The README's test command: creates .venv (if missing), installs lgtsm-tf with its test extras,
# and runs the fast test suite (`pytest`; pytest.ini deselects the slow tests). Extra arguments go
# to pytest (`-m slow` runs the slow ones).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/venv.sh
"$VENV_PY" -m pip install -q -e ".[dev,export]"
# The TF Serving protos: --no-deps, because its metadata would pull the full `tensorflow` wheel
# on top of tensorflow-cpu.
"$VENV_PY" -m pip install -q --no-deps "tensorflow-serving-api==2.21.0"
source scripts/optional_torch.sh
exec "$VENV_PY" -m pytest "$@"
