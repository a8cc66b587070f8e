"""Bazel's test runner (third_party/bazel/tf_test_main.py) skips what pytest deselects."""

import types
import unittest

import pytest
from absl.testing import absltest, parameterized

from third_party.bazel import tf_test_main


def _module(**members):
    module = types.ModuleType("fake_tests")
    for name, value in members.items():
        setattr(module, name, value)
    return module


def _run(case):
    result = unittest.TestResult()
    unittest.defaultTestLoader.loadTestsFromTestCase(case).run(result)
    return sorted(test._testMethodName for test, _ in result.skipped), result.testsRun


class SkipSlowTest(absltest.TestCase):

    def test_marked_methods_skip_and_others_run(self):
        class Case(parameterized.TestCase):
            def test_fast(self):
                pass

            @pytest.mark.slow
            def test_slow(self):
                raise AssertionError("must not run")

            @parameterized.parameters(1, 2)
            @pytest.mark.slow
            def test_slow_cases(self, value):
                raise AssertionError(f"must not run {value}")

        tf_test_main.skip_slow(_module(Case=Case))
        skipped, ran = _run(Case)
        self.assertEqual(skipped, ["test_slow", "test_slow_cases0", "test_slow_cases1"])
        self.assertEqual(ran, 4)

    def test_marked_class_and_module(self):
        @pytest.mark.slow
        class Slow(unittest.TestCase):
            def test_a(self):
                raise AssertionError("must not run")

        class Plain(unittest.TestCase):
            def test_b(self):
                raise AssertionError("must not run")

        tf_test_main.skip_slow(_module(Slow=Slow))
        self.assertEqual(_run(Slow)[0], ["test_a"])
        tf_test_main.skip_slow(_module(Plain=Plain, pytestmark=[pytest.mark.slow]))
        self.assertEqual(_run(Plain)[0], ["test_b"])

    def test_is_slow_reads_only_the_slow_mark(self):
        @pytest.mark.filterwarnings("ignore")
        def other():
            pass

        @pytest.mark.slow
        def slow():
            pass

        self.assertFalse(tf_test_main.is_slow(other))
        self.assertTrue(tf_test_main.is_slow(slow))


if __name__ == "__main__":
    absltest.main()
