#!/usr/bin/env bash
# The README's test command: creates .venv (if missing), installs lgtsm-tf with its test extras,
# and runs the fast test suite (`pytest -m "not slow"`). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/venv.sh
"$VENV_PY" -m pip install -q -e ".[dev,export]"
# The TF Serving protos: --no-deps, because its metadata would pull the full `tensorflow` wheel
# on top of tensorflow-cpu.
"$VENV_PY" -m pip install -q --no-deps "tensorflow-serving-api==2.21.0"
# PyTorch is optional (reading the authors' .pth files). Install it only when a local CPU wheel is
# at hand, never as a multi-GB download; its tests skip with a reason otherwise.
if ! "$VENV_PY" -c "import torch" >/dev/null 2>&1; then
  if "$VENV_PY" -m pip install -q --no-index --no-deps "torch==2.13.0" >/dev/null 2>&1; then
    "$VENV_PY" -m pip install -q "torch==2.13.0"  # its small pure-Python dependencies
  else
    echo "torch is not available offline: the PyTorch-checkpoint tests will skip."
  fi
fi
exec "$VENV_PY" -m pytest -m "not slow" "$@"
