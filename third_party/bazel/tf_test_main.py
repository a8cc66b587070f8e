"""Entry point of the py_test targets: runs one test module's cases with tf.test.main().

Usage (from BUILD): args = ["tests.test_layers"]. The module is imported as pytest imports it
(`tests.test_layers`, not `__main__`), its test cases are exposed to the absltest loader, and
tf.test.main() runs them (JUnit XML goes to $XML_OUTPUT_FILE under `bazel test`). This works for
test files with or without an `if __name__ == "__main__":` block; further arguments go to absltest
(e.g. `--test_arg=-k --test_arg=Composite` or `--test_arg=LayersTest.test_x`).
"""

import importlib
import sys
import unittest


def _main():
    if len(sys.argv) < 2 or sys.argv[1].startswith("-"):
        sys.exit("usage: tf_test_main.py TEST_MODULE [absltest arguments]")
    module = importlib.import_module(sys.argv.pop(1))
    import tensorflow as tf  # after the test module, which may configure TensorFlow first

    main = sys.modules["__main__"]
    for name, value in vars(module).items():
        if isinstance(value, type) and issubclass(value, unittest.TestCase):
            setattr(main, name, value)
    tf.test.main()


if __name__ == "__main__":
    _main()
