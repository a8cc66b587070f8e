#!/usr/bin/env bash
# The fast tests under Bazel, offline: installs Debian's Bazel (bazel-bootstrap, 4.2) if it is
# missing, makes sure ./.venv exists with lgtsm-tf's requirements (WORKSPACE registers it as the
# Python toolchain), and runs `bazel test //...`. Arguments replace `//...` (targets and bazel
# flags, e.g. `scripts/bazel_test.sh //:test_layers --test_output=all`). Exits non-zero when a
# test fails.
set -euo pipefail
cd "$(dirname "$0")/.."

BAZEL=${BAZEL:-bazel}
if ! command -v "$BAZEL" >/dev/null 2>&1; then
  echo "Installing Bazel from Debian (apt-get install bazel-bootstrap) ..."
  SUDO=()
  if [ "$(id -u)" -ne 0 ]; then SUDO=(sudo); fi
  "${SUDO[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq bazel-bootstrap
fi

source scripts/venv.sh
"$VENV_PY" -m pip install -q -e ".[dev]"

# The golden vectors ship beside the checkout; tests run inside Bazel's runfiles tree, where the
# relative ../shared/golden does not resolve, so pass the absolute path (else the parity test
# skips with a reason).
TEST_ENV=()
GOLDEN_LISTING=""
if [ -d ../shared/golden ]; then
  GOLDEN_DIR="$(cd ../shared/golden && pwd -P)"
  TEST_ENV+=(--test_env=LGTSM_GOLDEN_DIR="$GOLDEN_DIR")
  GOLDEN_LISTING="$(find "$GOLDEN_DIR" -type f -printf '%P %s %T@\n' | sort)"
fi
# Neither the venv's packages nor the golden files are Bazel inputs: a stamp of them in the test
# environment makes Bazel rerun cached tests when either changes.
STAMP="$({ "$VENV_PY" -c 'import sys; print(sys.version)'; "$VENV_PY" -m pip freeze --all
           echo "$GOLDEN_LISTING"; } | sha256sum | cut -c1-16)"
TEST_ENV+=(--test_env=LGTSM_BAZEL_ENV_STAMP="$STAMP")

if [ $# -eq 0 ]; then set -- //...; fi
# .bazelrc: no downloads, --jobs=2, --local_cpu_resources=2.
exec "$BAZEL" test "${TEST_ENV[@]}" "$@"
