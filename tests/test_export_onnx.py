"""Tests for the ONNX export (lgtsm_tf.export.onnx_export, export/export_onnx.py).

The nf=8 SavedModel is converted once, by the real CLI (tests/test_export_common.py); failure
paths reuse that conversion through a patched converter, so no test converts twice.
"""

import json
import os
from unittest import mock

import numpy as np
import onnx
import pytest
import tensorflow as tf
from absl.testing import parameterized
from onnx import TensorProto, helper, numpy_helper

from lgtsm_tf.export import onnx_export
from tests import test_export_common as common


def _cli(*args):
    from export import export_onnx

    return common.run_cli(export_onnx, *args)


def _toy_model(target_shape, dynamic=False):
    """frames -> Reshape(frames, target) -> ... -> inpainted, for the baked-reshape check.

    With `dynamic`, the target is Concat(Shape(frames)[:2], target_shape) (a runtime shape
    with constant pieces).
    """
    dims = ["batch", "time", "height", "width"]
    inputs = [helper.make_tensor_value_info("frames", TensorProto.FLOAT, dims + [3]),
              helper.make_tensor_value_info("masks", TensorProto.FLOAT, dims + [1])]
    output = helper.make_tensor_value_info("inpainted", TensorProto.FLOAT, None)
    const = numpy_helper.from_array(np.asarray(target_shape, np.int64), "target")
    nodes = []
    initializers = [const, numpy_helper.from_array(np.asarray([0], np.int64), "start"),
                    numpy_helper.from_array(np.asarray([2], np.int64), "end"),
                    numpy_helper.from_array(np.asarray([-1], np.int64), "flat")]
    target = "target"
    if dynamic:
        nodes += [helper.make_node("Shape", ["frames"], ["shape"]),
                  helper.make_node("Slice", ["shape", "start", "end"], ["bt"]),
                  helper.make_node("Concat", ["bt", "target"], ["full"], axis=0)]
        target = "full"
    nodes += [helper.make_node("Reshape", ["frames", target], ["reshaped"], name="suspect"),
              helper.make_node("Reshape", ["reshaped", "flat"], ["inpainted"])]
    graph = helper.make_graph(nodes, "toy", inputs, [output], initializers)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


class OnnxExportTest(common.ExportTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.path, cls.stdout = common.onnx_export()
        cls.saved = common.exported("float32")[2]
        cls.model = onnx.load(cls.path)
        cls.loaded = tf.saved_model.load(cls.saved)

    def test_cli_checked_parity_itself(self):
        for shape in ("1x4x32x32", "2x3x22x30"):
            line = next(l for l in self.stdout.splitlines() if l.startswith(f"parity {shape}:"))
            self.assertLessEqual(float(line.rsplit(" ", 1)[1]), 1e-4)
        self.assertIn("onnx.checker: ok; standard ONNX ops only", self.stdout)
        self.assertIn("none with baked-in sizes", self.stdout)
        self.assertEqual(os.listdir(os.path.dirname(self.path)), ["lgtsm.onnx"])

    @pytest.mark.slow
    def test_the_default_export_with_propagation_converts_with_parity(self):
        # `lgtsm-export-savedmodel` / `lgtsm-export-onnx --model` put temporal propagation
        # (following the camera, a graph loop) in front of the network by default; the shared
        # export above is the bare network. ~2 minutes.
        from export import export_onnx, export_savedmodel

        model = common.generator("float32")
        root = os.path.join(common.tmp_root(), "propagating")
        os.makedirs(root)
        keras_file = os.path.join(root, "generator.keras")
        model.save(keras_file)
        code, out, err = common.run_cli(export_savedmodel, f"--model={keras_file}",
                                        f"--output_dir={root}/models", "--version=1",
                                        "--verify_shapes=1x3x20x28")
        self.assertEqual(code, 0, err)
        with open(f"{root}/models/1/assets.extra/lgtsm_export.json") as f:
            self.assertEqual(json.load(f)["propagation"]["motion"], "translation")
        code, out, err = common.run_cli(export_onnx, f"--saved_model={root}/models/1",
                                        f"--output={root}/lgtsm.onnx")
        self.assertEqual(code, 0, err)
        self.assertIn("none with baked-in sizes", out)
        for line in (l for l in out.splitlines() if l.startswith("parity ")):
            self.assertLessEqual(float(line.rsplit(" ", 1)[1]), 1e-4, line)
        diffs = onnx_export.parity(f"{root}/lgtsm.onnx", f"{root}/models/1", [(1, 6, 24, 32)])
        self.assertLessEqual(max(diffs.values()), 1e-4)

    @parameterized.parameters((1, 5, 36, 44), (2, 2, 18, 26))  # the second: not multiples of 4
    def test_parity_with_tensorflow(self, *shape):
        diffs = onnx_export.parity(self.path, self.saved, [shape], loaded=self.loaded)
        self.assertLessEqual(max(diffs.values()), 1e-4)

    def test_inputs_outputs_and_dynamic_axes(self):
        def describe(values):
            return [(v.name, v.type.tensor_type.elem_type,
                     [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim])
                    for v in values]
        axes = ["batch", "time", "height", "width"]
        self.assertEqual(describe(self.model.graph.input),
                         [("frames", TensorProto.FLOAT, axes + [3]),
                          ("masks", TensorProto.FLOAT, axes + [1])])
        self.assertEqual(describe(self.model.graph.output),
                         [("inpainted", TensorProto.FLOAT, axes + [3])])

    def test_checker_and_standard_ops(self):
        onnx_export.check_structure(self.model)  # raises on failure
        self.assertEqual({n.domain for n in self.model.graph.node}, {""})
        ops = {n.op_type for n in self.model.graph.node}
        self.assertIn("Conv", ops)
        self.assertIn("Reshape", ops)

    def test_no_reshape_has_a_baked_in_size(self):
        reshapes = [n for n in self.model.graph.node if n.op_type == "Reshape"]
        self.assertGreater(len(reshapes), 50)  # time folding and the temporal shift
        self.assertEqual(onnx_export.find_baked_reshapes(self.model), [])

    @parameterized.named_parameters(
        ("constant_height", [-1, 20, 28, 3], False, "fails on input shape|fixed size"),
        ("constant_area", [-1, 4, 3], False, r"fixed size 4 at axis 1"),
        ("runtime_with_constant_width", [-1, 4, 3], True, r"fixed size 4 at axis 3"),
    )
    def test_baked_in_sizes_are_found(self, target, dynamic, message):
        problems = onnx_export.find_baked_reshapes(_toy_model(target, dynamic))
        self.assertLen(problems, 1)
        self.assertRegex(problems[0], message)

    @parameterized.named_parameters(
        ("channels_and_copies", [0, 0, -1, 3], False),
        ("unit_axis", [1, -1, 0, 0, 3], False),
        ("runtime", [-1, 3], True),
    )
    def test_shape_agnostic_reshapes_pass(self, target, dynamic):
        self.assertEqual(onnx_export.find_baked_reshapes(_toy_model(target, dynamic)), [])

    def _failing_export(self, corrupt):
        """Runs the CLI with the converter returning a corrupted copy of the good model."""
        out = os.path.join(common.tmp_root(), "onnx_failures", "bad.onnx")
        bad = onnx.ModelProto()
        bad.CopyFrom(self.model)
        corrupt(bad)
        with mock.patch.object(onnx_export, "convert_saved_model", return_value=bad):
            code, stdout, stderr = _cli(f"--saved_model={self.saved}", f"--output={out}")
        self.assertFalse(os.path.exists(out))
        self.assertEqual(os.listdir(os.path.dirname(out)), [])
        return code, stdout, stderr

    def test_parity_failure_exits_nonzero(self):
        def perturb(model):  # one weight of the last convolution, as a bad conversion would
            init = next(i for i in reversed(model.graph.initializer)
                        if len(i.dims) == 4 and i.dims[0] == 3)
            values = numpy_helper.to_array(init).copy()
            values.flat[0] += 0.5
            init.CopyFrom(numpy_helper.from_array(values, init.name))
        code, stdout, stderr = self._failing_export(perturb)
        self.assertEqual(code, 1)
        self.assertRegex(stderr, r"onnxruntime differs from TensorFlow by \S+ > tolerance 0.0001")

    def test_unconverted_op_exits_nonzero(self):
        def add_tf_op(model):
            first = model.graph.node[0]
            model.graph.node.insert(0, helper.make_node(
                "PartitionedCall", [first.input[0]], ["leftover"], domain="ai.onnx.contrib"))
            model.opset_import.append(helper.make_opsetid("ai.onnx.contrib", 1))
        code, _, stderr = self._failing_export(add_tf_op)
        self.assertEqual(code, 1)
        self.assertIn("non-standard ops (unconverted TensorFlow or contrib ops, which TensorRT "
                      "cannot run): ai.onnx.contrib:PartitionedCall", stderr)

    def test_baked_reshape_exits_nonzero(self):
        def bake(model):  # a time-folding reshape with the height baked in
            node = next(n for n in model.graph.node if n.op_type == "Reshape"
                        and n.input[1] in {i.name for i in model.graph.initializer}
                        and list(numpy_helper.to_array(next(
                            i for i in model.graph.initializer if i.name == n.input[1])))[:2]
                        == [1, -1])
            init = next(i for i in model.graph.initializer if i.name == node.input[1])
            values = numpy_helper.to_array(init).copy()
            values[2] = 32  # was 0 (copy the height)
            init.CopyFrom(numpy_helper.from_array(values, init.name))
        code, _, stderr = self._failing_export(bake)
        self.assertEqual(code, 1)
        self.assertIn("Reshape nodes with baked-in sizes", stderr)

    def test_refuses_to_overwrite(self):
        before = os.stat(self.path).st_mtime_ns
        code, _, stderr = _cli(f"--saved_model={self.saved}", f"--output={self.path}")
        self.assertEqual(code, 1)
        self.assertIn("already exists (pass --overwrite", stderr)
        self.assertEqual(os.stat(self.path).st_mtime_ns, before)

    def test_bad_arguments(self):
        out = os.path.join(common.tmp_root(), "onnx_args")
        for args, message in [
                ((f"--saved_model={out}", f"--output={out}/m.onnx"), "no saved_model.pb"),
                ((f"--saved_model={self.saved}", f"--output={out}/m.txt"), "must end in .onnx"),
                ((f"--saved_model={self.saved}", f"--output={out}/m.onnx",
                  "--check_shapes=1x2x8x8"), "at least two shapes")]:
            code, _, stderr = _cli(*args)
            self.assertEqual(code, 1, args)
            self.assertIn(message, stderr)
        self.assertFalse(os.path.exists(out))


@pytest.mark.slow
class OnnxExportSlowTest(common.ExportTestCase):
    """Further conversions (~15-30 s each): opset 18, the mixed_bfloat16-trained model, and
    the other generator variants (exported and converted from scratch)."""

    @parameterized.parameters(("float32", 18), ("bfloat16", 17))
    def test_export(self, kind, opset):
        saved = common.exported(kind)[2]
        out = os.path.join(common.tmp_root(), f"slow_{kind}_{opset}.onnx")
        result = onnx_export.export_onnx(saved, out, opset=opset, log=None)
        self.assertLessEqual(max(result["parity"].values()), 1e-4)
        self.assertEqual({o.version for o in onnx.load(out).opset_import if o.domain == ""},
                         {opset})

    @parameterized.parameters("gtsm", "2d", "3d")
    def test_other_variants(self, variant):
        import keras

        import lgtsm_tf
        from lgtsm_tf.export import savedmodel

        keras.utils.set_random_seed(0)
        model = lgtsm_tf.build_generator(variant, nf=8)
        base = os.path.join(common.tmp_root(), f"variant_{variant}")
        exported = savedmodel.export_saved_model(model, base, 1, verify_tolerance=0)
        self.assertEqual(set(exported["verification"].values()), {0.0})
        result = onnx_export.export_onnx(exported["path"], base + ".onnx", log=None)
        self.assertLessEqual(max(result["parity"].values()), 1e-4)
