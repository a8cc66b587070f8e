"""Shared test helpers: dtype policies, numpy references, layer and model round trips."""

import os

import keras
import numpy as np
import tensorflow as tf
from absl.testing import parameterized

POLICIES = ("float32", "mixed_float16", "mixed_bfloat16")
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GOLDEN_DIR = os.environ.get("LGTSM_GOLDEN_DIR", os.path.join(REPO, "..", "shared", "golden"))
GOLDEN_MISSING = (f"golden vectors not found at {GOLDEN_DIR} (they ship beside the repository in "
                  f"CI as ../shared/golden; set LGTSM_GOLDEN_DIR to point elsewhere)")


def golden_available():
    return os.path.isdir(os.path.join(GOLDEN_DIR, "lgtsm-nf16"))


def golden_path(variant, name):
    return os.path.join(GOLDEN_DIR, f"{variant}-nf16", name)


def random_video(seed, batch=1, frames=4, height=32, width=32, hole_fraction=0.3):
    """{"frames": [B,T,H,W,3] in [0,1], "masks": [B,T,H,W,1] in {0,1}, 1 = hole}, float32."""
    rng = np.random.default_rng(seed)
    return {
        "frames": rng.random((batch, frames, height, width, 3), dtype=np.float32),
        "masks": (rng.random((batch, frames, height, width, 1)) < hole_fraction).astype(np.float32),
    }


def fill_model():
    """A cheap serialisable stand-in generator: hole = a 1x1x1 Conv3D of the frames."""
    import lgtsm_tf

    keras.utils.set_random_seed(0)
    frames = keras.Input((None, None, None, 3), name="frames")
    masks = keras.Input((None, None, None, 1), name="masks")
    raw = keras.layers.Conv3D(3, 1, bias_initializer="random_uniform")(frames)
    out = lgtsm_tf.layers.Composite()([raw, frames, masks])
    return keras.Model({"frames": frames, "masks": masks}, out)



def run_cli(module, prog, *args):
    """Runs the flags-only CLI `module` (its define_flags/main) in-process as `prog args`:
    (exit code, stdout, stderr)."""
    import contextlib
    import io

    from absl import flags

    fv = flags.FlagValues()
    module.define_flags(fv)
    fv([prog, *args])
    stderr, stdout = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(stdout):
        code = module.main([prog], flag_values=fv)
    return code, stdout.getvalue(), stderr.getvalue()


def run_inpaint_cli(*args):
    """`run_cli` for lgtsm-inpaint."""
    from lgtsm_tf import inpaint

    return run_cli(inpaint, "lgtsm-inpaint", *args)


def graph_nodes(graph_def):
    """Every NodeDef of a GraphDef, those inside its function library included."""
    return list(graph_def.node) + [n for f in graph_def.library.function for n in f.node_def]


def shift_reference(x, taps):
    """numpy: y[t] = sum_j taps[j, c] * x[t + j - W//2, c] (zeros outside), x [B,T,H,W,C]."""
    width = taps.shape[0]
    radius = width // 2
    t = x.shape[1]
    padded = np.pad(x, [(0, 0), (radius, radius), (0, 0), (0, 0), (0, 0)])
    return sum(padded[:, j:j + t] * taps[j] for j in range(width))


class TestCase(tf.test.TestCase, parameterized.TestCase):
    """tf.test.TestCase with parameterized cases; restores the float32 policy after each test."""

    test_session = None  # tf.test.TestCase's deprecated helper, not a test

    def tearDown(self):
        keras.config.set_dtype_policy("float32")
        super().tearDown()

    def assert_layer_round_trips(self, layer, inputs):
        """get_config -> from_config and serialize -> deserialize give identical outputs."""
        expected = keras.ops.convert_to_numpy(layer(inputs))
        clones = [
            layer.__class__.from_config(layer.get_config()),
            keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer)),
        ]
        for clone in clones:
            clone(inputs)
            clone.set_weights(layer.get_weights())
            self.assertAllEqual(keras.ops.convert_to_numpy(clone(inputs)), expected)

    def run_layer_test(self, make_layer, inputs, expected_shape=None, policies=POLICIES,
                       dynamic_inputs=None, output_dtype=None):
        """keras-hub's `run_layer_test` for our layers, under every policy in `policies`.

        `make_layer()` builds a fresh layer (called after the policy is set); `inputs` is a
        float32 array or list of arrays. Checks: output shape (`expected_shape`, if given),
        output dtype = the policy's compute dtype (or `output_dtype` for a layer that pins it),
        finite
        values, config and serialisation round trips (identical outputs), and, when
        `dynamic_inputs` (inputs of other B/T/H/W) is given, one trace with None dims serving
        both. Returns {policy: (layer, output as float32 numpy)} for further checks.
        """
        results = {}
        for policy in policies:
            keras.config.set_dtype_policy(policy)
            layer = make_layer()
            out = layer(inputs)
            if expected_shape is not None:
                self.assertEqual(tuple(out.shape), tuple(expected_shape), policy)
            self.assertEqual(out.dtype, output_dtype or keras.config.dtype_policy().compute_dtype,
                             policy)
            values = keras.ops.convert_to_numpy(out).astype(np.float32)
            self.assertTrue(np.all(np.isfinite(values)), policy)
            self.assert_layer_round_trips(layer, inputs)
            if dynamic_inputs is not None:
                spec = [tf.TensorSpec([None] * (np.ndim(x) - 1) + [np.shape(x)[-1]], tf.float32)
                        for x in (inputs if isinstance(inputs, list) else [inputs])]
                signature = spec if isinstance(inputs, list) else spec[0]
                self.assert_serves_dynamic_shapes(layer, signature, inputs, dynamic_inputs)
            results[policy] = (layer, values)
        keras.config.set_dtype_policy("float32")
        return results

    def run_model_test(self, make_model, inputs, expected_shape, policies=POLICIES,
                       dynamic_inputs=None):
        """keras-hub's `run_model_test` for a network with the {"frames", "masks"} contract,
        under every policy: output shape and float32 dtype, finite values, `.keras` save and
        reload (same class, config, weight paths and outputs), `from_config` + weights, and one trace with
        None dims serving `inputs` and `dynamic_inputs` when given. Returns {policy: (model,
        output)}."""
        import os

        results = {}
        for policy in policies:
            keras.config.set_dtype_policy(policy)
            model = make_model()
            out = keras.ops.convert_to_numpy(model(inputs))
            self.assertEqual(out.shape, tuple(expected_shape), policy)
            self.assertEqual(out.dtype, np.float32, policy)
            self.assertTrue(np.all(np.isfinite(out)), policy)
            path = os.path.join(self.get_temp_dir(), f"{model.name}-{policy}.keras")
            model.save(path)
            keras.config.set_dtype_policy("float32")
            reloaded = keras.saving.load_model(path)
            self.assertIsInstance(reloaded, type(model))
            self.assertEqual(reloaded.get_config(), model.get_config())
            self.assertEqual([w.path for w in reloaded.weights], [w.path for w in model.weights])
            self.assertAllEqual(reloaded(inputs), out)
            clone = type(model).from_config(model.get_config())
            clone.set_weights(model.get_weights())
            self.assertAllEqual(clone(inputs), out)
            if dynamic_inputs is not None:
                spec = {k: tf.TensorSpec([None] * 4 + [v.shape[-1]], tf.float32)
                        for k, v in inputs.items()}
                self.assert_serves_dynamic_shapes(lambda x: model(x, training=False), spec,
                                                  inputs, dynamic_inputs)
            results[policy] = (model, out)
        keras.config.set_dtype_policy("float32")
        return results

    def assert_serves_dynamic_shapes(self, fn, signature, inputs_a, inputs_b):
        """`fn` traced once with `signature` (None dims) runs on two differently shaped inputs."""
        traces = []

        @tf.function(input_signature=[signature])
        def traced(x):
            traces.append(1)
            return fn(x)

        out_a, out_b = traced(inputs_a), traced(inputs_b)
        self.assertLen(traces, 1)
        return out_a, out_b
