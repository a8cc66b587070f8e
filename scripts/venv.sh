# Sourced by the scripts: makes ./.venv with Python 3.11 if it does not exist, sets VENV_PY.
PYTHON_BIN=${PYTHON:-python3.11}
command -v "$PYTHON_BIN" >/dev/null 2>&1 || PYTHON_BIN=python3
if [ ! -x .venv/bin/python ]; then
  "$PYTHON_BIN" -m venv .venv
  .venv/bin/python -m pip install -q --upgrade pip
fi
VENV_PY=.venv/bin/python
export PIP_DISABLE_PIP_VERSION_CHECK=1
