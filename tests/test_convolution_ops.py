"""lgtsm_tf.ops.convolution (PyTorch-style zero padding, native dilation) and .subpixel."""

import numpy as np
import tensorflow as tf
from absl.testing import parameterized

from lgtsm_tf.layers import GatedConv2D, GatedUpsample
from lgtsm_tf.ops import subpixel, temporal
from lgtsm_tf.ops.convolution import convolve
from tests.testing import TestCase, graph_nodes


def numpy_conv2d(x, kernel, stride, pads, dilation):
    """Direct cross-correlation of [N, H, W, C] with [kh, kw, C, F] after zero padding."""
    x = np.pad(x, [(0, 0), pads[0], pads[1], (0, 0)]).astype(np.float64)
    kh, kw = kernel.shape[:2]
    out_h = (x.shape[1] - dilation * (kh - 1) - 1) // stride + 1
    out_w = (x.shape[2] - dilation * (kw - 1) - 1) // stride + 1
    y = np.zeros((x.shape[0], out_h, out_w, kernel.shape[-1]))
    for i in range(kh):
        for j in range(kw):
            patch = x[:, i * dilation:i * dilation + stride * (out_h - 1) + 1:stride,
                      j * dilation:j * dilation + stride * (out_w - 1) + 1:stride]
            y += patch @ kernel[i, j]
    return y


class ConvolveTest(TestCase):

    @parameterized.parameters(
        (3, 1, ((1, 1), (1, 1)), 1), (4, 2, ((2, 2), (2, 2)), 1), (4, 2, ((1, 1), (1, 1)), 1),
        (5, 1, ((1, 1), (1, 1)), 1), (3, 1, ((4, 4), (4, 4)), 4), (3, 1, ((0, 0), (0, 0)), 2),
        (2, 1, ((1, 0), (0, 1)), 1), (3, 1, ((2, 1), (3, 0)), 2))
    def test_2d_equals_direct_convolution(self, k, stride, pads, dilation):
        rng = np.random.default_rng(k * 10 + dilation)
        x = rng.normal(size=(2, 11, 13, 3)).astype(np.float32)
        kernel = rng.normal(size=(k, k, 3, 4)).astype(np.float32)
        y = convolve(x, kernel, (stride, stride), pads, (dilation, dilation)).numpy()
        self.assertAllClose(y, numpy_conv2d(x, kernel, stride, pads, dilation), atol=1e-4)

    @parameterized.parameters(1, 2, 4)
    def test_3d_equals_keras_ops_conv(self, dilation):
        rng = np.random.default_rng(dilation)
        x = rng.normal(size=(1, 4, 9, 10, 3)).astype(np.float32)
        kernel = rng.normal(size=(3, 3, 3, 3, 5)).astype(np.float32)
        pads = ((1, 1), (dilation, dilation), (dilation, dilation))
        y = convolve(x, kernel, (1, 1, 1), pads, (1, dilation, dilation))
        expected = tf.nn.convolution(tf.pad(x, [(0, 0), *pads, (0, 0)]), kernel, 1, "VALID",
                                     dilations=(1, dilation, dilation))
        self.assertAllClose(y, expected, atol=1e-4)

    @parameterized.product(dtype=("float32", "bfloat16", "float16"), rank=(2, 3))
    def test_dilated_gradients_run_in_every_dtype_on_this_device(self, dtype, rank):
        # TensorFlow's CPU kernels lack float16 dilated backprop; convolve must route around it.
        rng = np.random.default_rng(0)
        x = tf.constant(rng.normal(size=(1,) + (4,) * (rank - 2) + (9, 10, 3)), dtype)
        kernel = tf.constant(rng.normal(size=(3,) * rank + (3, 2)), dtype)
        pads = ((1, 1),) * (rank - 2) + ((2, 2), (2, 2))
        dilations = (1,) * (rank - 2) + (2, 2)

        @tf.function
        def grads(x, kernel):
            with tf.GradientTape() as tape:
                tape.watch([x, kernel])
                y = convolve(x, kernel, (1,) * rank, pads, dilations)
                loss = tf.reduce_sum(tf.cast(y, tf.float32) ** 2)
            return tape.gradient(loss, [x, kernel])

        gx, gk = grads(x, kernel)
        with tf.GradientTape() as tape:
            x32, k32 = tf.cast(x, tf.float32), tf.cast(kernel, tf.float32)
            tape.watch([x32, k32])
            loss = tf.reduce_sum(tf.nn.convolution(tf.pad(x32, [(0, 0), *pads, (0, 0)]), k32, 1,
                                                   "VALID", dilations=dilations) ** 2)
        ex, ek = tape.gradient(loss, [x32, k32])
        tolerance = 1e-4 if dtype == "float32" else 0.1
        self.assertAllClose(tf.cast(gx, tf.float32) / tf.reduce_max(tf.abs(ex)),
                            ex / tf.reduce_max(tf.abs(ex)), atol=tolerance)
        self.assertAllClose(tf.cast(gk, tf.float32) / tf.reduce_max(tf.abs(ek)),
                            ek / tf.reduce_max(tf.abs(ek)), atol=tolerance)

    @parameterized.parameters("float32", "bfloat16")
    def test_padded_convolutions_and_their_gradients_use_valid_padding(self, dtype):
        # Conv2D's EXPLICIT padding keeps oneDNN off the gradient kernels (TensorFlow's generic
        # ones are 2x slower in float32, 20x in bfloat16): convolve pads with tf.pad instead.
        x = tf.zeros((1, 8, 9, 3), dtype)
        kernel = tf.zeros((3, 3, 3, 2), dtype)

        @tf.function
        def grads(x, kernel):
            with tf.GradientTape() as tape:
                tape.watch([x, kernel])
                y = convolve(x, kernel, (1, 1), ((1, 1), (1, 1)), (1, 1))
                y = convolve(y, tf.ones((4, 4, 2, 2), dtype), (2, 2), ((1, 2), (2, 1)), (1, 1))
            return tape.gradient(y, [x, kernel])

        nodes = graph_nodes(grads.get_concrete_function(x, kernel).graph.as_graph_def())
        convs = [(n.op, n.attr["padding"].s) for n in nodes if n.op.startswith("Conv2D")]
        self.assertEqual({op for op, _ in convs},
                         {"Conv2D", "Conv2DBackpropInput", "Conv2DBackpropFilter"})
        self.assertEqual({padding for _, padding in convs}, {b"VALID"})
        self.assertIn("Pad", {n.op for n in nodes})


class SubpixelTest(TestCase):

    @parameterized.product(kernel=(1, 3, 5, 7), size=((5, 7), (6, 4), (1, 1)))
    def test_phases_equal_convolving_the_upsampled_image(self, kernel, size):
        rng = np.random.default_rng(kernel)
        pad = (kernel - 1) // 2
        x = rng.normal(size=(2, *size, 3)).astype(np.float32)
        w = rng.normal(size=(kernel, kernel, 3, 4)).astype(np.float32)
        up = np.repeat(np.repeat(x, 2, 1), 2, 2)
        expected = numpy_conv2d(up, w, 1, ((pad, pad), (pad, pad)), 1)
        merged, pads, offsets = subpixel.phase_kernel(tf.constant(w), (pad, pad))
        y = subpixel.interleave(convolve(x, merged, (1, 1), pads, (1, 1)), offsets).numpy()
        self.assertEqual(y.shape, expected.shape)
        self.assertAllClose(y, expected, atol=1e-4)

    def test_three_by_three_phases_use_two_by_two_kernels(self):
        taps, pads, offset = subpixel.axis_phases(3, 1)
        self.assertEqual(taps.shape, (2, 2, 3))  # 2 taps per phase instead of 3
        self.assertEqual((pads, offset), ((1, 1), 1))
        # Slot 0 is phase 1: output 2u - 1 = 2(u - 1) + 1 sees input row u - 1 with taps 0 and 1
        # and row u with tap 2. Slot 1 is phase 0: output 2u sees row u - 1 with tap 0 and row
        # u with taps 1 and 2.
        self.assertAllEqual(taps[0], [[1, 1, 0], [0, 0, 1]])
        self.assertAllEqual(taps[1], [[1, 0, 0], [0, 1, 1]])

    @parameterized.parameters(
        ((3, 3), (1, 1), (1, 1), (1, 1), True), ((5, 5), (1, 1), (2, 2), (1, 1), True),
        ((4, 4), (1, 1), (1, 1), (1, 1), False), ((3, 3), (2, 2), (1, 1), (1, 1), False),
        ((3, 3), (1, 1), (2, 2), (2, 2), False), ((3, 3), (1, 1), (0, 0), (1, 1), False))
    def test_supported_only_for_same_size_undilated_stride_one(self, k, s, p, d, expected):
        self.assertEqual(subpixel.supported(k, s, p, d), expected)

    @parameterized.parameters("learnable", "none")
    def test_gated_upsample_equals_gated_conv_of_the_upsampled_video(self, shift):
        rng = np.random.default_rng(1)
        x = tf.constant(rng.normal(size=(2, 3, 5, 6, 8)).astype(np.float32))
        layer = GatedUpsample(GatedConv2D(6, 3, padding=1, temporal_shift=shift))
        y = layer(x)
        if shift == "learnable":  # move the taps off one-hot so the shift matters
            kernel = layer.conv.feature.shift.kernel
            kernel.assign(kernel + rng.normal(0, 0.3, kernel.shape).astype(np.float32))
            y = layer(x)
        expected = layer.conv(temporal.upsample_nearest2x(x))
        self.assertEqual(tuple(y.shape), (2, 3, 10, 12, 6))
        self.assertAllClose(y, expected, atol=1e-5)
