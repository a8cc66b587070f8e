"""Entry point of the py_test targets: runs one test module's cases with tf.test.main().

Usage (from BUILD): args = ["tests.test_layers"]. The module is imported as pytest imports it
(`tests.test_layers`, not `__main__`), its test cases are exposed to the absltest loader, and
tf.test.main() runs them (JUnit XML goes to $XML_OUTPUT_FILE under `bazel test`). This works for
test files with or without an `if __name__ == "__main__":` block; further arguments go to absltest
(e.g. `--test_arg=-k --test_arg=Composite` or `--test_arg=LayersTest.test_x`).

Tests marked `@pytest.mark.slow` (a method, a class or the module's `pytestmark`) are skipped
unless LGTSM_SLOW_TESTS=1 (`bazel test --test_env=LGTSM_SLOW_TESTS=1 ...`): the same marker that
`pytest.ini` deselects by default, so one mark decides for both runners.
"""

import importlib
import os
import sys
import unittest

SLOW_REASON = "marked slow (pytest -m slow; under Bazel --test_env=LGTSM_SLOW_TESTS=1)"


def is_slow(obj) -> bool:
    """True if `obj` (function, class or module) carries pytest's `slow` mark."""
    marks = getattr(obj, "pytestmark", [])
    if not isinstance(marks, (list, tuple)):
        marks = [marks]
    return any(getattr(mark, "name", None) == "slow" for mark in marks)


def skip_slow(module) -> None:
    """Makes every slow test of `module`'s TestCase classes skip with SLOW_REASON."""
    module_slow = is_slow(module)
    for value in vars(module).values():
        if not (isinstance(value, type) and issubclass(value, unittest.TestCase)):
            continue
        if module_slow or is_slow(value):
            unittest.skip(SLOW_REASON)(value)
            continue
        for name in dir(value):
            method = getattr(value, name, None)
            if name.startswith("test") and callable(method) and is_slow(method):
                setattr(value, name, unittest.skip(SLOW_REASON)(method))


def _main():
    if len(sys.argv) < 2 or sys.argv[1].startswith("-"):
        sys.exit("usage: tf_test_main.py TEST_MODULE [absltest arguments]")
    module = importlib.import_module(sys.argv.pop(1))
    if os.environ.get("LGTSM_SLOW_TESTS") != "1":
        skip_slow(module)
    import tensorflow as tf  # after the test module, which may configure TensorFlow first

    main = sys.modules["__main__"]
    for name, value in vars(module).items():
        if isinstance(value, type) and issubclass(value, unittest.TestCase):
            setattr(main, name, value)
    tf.test.main()


if __name__ == "__main__":
    _main()
