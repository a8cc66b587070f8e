#!/usr/bin/env bash
# The README's benchmark command: creates .venv (if missing), installs lgtsm-tf with the export
# extras (onnxruntime) and, when a local wheel is at hand, PyTorch (the authors' baseline), then
# prints the benchmark table. Arguments go to `python -m benchmarks.report` (see its --help).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/venv.sh
"$VENV_PY" -m pip install -q -e ".[export]"
source scripts/optional_torch.sh
exec "$VENV_PY" -m benchmarks.report "$@"
