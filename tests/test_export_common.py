"""Shared, cached artifacts of the export/serving tests (this module holds no tests).

Exporting and converting take ~10-30 s each on the 2-core machines, so every artifact is made
once per pytest process and shared by tests/test_export_*.py and tests/test_serving.py:

* `generator(kind)`: nf=8 LGTSM generators with scaled random weights (`_scale_weights`, so
  outputs vary over the hole). "float32": built under float32. "bfloat16": built under
  mixed_bfloat16 and trained for one Adam step under that policy (so its weights are trained
  bf16-policy weights, as a real mixed-precision run leaves them).
* `exported(kind)`: the generator saved as .keras and exported by the real CLI
  (`export/export_savedmodel.py`, in-process) to BASE/1.
* `onnx_export()`: the float32 export converted by the real ONNX CLI (`export/export_onnx.py`).
"""

import atexit
import contextlib
import io
import os
import shutil
import tempfile

import keras
import numpy as np
import tensorflow as tf
from absl import flags

import lgtsm_tf
from tests.testing import TestCase

_CACHE = {}
_ROOT = []


def tmp_root() -> str:
    if not _ROOT:
        _ROOT.append(tempfile.mkdtemp(prefix="lgtsm_export_tests_"))
        atexit.register(shutil.rmtree, _ROOT[0], ignore_errors=True)
    return _ROOT[0]


def run_cli(module, *args):
    """Runs an absl CLI module's main in-process with fresh flags: (exit code, stdout, stderr)."""
    fv = flags.FlagValues()
    module.define_flags(fv)
    fv([module.PROG, *args])
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = module.main([module.PROG], flag_values=fv)
    return code, out.getvalue(), err.getvalue()


def _train_step(model, seed=0):
    rng = np.random.default_rng(seed)
    batch = {"frames": rng.random((1, 3, 16, 16, 3), dtype=np.float32),
             "masks": (rng.random((1, 3, 16, 16, 1)) < 0.4).astype(np.float32)}
    target = rng.random((1, 3, 16, 16, 3), dtype=np.float32)
    optimizer = keras.optimizers.Adam(1e-2)
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(tf.abs(model(batch, training=True) - target))
    grads = tape.gradient(loss, model.trainable_variables)
    optimizer.apply_gradients(zip(grads, model.trainable_variables))


def _scale_weights(model, gain=2.5, seed=0):
    """He-like conv kernels N(0, gain^2 / fan_in), zero biases (0.5 in the last layer).

    At the default initialisation an untrained generator fills every hole with one flat dark
    colour (the signal fades through 17 gated layers), which would make parity checks
    vacuous; these weights give outputs that vary over the hole, like a trained model's.
    """
    rng = np.random.default_rng(seed)
    for variable in model.weights:
        shape = tuple(variable.shape)
        if len(shape) == 4:
            fan_in = shape[0] * shape[1] * shape[2]
            variable.assign(rng.normal(0, gain / np.sqrt(fan_in), shape).astype("float32"))
        elif len(shape) == 1:
            variable.assign(np.zeros(shape, "float32"))
    for variable in model.get_layer("conv11").weights:
        if len(variable.shape) == 1:
            variable.assign(np.full(variable.shape, 0.5, "float32"))


def generator(kind="float32"):
    key = ("generator", kind)
    if key not in _CACHE:
        keras.utils.set_random_seed(0)
        if kind == "float32":
            model = lgtsm_tf.build_generator("lgtsm", nf=8)
            _scale_weights(model)
        elif kind == "bfloat16":
            keras.config.set_dtype_policy("mixed_bfloat16")
            try:
                model = lgtsm_tf.build_generator("lgtsm", nf=8)
                _scale_weights(model, seed=1)
                _train_step(model)
            finally:
                keras.config.set_dtype_policy("float32")
        else:
            raise ValueError(kind)
        _CACHE[key] = model
    return _CACHE[key]


def exported(kind="float32"):
    """(Keras model as saved, base dir, version dir, CLI stdout) of the CLI export."""
    key = ("exported", kind)
    if key not in _CACHE:
        from export import export_savedmodel

        model = generator(kind)
        root = os.path.join(tmp_root(), kind)
        os.makedirs(root)
        keras_file = os.path.join(root, "generator.keras")
        model.save(keras_file)
        base = os.path.join(root, "models", "lgtsm")
        # The CLI's own verification runs for the float32 export; the tests check both
        # exports exactly themselves, so the bfloat16 one skips it (saves ~4 s).
        verify = "1x3x20x28" if kind == "float32" else ""
        # The network's export alone: the graph with temporal propagation in front (the CLI's
        # default) is converted in tests/test_temporal_propagation.py (SavedModel) and, marked
        # slow, in tests/test_export_onnx.py (ONNX): it costs ~75 s more to export and convert.
        code, out, err = run_cli(export_savedmodel, f"--model={keras_file}",
                                 f"--output_dir={base}", "--version=1", "--nopropagate",
                                 f"--verify_shapes={verify}", "--verify_tolerance=0")
        if code != 0:
            raise AssertionError(f"export failed ({code}): {err}")
        _CACHE[key] = (model, base, os.path.join(base, "1"), out)
    return _CACHE[key]


def onnx_export():
    """(path of the .onnx file, CLI stdout) for the float32 export."""
    key = ("onnx",)
    if key not in _CACHE:
        from export import export_onnx

        _, _, saved, _ = exported("float32")
        path = os.path.join(tmp_root(), "onnx", "lgtsm.onnx")
        code, out, err = run_cli(export_onnx, f"--saved_model={saved}", f"--output={path}")
        if code != 0:
            raise AssertionError(f"ONNX export failed ({code}): {err}")
        _CACHE[key] = (path, out)
    return _CACHE[key]


class ExportTestCase(TestCase):
    """`tests.testing.TestCase` without tf.test's per-test `set_random_seed`.

    Setting the global seed clears the eager context's caches, so every test would
    re-instantiate (and re-optimise) the loaded SavedModel functions: ~0.7 s per test here.
    These tests seed numpy explicitly and draw no TensorFlow random numbers.
    """

    def setUp(self):
        self._set_default_seed = False
        super().setUp()

