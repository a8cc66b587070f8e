"""Tests for the TF Serving SavedModel export (lgtsm_tf.export.savedmodel, export_savedmodel.py).

nf=8 generators, clips of 2-4 frames up to 32x32 px. The SavedModels are written once by the
real CLI (tests/test_export_common.py) and shared with the ONNX and serving tests.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile

import keras
import numpy as np
import tensorflow as tf
from absl.testing import parameterized
from tensorflow.core.protobuf import saved_model_pb2

from lgtsm_tf import inference
from lgtsm_tf.export import files, savedmodel
from tests import test_export_common as common
from tests.testing import REPO, graph_nodes

SHAPES = ((2, 4, 32, 32), (1, 3, 22, 30))  # [B, T, H, W]; the second is not a multiple of 4


def new_tempdir(test):
    path = tempfile.mkdtemp(prefix="lgtsm_export_test_")
    test.addCleanup(shutil.rmtree, path, ignore_errors=True)
    return path


def _float(frames, masks):
    return frames.astype(np.float32) / np.float32(255.0), (masks != 0).astype(np.float32)


class SavedModelExportTest(common.ExportTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.model, cls.base, cls.path, cls.stdout = common.exported("float32")
        cls.loaded = tf.saved_model.load(cls.path)

    def call(self, signature, frames, masks):
        fn = self.loaded.signatures[signature]
        return fn(frames=tf.constant(frames), masks=tf.constant(masks))[savedmodel.OUTPUT].numpy()

    def test_cli_verified_before_writing(self):
        self.assertIn("verified serving_default 1x3x20x28: max abs diff vs Keras 0", self.stdout)
        self.assertIn("verified serving_float 1x3x20x28: max abs diff vs Keras 0", self.stdout)
        self.assertIn(f"wrote {self.path}", self.stdout)
        self.assertEqual(sorted(os.listdir(self.base)), ["1"])  # no temporary left behind

    @parameterized.parameters(("serving_default", tf.uint8), ("serving_float", tf.float32))
    def test_signature_specs(self, name, dtype):
        fn = self.loaded.signatures[name]
        specs = fn.structured_input_signature[1]
        self.assertEqual(sorted(specs), ["frames", "masks"])
        self.assertEqual(specs["frames"].shape.as_list(), [None, None, None, None, 3])
        self.assertEqual(specs["masks"].shape.as_list(), [None, None, None, None, 1])
        self.assertEqual({s.dtype for s in specs.values()}, {dtype})
        outputs = fn.structured_outputs
        self.assertEqual(list(outputs), ["inpainted"])
        self.assertEqual(outputs["inpainted"].dtype, dtype)
        self.assertEqual(outputs["inpainted"].shape.as_list(), [None, None, None, None, 3])

    @parameterized.parameters(*SHAPES)
    def test_equals_keras_model_exactly(self, *shape):
        frames, masks = savedmodel.random_request(shape, seed=sum(shape))
        expected = savedmodel.reference_outputs(self.model, frames, masks)
        got_u8 = self.call("serving_default", frames, masks)
        got_float = self.call("serving_float", *_float(frames, masks))
        self.assertEqual(got_u8.dtype, np.uint8)
        self.assertAllEqual(got_u8, expected["serving_default"])
        self.assertEqual(got_float.dtype, np.float32)
        self.assertAllEqual(got_float, expected["serving_float"])
        # And the float output really is the model's: not a copy of the input in the hole.
        hole = np.broadcast_to(masks != 0, got_float.shape)
        self.assertGreater(np.abs(got_float[hole] - frames[hole] / 255.0).max(), 0.05)

    def test_multiple_of_four_is_the_plain_model(self):
        frames, masks = savedmodel.random_request((1, 4, 32, 32), seed=5)
        x, m = _float(frames, masks)
        direct = self.model.predict({"frames": x, "masks": m}, verbose=0)
        self.assertAllEqual(self.call("serving_float", x, m), direct)

    def test_known_pixels_are_the_input_bits(self):
        frames, masks = savedmodel.random_request((1, 3, 22, 30), seed=3)
        out = self.call("serving_default", frames, masks)
        known = np.broadcast_to(masks == 0, frames.shape)
        self.assertAllEqual(out[known], frames[known])
        self.assertFalse(np.array_equal(out[~known], frames[~known]))

    def test_mask_rules(self):
        frames, masks = savedmodel.random_request((1, 2, 16, 20), seed=4)
        hole = masks != 0
        reference = self.call("serving_default", frames, hole.astype(np.uint8))
        for value in (255, 7):  # uint8: any nonzero value is a hole
            self.assertAllEqual(self.call("serving_default", frames, hole.astype(np.uint8) * value),
                                reference)
        x, _ = _float(frames, masks)
        binary = self.call("serving_float", x, hole.astype(np.float32))
        soft = np.where(hole, 0.7, 0.3).astype(np.float32)  # float: hole = > 0.5
        self.assertAllEqual(self.call("serving_float", x, soft), binary)

    @parameterized.named_parameters(
        ("rank4_frames", lambda f, m: (f[0], m[0]), r"frames must be uint8 \[B, T, H, W, 3\]"),
        ("rank6_frames", lambda f, m: (f[..., None, :], m),
         r"frames must be uint8 \[B, T, H, W, 3\]"),
        ("two_channels", lambda f, m: (f[..., :2], m), r"frames must be uint8 \[B, T, H, W, 3\]"),
        ("rank4_masks", lambda f, m: (f, m[0]), r"masks must be uint8 \[B, T, H, W, 1\]"),
        ("mask_channels", lambda f, m: (f, np.concatenate([m, m], -1)),
         r"masks must be uint8 \[B, T, H, W, 1\]"),
        ("different_t", lambda f, m: (f, m[:, :2]),
         r"frames and masks must have the same \[B, T, H, W\]\] \[frames shape\] \[1 3 20 24 3\] "
         r"\[masks shape\] \[1 2 20 24 1\]"),
        ("empty_t", lambda f, m: (f[:, :0], m[:, :0]), r"B, T, H and W must all be >= 1"),
        ("float_frames", lambda f, m: (f.astype(np.float32), m),
         r"expected to be a uint8 tensor but is a float tensor"),
    )
    def test_bad_uint8_requests(self, make, message):
        frames, masks = savedmodel.random_request((1, 3, 20, 24), seed=6)
        with self.assertRaisesRegex(tf.errors.InvalidArgumentError, message):
            self.call("serving_default", *make(frames, masks))

    @parameterized.named_parameters(
        ("frames_0_255", lambda f, m: (f * 255, m),
         r"float frames must be in \[0, 1\].*\[frames min, max\] \[0\] \[255\]"),
        ("frames_nan", lambda f, m: (np.where(f > 0.5, np.nan, f).astype(np.float32), m),
         r"float frames must be in \[0, 1\] \(no NaN"),
        ("masks_0_255", lambda f, m: (f, m * 255), r"float masks must be in \[0, 1\]"),
        ("uint8_frames", lambda f, m: ((f * 255).astype(np.uint8), m),
         r"expected to be a float tensor but is a uint8 tensor"),
    )
    def test_bad_float_requests(self, make, message):
        frames, masks = _float(*savedmodel.random_request((1, 3, 20, 24), seed=7))
        with self.assertRaisesRegex(tf.errors.InvalidArgumentError, message):
            self.call("serving_float", *make(frames, masks))

    def test_video_inpainter_runs_the_export_like_the_keras_model(self):
        rng = np.random.default_rng(8)
        video = rng.integers(0, 256, (6, 22, 30, 3), dtype=np.uint8)
        holes = np.zeros((6, 22, 30), np.uint8)
        holes[:, 4:15, 6:20] = 1
        loaded = inference.load_model(self.path)
        self.assertFalse(isinstance(loaded, keras.Model))  # the SavedModel's `serve` endpoint
        args = dict(window=4, overlap=2)
        via_export = inference.VideoInpainter(loaded, **args).inpaint_array(video, holes)
        via_keras = inference.VideoInpainter(self.model, **args).inpaint_array(video, holes)
        self.assertAllEqual(via_export, via_keras)

    def test_metadata(self):
        with open(os.path.join(self.path, savedmodel.METADATA_PATH)) as f:
            meta = json.load(f)
        self.assertEqual(meta["exported_policy"], "float32")
        self.assertFalse(meta["float32_copy"])
        self.assertEqual(meta["parameters"], self.model.count_params())
        self.assertEqual(meta["verification_max_abs_diff"],
                         {"serving_default 1x3x20x28": 0.0, "serving_float 1x3x20x28": 0.0})
        self.assertEqual(meta["signatures"]["serving_default"]["inputs"]["frames"],
                         "uint8 [B, T, H, W, 3]")

    def test_saved_model_cli_show(self):
        cli = os.path.join(os.path.dirname(sys.executable), "saved_model_cli")
        if not os.path.exists(cli):
            self.skipTest(f"saved_model_cli not found next to {sys.executable}")
        out = subprocess.run([cli, "show", "--dir", self.path, "--tag_set", "serve",
                              "--signature_def", "serving_default"], capture_output=True,
                             text=True, timeout=120, check=True).stdout
        self.assertIn("inputs['frames'] tensor_info:\n      dtype: DT_UINT8\n"
                      "      shape: (-1, -1, -1, -1, 3)", out)
        self.assertIn("inputs['masks'] tensor_info:\n      dtype: DT_UINT8\n"
                      "      shape: (-1, -1, -1, -1, 1)", out)
        self.assertIn("outputs['inpainted'] tensor_info:\n      dtype: DT_UINT8\n"
                      "      shape: (-1, -1, -1, -1, 3)", out)
        self.assertIn("Method name is: tensorflow/serving/predict", out)


def _graph_dtypes(saved_model_path):
    """Every DataType named in any attr of any node of the SavedModel's graph and functions."""
    proto = saved_model_pb2.SavedModel()
    with open(os.path.join(saved_model_path, "saved_model.pb"), "rb") as f:
        proto.ParseFromString(f.read())
    graph = proto.meta_graphs[0].graph_def
    found = set()
    for node in graph_nodes(graph):
        for value in node.attr.values():
            if value.HasField("type"):
                found.add(value.type)
            found.update(value.list.type)
    return {tf.dtypes.as_dtype(t).name for t in found}


class MixedPrecisionExportTest(common.ExportTestCase):
    """A generator built and trained (one step) under mixed_bfloat16 exports as float32."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.bf16_model, cls.base, cls.path, cls.stdout = common.exported("bfloat16")
        cls.copy = savedmodel.float32_copy(cls.bf16_model)
        cls.loaded = tf.saved_model.load(cls.path)

    def test_source_was_bfloat16(self):
        self.assertIn("mixed_bfloat16", savedmodel.model_policies(self.bf16_model))
        self.assertIn("exported a float32 copy", self.stdout)
        self.assertEqual(savedmodel.model_policies(self.copy), ["float32"])
        self.assertIsNot(self.copy, self.bf16_model)
        for a, b in zip(self.copy.weights, self.bf16_model.weights):
            self.assertAllEqual(a, b)

    def test_graph_has_no_bfloat16(self):
        dtypes = _graph_dtypes(self.path)
        self.assertIn("float32", dtypes)
        self.assertNotIn("bfloat16", dtypes)

    @parameterized.parameters(*SHAPES)
    def test_equals_the_float32_copy_exactly(self, *shape):
        frames, masks = savedmodel.random_request(shape, seed=10 + sum(shape))
        expected = savedmodel.reference_outputs(self.copy, frames, masks)
        for name, dtype in savedmodel.SIGNATURES.items():
            x, m = (frames, masks) if dtype == "uint8" else _float(frames, masks)
            got = self.loaded.signatures[name](frames=x, masks=m)["inpainted"].numpy()
            self.assertAllEqual(got, expected[name])

    def test_bfloat16_model_computes_something_else(self):
        # That is why the float32 copy is exported: bfloat16 rounds (and does not run in
        # onnxruntime); the copy keeps the trained weights but computes in float32.
        frames, masks = savedmodel.random_request((1, 4, 32, 32), seed=11)
        x, m = _float(frames, masks)
        bf16 = self.bf16_model.predict({"frames": x, "masks": m}, verbose=0)
        exported = self.loaded.signatures["serving_float"](frames=x, masks=m)["inpainted"]
        self.assertBetween(float(np.abs(bf16 - exported.numpy()).max()), 1e-4, 0.5)


class PaddingTest(common.ExportTestCase):

    @parameterized.parameters((1, 1), (2, 3), (3, 5), (4, 4), (5, 6), (6, 7), (7, 9), (9, 2),
                              (13, 4))
    def test_in_graph_padding_matches_inference(self, h, w):
        x = np.random.default_rng(h * 16 + w).random((2, 3, h, w, 3), dtype=np.float32)
        expected = np.stack([np.stack([inference.pad_to_multiple(f) for f in clip])
                             for clip in x])
        got = tf.function(savedmodel.pad_to_multiple, input_signature=[
            tf.TensorSpec([None] * 4 + [3], tf.float32)])(x).numpy()
        self.assertEqual(got.shape[2] % 4 + got.shape[3] % 4, 0)
        self.assertAllEqual(got, expected)


class ExportFilesTest(common.ExportTestCase):

    def setUp(self):
        super().setUp()
        self.root = new_tempdir(self)
        self.target = os.path.join(self.root, "base", "3")

    def _write(self, text, overwrite=False):
        with files.atomic_directory(self.target, overwrite=overwrite) as tmp:
            self.assertTrue(os.path.basename(tmp).startswith(".3.tmp-"))
            with open(os.path.join(tmp, "x.txt"), "w") as f:
                f.write(text)

    def _read(self):
        with open(os.path.join(self.target, "x.txt")) as f:
            return f.read()

    def test_refuses_then_overwrites(self):
        self._write("old")
        with self.assertRaisesRegex(FileExistsError, "already exists .*--overwrite"):
            self._write("new")
        self.assertEqual(self._read(), "old")
        self._write("new", overwrite=True)
        self.assertEqual(self._read(), "new")
        self.assertEqual(os.listdir(os.path.dirname(self.target)), ["3"])

    def test_failure_leaves_old_output_and_no_temporary(self):
        self._write("old")
        with self.assertRaises(ZeroDivisionError):
            with files.atomic_directory(self.target, overwrite=True):
                1 / 0
        self.assertEqual(self._read(), "old")
        self.assertEqual(os.listdir(os.path.dirname(self.target)), ["3"])

    def test_failure_leaves_nothing(self):
        with self.assertRaises(ZeroDivisionError):
            with files.atomic_directory(self.target):
                1 / 0
        self.assertEqual(os.listdir(os.path.dirname(self.target)), [])

    @parameterized.parameters(0, -1, "abc", "1.5", 2.5, True)
    def test_bad_versions(self, version):
        with self.assertRaisesRegex(ValueError, "version must be a positive integer"):
            savedmodel.version_dir(self.root, version)

    def test_good_versions(self):
        self.assertEqual(savedmodel.version_dir("b", 7), os.path.join("b", "7"))
        self.assertEqual(savedmodel.version_dir("b", "0012"), os.path.join("b", "12"))


class ExportCliTest(common.ExportTestCase):

    def _run(self, *args):
        from export import export_savedmodel

        return common.run_cli(export_savedmodel, *args)

    def test_refuses_existing_version(self):
        _, base, path, _ = common.exported("float32")
        keras_file = os.path.join(os.path.dirname(os.path.dirname(base)), "generator.keras")
        before = os.stat(os.path.join(path, "saved_model.pb")).st_mtime_ns
        code, _, err = self._run(f"--model={keras_file}", f"--output_dir={base}", "--version=1")
        self.assertEqual(code, 1)
        self.assertIn(f"{path}: already exists (pass --overwrite", err)
        self.assertEqual(os.stat(os.path.join(path, "saved_model.pb")).st_mtime_ns, before)

    def test_bad_arguments(self):
        _, base, path, _ = common.exported("float32")
        out = new_tempdir(self)
        cases = [
            ((f"--model={path}", f"--output_dir={out}", "--version=1"), "is already a SavedModel"),
            ((f"--model={out}/nope.keras", f"--output_dir={out}", "--version=1"),
             "no such file or directory"),
            ((f"--model={path}", f"--output_dir={out}", "--version=0"),
             "version must be a positive integer"),
            ((f"--model={path}", f"--output_dir={out}", "--version=1",
              "--verify_shapes=1x2x3"), "shape must be 4 positive sizes"),
        ]
        for args, message in cases:
            code, _, err = self._run(*args)
            self.assertEqual(code, 1, args)
            self.assertIn(message, err)
        self.assertEqual(os.listdir(out), [])

    def test_repo_script_runs(self):
        # The file under export/ runs as a script and reports missing flags in one line.
        out = subprocess.run([sys.executable, os.path.join(REPO, "export", "export_savedmodel.py"),
                              "--version=1"], capture_output=True, text=True, timeout=120)
        self.assertEqual(out.returncode, 1)
        self.assertIn("missing required flag(s): --model, --output_dir", out.stderr)
