"""The convolution, gating, upsampling, input and composite layers."""

import keras
import numpy as np
import tensorflow as tf
from absl.testing import parameterized

from lgtsm_tf.layers import (Composite, FrameConv2D, GatedConv2D, GatedConv3D, GatedUpsample,
                             InpaintingInput, VideoConv3D)
from lgtsm_tf.ops.spectral_norm import spectral_normalize
from tests.testing import POLICIES, TestCase, random_video, shift_reference


def _video(seed, shape):
    return np.random.default_rng(seed).normal(size=shape).astype(np.float32)


def _leaky(x):
    return np.where(x > 0, x, 0.2 * x)


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


class FrameConv2DTest(TestCase):

    @parameterized.parameters(
        (5, 1, 1, 1, 18, 14), (4, 2, 2, 1, 16, 12), (4, 2, 1, 1, 16, 12), (3, 1, 4, 4, 9, 7),
        (5, 2, 2, 1, 31, 17), (3, 1, 16, 16, 8, 8))
    def test_matches_explicitly_padded_conv2d(self, kernel, stride, padding, dilation, h, w):
        layer = FrameConv2D(6, kernel, strides=stride, padding=padding, dilation_rate=dilation)
        x = _video(0, (2, 3, h, w, 4))
        y = layer(x)
        expected = tf.nn.conv2d(
            x.reshape(6, h, w, 4), layer.kernel, strides=stride,
            padding=[[0, 0], [padding, padding], [padding, padding], [0, 0]],
            dilations=dilation) + layer.bias
        self.assertEqual(tuple(y.shape), layer.compute_output_shape(x.shape))
        self.assertAllClose(y, tf.reshape(expected, y.shape), atol=1e-5)

    def test_shift_applies_before_the_conv(self):
        layer = FrameConv2D(4, 1, temporal_shift="learnable")
        x = _video(1, (1, 5, 3, 3, 8))
        layer(x)
        layer.shift.kernel.assign(_video(2, layer.shift.kernel.shape))
        taps = np.concatenate([np.repeat(layer.shift.kernel.numpy().reshape(3, 2), 2, axis=1),
                               np.tile([[0.0], [1.0], [0.0]], (1, 4))], axis=1)
        shifted = shift_reference(x, taps)
        expected = np.einsum("bthwc,co->bthwo", shifted, layer.kernel.numpy()[0, 0]) + layer.bias
        self.assertAllClose(layer(x), expected, atol=1e-5)

    def test_policies_and_round_trip(self):
        self.run_layer_test(
            lambda: FrameConv2D(8, 3, padding=1, activation="leaky_relu", temporal_shift="fixed",
                                spectral_norm=True),
            _video(3, (2, 3, 8, 8, 5)), expected_shape=(2, 3, 8, 8, 8),
            dynamic_inputs=_video(4, (1, 4, 6, 10, 5)))

    def test_bad_arguments(self):
        with self.assertRaisesRegex(ValueError, "temporal_shift"):
            FrameConv2D(4, 3, temporal_shift="sideways")
        with self.assertRaisesRegex(ValueError, "kernel_size"):
            FrameConv2D(4, (3, 3, 3))
        with self.assertRaisesRegex(ValueError, r"\[B, T, H, W, C\]"):
            FrameConv2D(4, 3)(np.zeros((2, 8, 8, 3), np.float32))


class SpectralNormTest(TestCase):

    def _torch_style(self, w_mat, u):
        """PyTorch's one power iteration and sigma, on W_mat [out, K]."""
        v = w_mat.T @ u
        v = v / max(np.linalg.norm(v), 1e-12)
        u = w_mat @ v
        u = u / max(np.linalg.norm(u), 1e-12)
        return u, v, u @ (w_mat @ v)

    def test_training_step_and_inference_match_pytorch_arithmetic(self):
        rng = np.random.default_rng(4)
        kernel = rng.normal(size=(3, 3, 4, 6)).astype(np.float32)
        u = keras.Variable(rng.normal(size=6).astype(np.float32))
        v = keras.Variable(rng.normal(size=36).astype(np.float32))
        w_mat = kernel.reshape(36, 6).T
        u_new, v_new, sigma = self._torch_style(w_mat, u.numpy())
        out = spectral_normalize(tf.constant(kernel), u, v, training=True)
        self.assertAllClose(u.numpy(), u_new, atol=1e-6)
        self.assertAllClose(v.numpy(), v_new, atol=1e-6)
        self.assertAllClose(out, kernel / sigma, atol=1e-6)
        # Inference uses the stored vectors without iterating.
        out_eval = spectral_normalize(tf.constant(kernel), u, v, training=False)
        self.assertAllClose(u.numpy(), u_new, atol=1e-6)
        self.assertAllClose(out_eval, kernel / (u_new @ (w_mat @ v_new)), atol=1e-6)

    def test_power_iteration_converges_to_the_largest_singular_value(self):
        layer = VideoConv3D(6, 3, padding=1)
        x = _video(5, (1, 3, 4, 4, 4))
        for _ in range(60):
            layer(x, training=True)
        w_mat = layer.kernel.numpy().reshape(-1, 6)
        sigma = np.linalg.svd(w_mat, compute_uv=False)[0]
        effective = keras.ops.convert_to_numpy(layer.effective_kernel())
        self.assertAllClose(np.linalg.svd(effective.reshape(-1, 6), compute_uv=False)[0], 1.0,
                            atol=1e-3)
        self.assertAllClose(layer.kernel.numpy() / effective, np.full(effective.shape, sigma),
                            rtol=1e-3)

    def test_gradient_flows_through_sigma(self):
        layer = FrameConv2D(3, 3, spectral_norm=True)
        x = _video(6, (1, 2, 5, 5, 2))
        layer(x, training=True)
        with tf.GradientTape() as tape:
            y = tf.reduce_sum(layer(x))
        grad = tape.gradient(y, layer.kernel).numpy()
        # With u, v fixed, sigma is linear in W, so the output is invariant to scaling W and
        # (Euler) <dL/dW, W> = 0; without the gradient through sigma it would not be.
        kernel = layer.kernel.numpy()
        self.assertGreater(np.abs(grad).max(), 1e-3)
        self.assertAllClose(np.sum(grad * kernel), 0.0, atol=1e-4 * np.abs(grad * kernel).sum())


class VideoConv3DTest(TestCase):

    @parameterized.parameters(((3, 4, 4), (1, 2, 2), (1, 2, 2), (1, 1, 1)),
                              ((3, 3, 3), (1, 1, 1), (1, 4, 4), (1, 4, 4)),
                              ((3, 5, 5), (1, 2, 2), (1, 1, 1), (1, 1, 1)))
    def test_matches_explicitly_padded_conv3d(self, kernel, strides, padding, dilation):
        layer = VideoConv3D(5, kernel, strides=strides, padding=padding, dilation_rate=dilation,
                            spectral_norm=False)
        x = _video(7, (2, 4, 12, 10, 3))
        y = layer(x)
        padded = np.pad(x, [(0, 0)] + [(p, p) for p in padding] + [(0, 0)])
        expected = tf.nn.conv3d(padded, layer.kernel, strides=(1, *strides, 1), padding="VALID",
                                dilations=(1, *dilation, 1)) + layer.bias
        self.assertEqual(tuple(y.shape), layer.compute_output_shape(x.shape))
        self.assertAllClose(y, expected, atol=1e-5)

    def test_policies_and_round_trip(self):
        results = self.run_layer_test(
            lambda: VideoConv3D(4, (3, 3, 3), padding=1, activation="leaky_relu"),
            _video(8, (1, 3, 6, 6, 5)), expected_shape=(1, 3, 6, 6, 4),
            dynamic_inputs=_video(9, (2, 4, 5, 7, 5)))
        for layer, _ in results.values():
            self.assertEqual(layer.sn_u.dtype, "float32")


class GatedConvTest(TestCase):

    @parameterized.parameters((GatedConv2D, {"temporal_shift": "learnable"}, 3),
                              (GatedConv3D, {}, (3, 3, 3)))
    def test_is_sigmoid_gate_times_activated_feature(self, cls, kwargs, kernel):
        layer = cls(6, kernel, padding=1, **kwargs)
        x = _video(9, (2, 4, 6, 6, 5))
        y = layer(x)
        feature = layer.feature(x).numpy()
        gate = layer.gating(x).numpy()
        self.assertAllClose(y, _sigmoid(gate) * feature, atol=1e-6)
        self.assertEqual(layer.feature.activation, "leaky_relu")
        self.assertIsNone(layer.gating.activation)

    def test_gate_sees_the_unshifted_input(self):
        layer = GatedConv2D(4, 1, temporal_shift="fixed")
        layer(_video(10, (1, 3, 2, 2, 8)))
        self.assertIsNotNone(layer.feature.shift)
        self.assertIsNone(layer.gating.shift)

    def test_last_layer_has_no_activation(self):
        layer = GatedConv2D(3, 3, padding=1, activation=None)
        x = _video(11, (1, 2, 4, 4, 4))
        pre = layer.feature(x).numpy()
        self.assertLess(pre.min(), 0.0)
        self.assertAllClose(layer(x), _sigmoid(layer.gating(x).numpy()) * pre, atol=1e-6)

    @parameterized.parameters(GatedConv2D, GatedConv3D)
    def test_policies_and_round_trip(self, cls):
        kernel = 3 if cls is GatedConv2D else (3, 3, 3)
        self.run_layer_test(lambda: cls(4, kernel, padding=1), _video(12, (1, 3, 6, 6, 5)),
                            expected_shape=(1, 3, 6, 6, 4),
                            dynamic_inputs=_video(13, (2, 2, 4, 8, 5)))


class GatedUpsampleTest(TestCase):

    def test_nearest_upsample_then_conv(self):
        layer = GatedUpsample(GatedConv2D(4, 3, padding=1))
        x = _video(13, (1, 2, 3, 5, 6))
        y = layer(x)
        up = np.repeat(np.repeat(x, 2, axis=2), 2, axis=3)
        self.assertEqual(tuple(y.shape), (1, 2, 6, 10, 4))
        self.assertAllClose(y, layer.conv(up), atol=1e-6)
        self.assertEqual(layer.compute_output_shape(x.shape), (1, 2, 6, 10, 4))

    def test_policies_and_round_trip(self):
        self.run_layer_test(lambda: GatedUpsample(GatedConv3D(4, (3, 3, 3), padding=1)),
                            _video(14, (1, 3, 3, 3, 4)), expected_shape=(1, 3, 6, 6, 4),
                            dynamic_inputs=_video(15, (2, 2, 4, 5, 4)))


class InputAndCompositeTest(TestCase):

    def test_builds_the_reference_five_channel_input(self):
        video = random_video(0, frames=2, height=8, width=8)
        x = InpaintingInput()([video["frames"], video["masks"]]).numpy()
        known = 1.0 - video["masks"]
        self.assertAllEqual(x[..., :3], video["frames"] * known)
        self.assertAllEqual(x[..., 3:4], known)
        self.assertAllEqual(x[..., 4:], np.zeros_like(known))
        unmasked = InpaintingInput(mask_frames=False)([video["frames"], video["masks"]]).numpy()
        self.assertAllEqual(unmasked[..., :3], video["frames"])

    @parameterized.parameters(
        ((1, 2, 10, 8, 3), (1, 2, 10, 8, 1), "height 10 is not a multiple of 4"),
        ((1, 2, 8, 6, 3), (1, 2, 8, 6, 1), "width 6 is not a multiple of 4"),
        ((1, 2, 8, 8, 4), (1, 2, 8, 8, 1), r"frames must be \[B, T, H, W, 3\]"),
        ((1, 2, 8, 8, 3), (1, 2, 8, 8, 3), r"masks must be \[B, T, H, W, 1\]"),
        ((1, 2, 8, 8, 3), (1, 3, 8, 8, 1), "differ in T"))
    def test_static_errors(self, frames_shape, masks_shape, message):
        with self.assertRaisesRegex(ValueError, message):
            InpaintingInput()([np.zeros(frames_shape, np.float32),
                               np.zeros(masks_shape, np.float32)])

    def test_dynamic_errors(self):
        layer = InpaintingInput()
        spec = [tf.TensorSpec([None, None, None, None, 3]), tf.TensorSpec([None, None, None, None, 1])]
        fn = tf.function(lambda f, m: layer([f, m]), input_signature=spec)
        fn(np.zeros((1, 2, 8, 12, 3), np.float32), np.zeros((1, 2, 8, 12, 1), np.float32))
        with self.assertRaisesRegex(tf.errors.InvalidArgumentError, "multiples of 4"):
            fn(np.zeros((1, 2, 8, 10, 3), np.float32), np.zeros((1, 2, 8, 10, 1), np.float32))
        with self.assertRaisesRegex(tf.errors.InvalidArgumentError, "same"):
            fn(np.zeros((1, 2, 8, 8, 3), np.float32), np.zeros((1, 3, 8, 8, 1), np.float32))

    def test_policies_round_trips_and_dynamic_shapes(self):
        a, b = random_video(3, frames=2, height=8, width=8), random_video(4, 2, 3, 12, 4)
        self.run_layer_test(InpaintingInput, [a["frames"], a["masks"]],
                            expected_shape=(1, 2, 8, 8, 5),
                            dynamic_inputs=[b["frames"], b["masks"]])
        self.run_layer_test(Composite, [a["frames"], a["frames"], a["masks"]],
                            expected_shape=(1, 2, 8, 8, 3), output_dtype="float32",
                            dynamic_inputs=[b["frames"], b["frames"], b["masks"]])

    @parameterized.parameters(*POLICIES)
    def test_composite_copies_known_pixels_in_float32(self, policy):
        keras.config.set_dtype_policy(policy)
        video = random_video(1, frames=2, height=8, width=8)
        raw = np.random.default_rng(2).normal(size=video["frames"].shape).astype(np.float32)
        out = Composite()([raw, video["frames"], video["masks"]]).numpy()
        self.assertEqual(out.dtype, np.float32)
        known = video["masks"][..., 0] == 0
        self.assertAllEqual(out[known], video["frames"][known])
        self.assertAllClose(out[~known], raw[~known], atol=1e-6)


if __name__ == "__main__":
    tf.test.main()
