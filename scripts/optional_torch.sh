# Sourced after venv.sh: PyTorch is optional (reading the authors' .pth files, the authors'
# speed baseline in benchmarks/). Install it only when a local CPU wheel is at hand, never as a
# multi-GB download; what needs it skips with a reason otherwise.
if ! "$VENV_PY" -c "import torch" >/dev/null 2>&1; then
  if "$VENV_PY" -m pip install -q --no-index --no-deps "torch==2.13.0" >/dev/null 2>&1; then
    "$VENV_PY" -m pip install -q "torch==2.13.0"  # its small pure-Python dependencies
  else
    echo "torch is not available offline: PyTorch checkpoint tests and the PyTorch baseline skip."
  fi
fi
