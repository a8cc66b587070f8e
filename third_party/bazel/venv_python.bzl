"""A Python toolchain whose interpreter is the project's virtual environment.

The interpreter path is computed when the repository is fetched, so no machine path is
committed: `$LGTSM_BAZEL_PYTHON` if set (an absolute path to a Python 3.11 with lgtsm-tf's
requirements), otherwise `.venv/bin/python` in this workspace (made by `scripts/venv.sh`, filled
by `pip install -e ".[dev]"`; `scripts/bazel_test.sh` does both). The path is used as given,
without resolving the venv's symlink, so that Python starts inside the venv.
"""

_BUILD = """\
load("@bazel_tools//tools/python:toolchain.bzl", "py_runtime_pair")

py_runtime(
    name = "py3_runtime",
    interpreter_path = "{python}",
    python_version = "PY3",
)

py_runtime_pair(
    name = "runtime_pair",
    py3_runtime = ":py3_runtime",
)

toolchain(
    name = "toolchain",
    toolchain = ":runtime_pair",
    toolchain_type = "@bazel_tools//tools/python:toolchain_type",
)
"""

def _venv_python_impl(rctx):
    python = rctx.os.environ.get("LGTSM_BAZEL_PYTHON", "")
    if not python:
        workspace = rctx.path(Label("//:WORKSPACE")).dirname
        python = "%s/.venv/bin/python" % workspace
    if not python.startswith("/"):
        fail("LGTSM_BAZEL_PYTHON must be an absolute path, got %r" % python)
    if not rctx.path(python).exists:
        fail(("No Python interpreter at %s. Create the project's virtual environment first: " +
              "`bash scripts/bazel_test.sh` does it (or `source scripts/venv.sh && " +
              "$VENV_PY -m pip install -e \".[dev]\"`), or set LGTSM_BAZEL_PYTHON.") % python)
    rctx.file("WORKSPACE", 'workspace(name = "%s")\n' % rctx.name)
    rctx.file("BUILD.bazel", _BUILD.format(python = python))

venv_python = repository_rule(
    implementation = _venv_python_impl,
    environ = ["LGTSM_BAZEL_PYTHON"],
    local = True,
)
