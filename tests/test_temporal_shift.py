"""TemporalShift and LearnableTemporalShift against plain references."""

import keras
import numpy as np
import tensorflow as tf
from absl.testing import parameterized

from lgtsm_tf.layers import LearnableTemporalShift, TemporalShift
from tests.testing import POLICIES, TestCase, graph_nodes, shift_reference


def _random_taps(layer, seed):
    rng = np.random.default_rng(seed)
    layer.kernel.assign(rng.normal(size=layer.kernel.shape).astype(np.float32))


def _per_channel_taps(layer, channels):
    """[W, C] taps for every channel (pass-through channels get the identity kernel)."""
    taps = keras.ops.convert_to_numpy(layer.channel_taps())
    identity = np.zeros((layer.shift_width, channels - taps.shape[1]), np.float32)
    identity[layer.shift_width // 2] = 1.0
    return np.concatenate([taps, identity], axis=1)


class TemporalShiftTest(TestCase):

    def test_fixed_shift_moves_the_reference_channel_groups(self):
        # C = 8: channels 0-1 take the next frame, 2-3 the previous one, 4-7 stay.
        x = np.arange(1 * 3 * 1 * 1 * 8, dtype=np.float32).reshape(1, 3, 1, 1, 8) + 1
        y = keras.ops.convert_to_numpy(TemporalShift()(x))
        np.testing.assert_array_equal(y[0, :2, 0, 0, :2], x[0, 1:, 0, 0, :2])
        np.testing.assert_array_equal(y[0, 2, 0, 0, :2], [0, 0])
        np.testing.assert_array_equal(y[0, 1:, 0, 0, 2:4], x[0, :2, 0, 0, 2:4])
        np.testing.assert_array_equal(y[0, 0, 0, 0, 2:4], [0, 0])
        np.testing.assert_array_equal(y[..., 4:], x[..., 4:])

    @parameterized.parameters((5, 4), (8, 3), (12, 1), (3, 5), (64, 7))
    def test_learnable_at_init_equals_fixed(self, channels, frames):
        x = np.random.default_rng(0).normal(size=(2, frames, 3, 4, channels)).astype(np.float32)
        fixed = keras.ops.convert_to_numpy(TemporalShift()(x))
        learnable = keras.ops.convert_to_numpy(LearnableTemporalShift()(x))
        np.testing.assert_array_equal(learnable, fixed)

    @parameterized.product(channels=(5, 8, 13), frames=(1, 2, 6), width=(3, 5),
                           per_channel=(False, True))
    def test_equals_sum_of_shifted_slices(self, channels, frames, width, per_channel):
        layer = LearnableTemporalShift(shift_width=width, per_channel=per_channel)
        x = np.random.default_rng(1).normal(size=(2, frames, 3, 5, channels)).astype(np.float32)
        layer.build(x.shape)
        _random_taps(layer, 2)
        expected = shift_reference(x, _per_channel_taps(layer, channels))
        self.assertAllClose(layer(x), expected, atol=1e-6, rtol=0)

    @parameterized.parameters((8, 1, 3), (13, 2, 5), (12, 6, 3))
    def test_xla_compiled_uses_slices_and_equals_the_graph(self, channels, frames, width):
        layer = LearnableTemporalShift(shift_width=width, per_channel=True)
        x = tf.constant(np.random.default_rng(6).normal(size=(2, frames, 3, 5, channels)),
                        tf.float32)
        layer.build(x.shape)
        _random_taps(layer, 7)
        graph, xla = tf.function(layer), tf.function(layer, jit_compile=True)

        def op_types(fn):
            return {n.op for n in graph_nodes(fn.get_concrete_function(x).graph.as_graph_def())}

        self.assertIn("DepthwiseConv2dNative", op_types(graph))
        self.assertNotIn("DepthwiseConv2dNative", op_types(xla))
        self.assertAllClose(xla(x), graph(x), atol=1e-6, rtol=0)
        expected = shift_reference(x.numpy(), _per_channel_taps(layer, channels))
        self.assertAllClose(xla(x), expected, atol=1e-6, rtol=0)

    @parameterized.parameters((8, False), (12, True), (5, False))
    def test_equals_grouped_conv3d(self, channels, per_channel):
        layer = LearnableTemporalShift(per_channel=per_channel)
        x = np.random.default_rng(3).normal(size=(2, 5, 4, 6, channels)).astype(np.float32)
        layer.build(x.shape)
        _random_taps(layer, 4)
        taps = keras.ops.convert_to_numpy(layer.channel_taps())  # [3, n]
        n = taps.shape[1]
        conv = keras.layers.Conv3D(n, (3, 1, 1), padding="same", groups=n, use_bias=False)
        conv.build((None, None, None, None, n))
        conv.kernel.assign(taps.reshape(3, 1, 1, 1, n))
        expected = np.concatenate([keras.ops.convert_to_numpy(conv(x[..., :n])), x[..., n:]], -1)
        self.assertAllClose(layer(x), expected, atol=1e-5, rtol=0)

    def test_gradient_reaches_the_taps(self):
        layer = LearnableTemporalShift()
        rng = np.random.default_rng(5)
        x = rng.normal(size=(1, 4, 2, 3, 8)).astype(np.float32)
        r = rng.normal(size=x.shape).astype(np.float32)
        layer.build(x.shape)
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(layer(x) * r)
        grad = tape.gradient(loss, layer.kernel).numpy().reshape(3, 2)
        # d loss / d k_g[j] = sum over group g's channels of x[t + j - 1] * r[t].
        padded = np.pad(x, [(0, 0), (1, 1), (0, 0), (0, 0), (0, 0)])
        expected = np.array([[np.sum(padded[:, j:j + 4, ..., 2 * g:2 * g + 2] * r[..., 2 * g:2 * g + 2])
                              for g in range(2)] for j in range(3)])
        self.assertAllClose(grad, expected, atol=1e-5, rtol=1e-5)
        self.assertGreater(np.abs(grad).min(), 0.0)

    def test_frozen_taps_are_weights_but_not_trainable(self):
        layer = LearnableTemporalShift(learnable=False)
        layer.build((None, None, None, None, 16))
        self.assertEmpty(layer.trainable_weights)
        self.assertLen(layer.non_trainable_weights, 1)
        self.assertEqual(layer.count_params(), 6)

    def test_init_is_one_hot_next_then_previous(self):
        layer = LearnableTemporalShift()
        layer.build((None, None, None, None, 8))
        self.assertAllEqual(keras.ops.convert_to_numpy(layer.kernel).reshape(3, 2),
                            [[0, 1], [0, 0], [1, 0]])

    @parameterized.parameters(*POLICIES)
    def test_policies_and_round_trip(self, policy):
        keras.config.set_dtype_policy(policy)
        layer = LearnableTemporalShift(per_channel=True)
        x = np.random.default_rng(6).normal(size=(2, 3, 4, 4, 8)).astype(np.float32)
        y = layer(x)
        self.assertEqual(y.dtype, keras.config.dtype_policy().compute_dtype)
        self.assertEqual(layer.kernel.dtype, "float32")
        self.assert_layer_round_trips(layer, x)
        self.assert_layer_round_trips(TemporalShift(shift_groups=4, shift_ratio=0.75), x)

    def test_dynamic_shapes(self):
        layer = LearnableTemporalShift()
        layer.build((None, None, None, None, 8))
        spec = tf.TensorSpec([None, None, None, None, 8], tf.float32)
        a = np.ones((1, 3, 2, 2, 8), np.float32)
        b = np.ones((2, 6, 5, 3, 8), np.float32)
        out_a, out_b = self.assert_serves_dynamic_shapes(layer, spec, a, b)
        self.assertEqual(out_a.shape, a.shape)
        self.assertEqual(out_b.shape, b.shape)

    @parameterized.parameters(
        ({"shift_width": 4}, "odd"), ({"shift_width": 1}, "odd"),
        ({"shift_ratio": 1.5}, "shift_ratio"), ({"shift_groups": 0}, "shift_groups"))
    def test_bad_arguments(self, kwargs, message):
        with self.assertRaisesRegex(ValueError, message):
            LearnableTemporalShift(**kwargs)


if __name__ == "__main__":
    tf.test.main()
