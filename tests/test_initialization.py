"""Init schemes: same weights layout, deterministic draws, signal that reaches every layer, and
a from-scratch fit that gets below the mean-colour fill only with the scaled scheme."""

import math

import keras
import numpy as np
import tensorflow as tf
from absl.testing import parameterized

import lgtsm_tf
from benchmarks.signal_flow import layer_stats
from lgtsm_tf.evaluation import baselines
from lgtsm_tf.layers import GatedConv2D
from lgtsm_tf.models import initialization
from lgtsm_tf.models.initialization import initialize
from tests.testing import TestCase


def _weights(model):
    return {w.path: np.array(w) for w in model.weights}


class InitializeTest(TestCase):

    @parameterized.product(variant=("lgtsm", "gtsm", "2d", "3d"), scheme=("reference", "scaled"),
                           kind=("generator", "discriminator"))
    def test_keeps_the_layout_and_is_deterministic(self, variant, scheme, kind):
        build = lgtsm_tf.build_generator if kind == "generator" else lgtsm_tf.build_discriminator
        model = build(variant, nf=4)
        before = _weights(model)
        a = _weights(initialize(model, scheme, seed=3))
        self.assertEqual({k: v.shape for k, v in a.items()},
                         {k: v.shape for k, v in before.items()})
        b = _weights(initialize(build(variant, nf=4), scheme, seed=3))
        c = _weights(initialize(build(variant, nf=4), scheme, seed=4))
        kernels = [k for k in a if k.endswith("/kernel") and "shift" not in k]
        self.assertTrue(kernels)
        for k in kernels:
            np.testing.assert_array_equal(a[k], b[k])
        self.assertTrue(any(not np.array_equal(a[k], c[k]) for k in kernels))
        for k, v in a.items():  # shift taps and spectral-norm vectors are left as built
            if "shift" in k or "sn_" in k:
                np.testing.assert_array_equal(v, before[k])

    def test_reference_draw_is_pytorch_default(self):
        model = initialize(lgtsm_tf.build_generator("lgtsm", nf=8), "reference", seed=0)
        conv = model.get_layer("conv3").feature  # 3x3 over 16 channels: bound 1/12
        bound = 1 / math.sqrt(3 * 3 * 16)
        kernel = np.array(conv.kernel)
        self.assertLessEqual(np.abs(kernel).max(), bound)
        self.assertAlmostEqual(kernel.std(), bound / math.sqrt(3), delta=0.1 * bound)

    def test_scaled_draw(self):
        model = initialize(lgtsm_tf.build_generator("lgtsm", nf=8), "scaled", seed=0)
        layer = model.get_layer("conv3")
        fan_in = 3 * 3 * 16
        gate = 1 / (1 + math.exp(-initialization.GATE_BIAS))
        want = 1 / math.sqrt(initialization.ACTIVATION_SECOND_MOMENT["leaky_relu"] * gate ** 2
                             * fan_in)
        self.assertAlmostEqual(np.array(layer.feature.kernel).std(), want, delta=0.05 * want)
        np.testing.assert_array_equal(np.array(layer.feature.bias), 0)
        np.testing.assert_allclose(np.array(layer.gating.bias), initialization.GATE_BIAS)
        last = model.get_layer("conv11").feature
        np.testing.assert_allclose(np.array(last.bias), initialization.LAST_LAYER_BIAS / gate,
                                   rtol=1e-6)

    def test_unknown_scheme(self):
        with self.assertRaisesRegex(ValueError, "unknown init scheme 'he'.*reference"):
            initialize(lgtsm_tf.build_generator("lgtsm", nf=4), "he")

    def test_a_model_without_convolutions_is_refused(self):
        inputs = keras.Input((3,))
        with self.assertRaisesRegex(ValueError, "no convolutions"):
            initialize(keras.Model(inputs, keras.layers.Dense(2)(inputs)))

    def test_gated_layers_inside_upsampling_are_drawn(self):
        model = initialize(lgtsm_tf.build_generator("lgtsm", nf=8), "scaled", seed=0)
        conv = model.get_layer("deconv1").conv
        self.assertIsInstance(conv, GatedConv2D)
        np.testing.assert_allclose(np.array(conv.gating.bias), initialization.GATE_BIAS)


class SignalFlowTest(TestCase):
    """The stall of issue 13: with the reference's init the first layers get no gradient."""

    def test_scaled_init_reaches_every_layer(self):
        rows = layer_stats("lgtsm", nf=8, init="scaled", frames=4, height=32, width=48)
        grads = [g for _, _, g in rows]
        self.assertGreater(min(grads), 1e-7, rows)  # far above Adam's epsilon 1e-8
        self.assertLess(math.log10(max(grads) / min(grads)), 4, rows)
        outputs = [o for _, o, _ in rows]
        self.assertGreater(min(outputs), 1e-2, rows)

    def test_reference_init_starves_the_first_layers(self):
        rows = layer_stats("lgtsm", nf=8, init="reference", frames=4, height=32, width=48)
        starved = [name for name, _, g in rows if g < 1e-8]
        self.assertGreaterEqual(len(starved), 8, rows)
        self.assertIn("conv1", starved)


def _fit_hole_l1(scheme, steps=100, seed=0):
    """Fits a fresh nf-8 generator to one real clip with a moving box hole; hole L1 after."""
    from lgtsm_tf.data import embedded

    clip = embedded.embedded_clips("train", num_frames=4, height=32, width=48, seed=seed,
                                   photos=["astronaut"])[0]
    holes = np.zeros((4, 32, 48), bool)
    for t in range(4):
        holes[t, 8:20, 10 + 3 * t:26 + 3 * t] = True
    frames = tf.constant(clip[None] / 255.0, tf.float32)
    masks = tf.constant(holes[None, ..., None], tf.float32)
    keras.utils.set_random_seed(seed)
    model = initialize(lgtsm_tf.build_generator("lgtsm", nf=8), scheme, seed=seed)
    optimizer = keras.optimizers.Adam(5e-4, amsgrad=True)

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            out = model({"frames": frames, "masks": masks}, training=True)
            loss = tf.reduce_sum(tf.abs(out - frames) * masks) / tf.reduce_sum(masks) / 3
        optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_weights),
                                      model.trainable_weights))
        return loss

    for _ in range(steps):
        loss = step()
    mean_fill = baselines.mean_colour(clip, holes).astype(np.float32) / 255
    mean_l1 = float(np.abs(mean_fill - clip / 255.0)[holes].mean())
    return float(loss), mean_l1


class FromScratchFitTest(TestCase):

    def test_scaled_init_beats_the_mean_colour_in_100_steps(self):
        scaled, mean_l1 = _fit_hole_l1("scaled")
        reference, _ = _fit_hole_l1("reference")
        self.assertLess(scaled, 0.5 * mean_l1, (scaled, reference, mean_l1))
        self.assertGreater(reference, 0.8 * mean_l1, (scaled, reference, mean_l1))
