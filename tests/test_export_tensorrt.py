"""Tests for the TensorRT path (lgtsm_tf.export.tensorrt_engine, export/export_tensorrt.py).

`tensorrt` cannot be installed on the development machines (its wheels download from NVIDIA's
index; there is no GPU), so the tests that build and run real engines skip with the reason
`tensorrt_unavailable_reason()` gives. What runs everywhere: shape/profile parsing, the CLI's
behaviour without TensorRT (clear message, exit status 3, nothing written), and the builder's
calls against a recording stand-in of the `tensorrt` module (so the code path that cannot run
here is still executed: profile shapes per input, FP16 flag, workspace, parse errors).
"""

import os
import sys
import types
import unittest
from unittest import mock

import numpy as np
from absl.testing import parameterized

from lgtsm_tf.export import tensorrt_engine as te
from tests import test_export_common as common

TRT_REASON = te.tensorrt_unavailable_reason()


def _cli(*args):
    from export import export_tensorrt

    return common.run_cli(export_tensorrt, *args)


class ShapeTest(common.ExportTestCase):

    @parameterized.parameters(("1x8x240x432", (1, 8, 240, 432)), ("2,3,17,33", (2, 3, 17, 33)),
                              (" 1X1X64X64 ", (1, 1, 64, 64)), ((1, 2, 3, 4), (1, 2, 3, 4)))
    def test_parse(self, text, shape):
        self.assertEqual(te.parse_shape(text), shape)

    @parameterized.parameters("1x8x240", "1x8x240x432x3", "0x8x240x432", "1x8xHx432", "",
                              "1x-8x240x432")
    def test_parse_rejects(self, text):
        with self.assertRaisesRegex(ValueError, "BxTxHxW"):
            te.parse_shape(text)

    def test_profile_shapes(self):
        spec = te.profile_shapes("1x1x64x64", "1x8x240x432", "2x16x480x864")
        self.assertEqual(spec, {
            "frames": ((1, 1, 64, 64, 3), (1, 8, 240, 432, 3), (2, 16, 480, 864, 3)),
            "masks": ((1, 1, 64, 64, 1), (1, 8, 240, 432, 1), (2, 16, 480, 864, 1))})

    def test_profile_order(self):
        with self.assertRaisesRegex(ValueError, "min <= opt <= max on every axis; T: min 8, "
                                                "opt 4, max 16"):
            te.check_profile("1x8x64x64", "1x4x64x64", "1x16x64x64")


@unittest.skipIf(TRT_REASON is None, "tensorrt is installed here")
class TensorRTMissingTest(common.ExportTestCase):
    """What users without TensorRT get (skipped where TensorRT is installed)."""

    def setUp(self):
        super().setUp()
        self.out = os.path.join(common.tmp_root(), "trt_missing")

    def test_build_exits_with_reason(self):
        reason = TRT_REASON
        code, _, stderr = _cli("--onnx=model.onnx", f"--output={self.out}/m.engine",
                               "--min=1x1x32x32", "--opt=1x4x64x64", "--max=1x8x128x128")
        self.assertEqual(code, 3)
        self.assertIn("TensorRT is not available: `import tensorrt` failed", stderr)
        self.assertEqual(stderr.strip(), f"lgtsm-export-tensorrt: {reason}")
        self.assertFalse(os.path.exists(self.out))

    def test_run_exits_with_reason(self):
        reason = TRT_REASON
        code, _, stderr = _cli("--engine=m.engine", "--video=v.mp4", "--masks=m",
                               f"--output={self.out}/frames")
        self.assertEqual((code, stderr.strip()), (3, f"lgtsm-export-tensorrt: {reason}"))

    def test_argument_errors_come_first(self):
        code, _, stderr = _cli("--onnx=model.onnx", f"--output={self.out}/m.engine",
                               "--min=1x8x32x32", "--opt=1x4x64x64", "--max=1x8x128x128")
        self.assertEqual(code, 1)
        self.assertIn("min <= opt <= max", stderr)

    def test_library_raises_with_reason(self):
        with self.assertRaisesRegex(te.TensorRTError, "TensorRT is not available"):
            te.build_engine("model.onnx", "1x1x32x32", "1x4x64x64", "1x8x128x128")


def _fake_tensorrt(version="10.3.0", parse_ok=True, build_ok=True):
    """A recording stand-in for the parts of the `tensorrt` module the builder uses (names
    and signatures as in TensorRT 10's Python API)."""
    calls = []
    trt = types.ModuleType("tensorrt")
    trt.__version__ = version

    class Logger:
        VERBOSE, INFO, WARNING, ERROR = "VERBOSE", "INFO", "WARNING", "ERROR"

        def __init__(self, severity):
            calls.append(("Logger", severity))

    class Input:
        def __init__(self, name):
            self.name = name

    class Network:
        num_inputs = 2

        def get_input(self, i):
            return Input(["frames", "masks"][i])

    class Parser:
        num_errors = 0 if parse_ok else 2

        def __init__(self, network, logger):
            pass

        def parse(self, data):
            calls.append(("parse", len(data)))
            return parse_ok

        def get_error(self, i):
            return f"In node {i}: unsupported"

    class Profile:
        def set_shape(self, name, low, opt, high):
            calls.append(("set_shape", name, tuple(low), tuple(opt), tuple(high)))

    class Config:
        def set_memory_pool_limit(self, pool, size):
            calls.append(("pool", pool, size))

        def set_flag(self, flag):
            calls.append(("flag", flag))

        def add_optimization_profile(self, profile):
            calls.append(("add_profile",))

    class Builder:
        platform_has_fast_fp16 = True

        def __init__(self, logger):
            pass

        def create_network(self, flags):
            calls.append(("create_network", flags))
            return Network()

        def create_builder_config(self):
            return Config()

        def create_optimization_profile(self):
            return Profile()

        def build_serialized_network(self, network, config):
            calls.append(("build",))
            return b"ENGINE" if build_ok else None

    trt.Logger, trt.Builder, trt.OnnxParser = Logger, Builder, Parser
    trt.NetworkDefinitionCreationFlag = types.SimpleNamespace(EXPLICIT_BATCH=0)
    trt.MemoryPoolType = types.SimpleNamespace(WORKSPACE="WORKSPACE")
    trt.BuilderFlag = types.SimpleNamespace(FP16="FP16")
    return trt, calls


class BuilderCallsTest(common.ExportTestCase):
    """`build_engine` against the recording stand-in: the profile and flags it sets."""

    def setUp(self):
        super().setUp()
        self.onnx = os.path.join(common.tmp_root(), "fake_input.onnx")
        with open(self.onnx, "wb") as f:
            f.write(b"0123456789")

    def _build(self, trt, **kwargs):
        with mock.patch.dict(sys.modules, {"tensorrt": trt}):
            return te.build_engine(self.onnx, "1x1x32x48", "1x8x240x432", "2x16x480x864",
                                   **kwargs)

    @parameterized.parameters(("10.3.0", 0), ("8.6.1", 1))
    def test_profile_fp16_workspace(self, version, network_flags):
        trt, calls = _fake_tensorrt(version)
        self.assertEqual(self._build(trt, fp16=True, workspace_gib=2), b"ENGINE")
        self.assertEqual(calls, [
            ("Logger", "WARNING"), ("create_network", network_flags), ("parse", 10),
            ("pool", "WORKSPACE", 2 << 30), ("flag", "FP16"),
            ("set_shape", "frames", (1, 1, 32, 48, 3), (1, 8, 240, 432, 3), (2, 16, 480, 864, 3)),
            ("set_shape", "masks", (1, 1, 32, 48, 1), (1, 8, 240, 432, 1), (2, 16, 480, 864, 1)),
            ("add_profile",), ("build",)])

    def test_no_fp16_flag_by_default(self):
        trt, calls = _fake_tensorrt()
        self._build(trt)
        self.assertNotIn(("flag", "FP16"), calls)

    def test_parse_errors_are_listed(self):
        trt, _ = _fake_tensorrt(parse_ok=False)
        with self.assertRaisesRegex(te.TensorRTError, "ONNX parser failed:\n  In node 0: "
                                                      "unsupported\n  In node 1: unsupported"):
            self._build(trt)

    def test_failed_build(self):
        trt, _ = _fake_tensorrt(build_ok=False)
        with self.assertRaisesRegex(te.TensorRTError, "could not build the engine"):
            self._build(trt)

    def test_old_tensorrt_is_refused(self):
        trt, _ = _fake_tensorrt("8.5.3")
        with mock.patch.dict(sys.modules, {"tensorrt": trt}):
            self.assertIn("TensorRT 8.5.3 is too old", te.tensorrt_unavailable_reason())

    def test_cli_writes_the_engine_atomically(self):
        trt, _ = _fake_tensorrt()
        out = os.path.join(common.tmp_root(), "fake_engines", "m.engine")
        args = (f"--onnx={self.onnx}", f"--output={out}", "--min=1x1x32x48",
                "--opt=1x8x240x432", "--max=2x16x480x864", "--nocheck")
        with mock.patch.dict(sys.modules, {"tensorrt": trt}):
            code, stdout, stderr = _cli(*args)
            self.assertEqual((code, stderr), (0, ""))
            self.assertIn(f"wrote {out}", stdout)
            with open(out, "rb") as f:
                self.assertEqual(f.read(), b"ENGINE")
            code, _, stderr = _cli(*args)  # exists: refused without --overwrite
        self.assertEqual(code, 1)
        self.assertIn("already exists", stderr)
        self.assertEqual(os.listdir(os.path.dirname(out)), ["m.engine"])


    def test_cli_removes_the_engine_if_its_check_fails(self):
        # The post-build check needs the runner (cuda-python, a GPU); when it cannot run,
        # the engine is not left behind looking verified.
        trt, _ = _fake_tensorrt()
        out = os.path.join(common.tmp_root(), "fake_engines_check", "m.engine")
        with mock.patch.dict(sys.modules, {"tensorrt": trt}):
            code, stdout, stderr = _cli(f"--onnx={self.onnx}", f"--output={out}",
                                        "--min=1x1x32x48", "--opt=1x8x240x432",
                                        "--max=2x16x480x864")
        self.assertEqual(code, 1)
        self.assertIn(f"wrote {out}", stdout)
        self.assertIn(f"checking the engine failed, removed {out}", stderr)
        self.assertIn("(--nocheck skips the check)", stderr)
        self.assertEqual(os.listdir(os.path.dirname(out)), [])


@unittest.skipIf(TRT_REASON is not None, TRT_REASON or "")
class TensorRTEngineTest(common.ExportTestCase):
    """Real engines (runs only where TensorRT, a GPU and cuda-python are present)."""

    def test_build_and_run(self):
        onnx_path, _ = common.onnx_export()
        engine = os.path.join(common.tmp_root(), "lgtsm.engine")
        te.write_engine(onnx_path, engine, overwrite=True, min_shape="1x1x16x16",
                        opt_shape="1x4x32x32", max_shape="2x6x48x48")
        with te.TensorRTRunner(engine) as runner:
            for shape in ("1x4x32x32", "2x3x22x30"):
                self.assertLessEqual(te.compare_with_onnx(runner, onnx_path, shape), 1e-3)
            frames = np.random.default_rng(0).integers(0, 256, (3, 22, 30, 3), np.uint8)
            masks = np.zeros((3, 22, 30), np.uint8)
            masks[:, 5:15, 5:20] = 1
            out = runner.inpaint_clip(frames, masks)
            self.assertAllEqual(out[masks == 0], frames[masks == 0])
            with self.assertRaisesRegex(ValueError, "outside the engine's optimization profile"):
                runner.run(np.zeros((1, 7, 32, 32, 3), np.float32),
                           np.zeros((1, 7, 32, 32, 1), np.float32))
