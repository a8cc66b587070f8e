"""The benchmark scripts: the PyTorch baseline is the reference network, the CLIs measure what
they say, and the report shows failures instead of numbers. Tiny shapes; speed is not tested."""

import contextlib
import importlib.util
import io
import os
import subprocess
import sys
import unittest
from unittest import mock

import numpy as np
from absl.testing import parameterized

from benchmarks import common, report
from lgtsm_tf.models import build_generator, count_parameters, generator_flops
from tests.testing import GOLDEN_DIR, GOLDEN_MISSING, REPO, TestCase, golden_available

HAS_TORCH = importlib.util.find_spec("torch") is not None
TINY = ["--nf", "8", "--frames", "4", "--height", "32", "--width", "48", "--runs", "2"]


@unittest.skipUnless(HAS_TORCH, "torch is not installed (pip install -e .[torch])")
class TorchReferenceTest(TestCase):

    @parameterized.parameters("lgtsm", "gtsm", "3d")
    def test_reproduces_the_golden_outputs(self, variant):
        if not golden_available():
            self.skipTest(GOLDEN_MISSING)
        from benchmarks.torch_reference import golden_max_diff

        self.assertLess(golden_max_diff(os.path.join(GOLDEN_DIR, f"{variant}-nf16")), 1e-6)

    def test_missing_weights_are_named(self):
        from benchmarks.torch_reference import ReferenceGenerator, load_reference_state

        with self.assertRaisesRegex(KeyError, "lacks .* weights"):
            load_reference_state(ReferenceGenerator("lgtsm", 8), {})

    @parameterized.parameters("lgtsm", "2d", "3d")
    def test_same_parameter_count_as_ours(self, variant):
        from benchmarks.torch_reference import ReferenceGenerator

        torch_count = sum(p.numel() for p in ReferenceGenerator(variant, 8).parameters())
        self.assertEqual(torch_count, count_parameters(build_generator(variant, nf=8)))


class ForwardCliTest(TestCase):

    @unittest.skipUnless(HAS_TORCH, "torch is not installed (pip install -e .[torch])")
    def test_tf_with_torch_baseline_and_matmul(self):
        r = common.run_child("forward", ["--variant", "lgtsm", *TINY, "--baseline", "torch",
                                         "--matmul"])
        self.assertEqual((r["runtime"], r["precision"], r["shape"]), ("tf", "fp32",
                                                                      [1, 4, 32, 48]))
        self.assertLen(r["times_s"], 2)
        self.assertAllClose(r["median_s"], np.median(r["times_s"]), rtol=1e-3)
        self.assertAllClose(r["frames_per_s"], 4 / r["median_s"], rtol=1e-6)
        self.assertEqual(r["params"], count_parameters(build_generator("lgtsm", nf=8)))
        self.assertAllClose(r["gflops_per_frame"], generator_flops("lgtsm", 8, 32, 48) / 1e9)
        self.assertAllClose(r["executed_gflops_per_frame"],
                            generator_flops("lgtsm", 8, 32, 48, executed=True) / 1e9)
        self.assertAllClose(r["achieved_gflop_per_s"],
                            r["gflops_per_frame"] * 4 / r["median_s"], rtol=1e-6)
        self.assertAllClose(r["speedup"], r["baseline_median_s"] / r["median_s"], rtol=1e-6)
        rounds = np.array(r["baseline_times_s"]) / np.array(r["times_s"])
        self.assertAllClose(r["speedup_range"], [rounds.min(), rounds.max()], rtol=1e-6)
        self.assertGreater(r["matmul_gflop_per_s"], 1.0)
        self.assertAllClose(r["fraction_of_matmul"],
                            r["achieved_gflop_per_s"] / r["matmul_gflop_per_s"], rtol=1e-6)
        self.assertEqual(r["threads"], 2)

    @parameterized.parameters(("xla", "fp32", "2d"), ("tf", "bf16", "3d"),
                              ("onnxruntime", "fp32", "gtsm"))
    def test_other_runtimes_and_precisions(self, runtime, precision, variant):
        r = common.run_child("forward", ["--variant", variant, "--runtime", runtime,
                                         "--precision", precision, *TINY])
        self.assertEqual((r["runtime"], r["precision"], r["variant"]), (runtime, precision,
                                                                        variant))
        self.assertGreater(r["frames_per_s"], 0)
        self.assertEqual(r["params"], count_parameters(build_generator(variant, nf=8)))
        # The same weights as TF fp32: fp32 runtimes agree closely, bf16 roughly.
        tolerance = 1e-4 if precision == "fp32" else 0.1
        self.assertLess(r["max_abs_diff_vs_tf_fp32"], tolerance)
        self.assertLessEqual(r["hole_mean_abs_diff_vs_tf_fp32"], r["max_abs_diff_vs_tf_fp32"])
        if precision != "fp32":
            self.assertGreater(r["max_abs_diff_vs_tf_fp32"], 0)  # really ran in bf16

    @parameterized.parameters(
        (["--height", "30"], "multiples of 4"),
        (["--runtime", "torch", "--precision", "bf16"], "fp32 only"),
        (["--runs", "0"], "--runs must be"))
    def test_bad_arguments_are_refused(self, extra, message):
        done = subprocess.run([sys.executable, "-m", "benchmarks.forward", *TINY, *extra],
                              cwd=REPO, capture_output=True, text=True)
        self.assertEqual(done.returncode, 2)
        self.assertIn(message, done.stderr)


class TrainStepCliTest(TestCase):

    def test_stage2_step(self):
        r = common.run_child("train_step", ["--variant", "lgtsm", "--nf", "8", "--d_nf", "8",
                                            "--frames", "4", "--height", "32", "--width", "32",
                                            "--runs", "2"])
        self.assertEqual((r["stage"], r["d_nf"], r["shape"]), (2, 8, [1, 4, 32, 32]))
        self.assertLen(r["times_s"], 2)
        self.assertGreater(r["median_s"], 0)
        # The step computed every reference loss term and a discriminator update.
        for term in ("l1", "perceptual", "style", "adversarial", "discriminator"):
            self.assertGreater(r["last_logs"][term], 0, term)
        self.assertEqual(r["last_logs"]["skipped_steps"], 0)


class TimingTest(TestCase):

    def test_alternating_takes_turns_after_each_warm_up(self):
        calls = []
        times = common.time_alternating([lambda: calls.append("a"), lambda: calls.append("b")],
                                        runs=3)
        self.assertEqual("".join(calls), "ab" + "ab" * 3)
        self.assertEqual([len(t) for t in times], [3, 3])
        self.assertTrue(all(t >= 0 for t in times[0] + times[1]))


class FakeCollector(report.Collector):
    """Returns canned results; the label decides success."""

    def __init__(self, fail=()):
        super().__init__()
        self.fail = fail

    def run(self, label, module, child_args):
        if any(f in label for f in self.fail):
            self.failures.append(f"{label}: boom")
            return None
        base = {"frames_per_s": 2.0, "params": 1234567, "gflops_per_frame": 140.37,
                "executed_gflops_per_frame": 121.94, "median_s": 4.0}
        if "--matmul" in child_args:
            base.update(achieved_gflop_per_s=280.7, executed_gflop_per_s=243.9,
                        fraction_of_matmul=1.25, executed_fraction_of_matmul=1.08,
                        matmul_gflop_per_s=225.0)
        if "--baseline" in child_args:
            base.update(baseline_frames_per_s=0.5, speedup=4.0, speedup_range=[3.5, 4.25])
        if module == "inference_memory":
            base = {"results": [{"frames": 24, "peak_rss_mb": 1000.0, "rss_before_mb": 900.0,
                                 "inference_peak_mb": 950.0, "seconds": 12.0}]}
        self.results.append({"label": label, **base})
        return base


class ReportTest(TestCase):

    def test_forward_table_has_every_column(self):
        args = report.parse_args(["--variants", "lgtsm,3d"])
        lines = report.forward_section(args, FakeCollector())
        rows = [line for line in lines if line.startswith("| lgtsm") or line.startswith("| 3d")]
        self.assertLen(rows, 2)
        self.assertEqual(rows[0], "| lgtsm | 1,234,567 | 140.4 (121.9) | 2.00 | 2.00 | 2.00 | "
                                  "2.00 | 0.50 | 4.00x (3.50-4.25) | 281 (244) | 125% (108%) |")
        self.assertIn("225-225 GFLOP/s", "\n".join(lines))

    def test_failures_are_shown_not_numbers(self):
        collect = FakeCollector(fail=("xla", "memory"))
        args = report.parse_args(["--variants", "2d"])
        forward = "\n".join(report.forward_section(args, collect))
        memory = "\n".join(report.memory_section(args, collect))
        self.assertIn("| 2.00 | 2.00 | failed | 2.00 |", forward)
        self.assertIn("| 2d | failed |", memory)
        self.assertLen(collect.failures, 2)

    def test_missing_runtimes_are_marked_not_installed(self):
        def missing(runtime):
            return ["torch"] if runtime == "torch" else []

        with mock.patch.object(report, "missing_modules", missing):
            lines = report.forward_section(report.parse_args(["--variants", "lgtsm"]),
                                           FakeCollector())
        self.assertIn("| lgtsm | 1,234,567 | 140.4 (121.9) | 2.00 | 2.00 | 2.00 | 2.00 | "
                      "not installed | n/a | 281 (244) | 125% (108%) |", lines)
        self.assertTrue(any(line.startswith("torch: not installed") for line in lines))

    def test_train_rows_measure_fp32_and_bf16(self):
        collect = FakeCollector()
        lines = report.train_section(report.parse_args(["--variants", "lgtsm,3d"]), collect)
        self.assertIn("| lgtsm | 4 | 4 |", lines)
        self.assertIn("| 3d | 4 | 4 |", lines)
        self.assertEqual([r["label"] for r in collect.results],
                         ["train_step lgtsm fp32", "train_step lgtsm bf16", "train_step 3d fp32",
                          "train_step 3d bf16"])

    def test_memory_rows(self):
        lines = report.memory_section(report.parse_args(["--variants", "lgtsm"]), FakeCollector())
        self.assertIn("| lgtsm | 24 | 1000 | 50 | 12.0 | 2.00 |", lines)

    @parameterized.parameters((["--variants", "4d"], "unknown variants"),
                              (["--sections", "speed"], "--sections takes"))
    def test_bad_arguments(self, argv, message):
        err = io.StringIO()
        with self.assertRaises(SystemExit), contextlib.redirect_stderr(err):
            report.parse_args(argv)
        self.assertIn(message, err.getvalue())
