"""MSE / PSNR / SSIM (whole-frame and hole-only) and the HolePSNR / HoleSSIM Keras metrics."""

import json
import math
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import tensorflow as tf
from absl.testing import parameterized
from numpy.lib.stride_tricks import sliding_window_view

from lgtsm_tf import metrics
from tests.testing import REPO, TestCase, random_video


def _np_ssim_map(a, b):
    """Direct float64 SSIM map of [H, W, C] images: 11x11 Gaussian (sigma 1.5) windows over a
    half-sample-symmetric padded image, population variances, C1 = 0.01^2, C2 = 0.03^2."""
    k = np.arange(11) - 5.0
    g = np.exp(-k ** 2 / (2 * 1.5 ** 2))
    window = np.outer(g, g) / np.outer(g, g).sum()

    def blur(z):
        padded = np.pad(z, ((5, 5), (5, 5), (0, 0)), mode="symmetric")
        return np.einsum("hwcij,ij->hwc", sliding_window_view(padded, (11, 11), axis=(0, 1)),
                         window)

    a, b = a.astype(np.float64), b.astype(np.float64)
    mx, my = blur(a), blur(b)
    vx, vy, cxy = blur(a * a) - mx ** 2, blur(b * b) - my ** 2, blur(a * b) - mx * my
    c1, c2 = 0.01 ** 2, 0.03 ** 2
    return ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx ** 2 + my ** 2 + c1) * (vx + vy + c2))


def _np_ssim(a, b, mask=None):
    s = _np_ssim_map(a, b)
    if mask is None:
        return s[5:-5, 5:-5].mean()
    m = mask[..., 0].astype(np.float64)
    return (s.mean(-1) * m).sum() / m.sum()


def _pair(seed, shape=(2, 3, 24, 28, 3), noise=0.08):
    rng = np.random.default_rng(seed)
    y = rng.random(shape).astype(np.float32)
    y_hat = np.clip(y + rng.normal(0.0, noise, shape), 0.0, 1.0).astype(np.float32)
    return y, y_hat


class MsePsnrTest(TestCase):

    def test_constant_offset(self):
        y = np.random.default_rng(0).random((2, 4, 16, 16, 3)).astype(np.float32) * 0.9
        y_hat = y + np.float32(0.1)
        self.assertAllClose(metrics.mse_per_frame(y, y_hat), np.full((2, 4), 0.01), rtol=1e-5)
        self.assertAllClose(metrics.psnr_per_frame(y, y_hat), np.full((2, 4), 20.0), rtol=1e-5)
        self.assertAllClose(metrics.mse(y, y_hat), 0.01, rtol=1e-5)
        self.assertAllClose(metrics.psnr(y, y_hat), 20.0, rtol=1e-5)
        self.assertEqual(metrics.psnr_per_frame(y, y_hat).dtype, tf.float32)

    def test_identical_frames_give_inf_or_the_cap(self):
        y = np.random.default_rng(1).random((1, 2, 8, 8, 3)).astype(np.float32)
        self.assertEqual(float(metrics.psnr(y, y)), math.inf)
        self.assertAllEqual(metrics.psnr_per_frame(y, y, max_psnr=100.0), [[100.0, 100.0]])
        y_hat = y.copy()
        y_hat[0, 1] += 0.1  # frame 1 at 20 dB, frame 0 identical
        self.assertAllClose(metrics.psnr(y, y_hat, max_psnr=50.0), 35.0, rtol=1e-5)
        self.assertEqual(float(metrics.psnr(y, y_hat)), math.inf)

    def test_per_frame_values_are_per_frame(self):
        y, y_hat = _pair(2)
        expected = np.mean((y - y_hat) ** 2, axis=(2, 3, 4))
        self.assertAllClose(metrics.mse_per_frame(y, y_hat), expected, rtol=1e-5)
        self.assertAllClose(metrics.psnr_per_frame(y, y_hat), -10 * np.log10(expected), rtol=1e-5)
        self.assertAllClose(metrics.psnr(y, y_hat), np.mean(-10 * np.log10(expected)), rtol=1e-5)

    def test_hole_only_ignores_errors_outside_holes(self):
        y = np.random.default_rng(3).random((2, 3, 16, 16, 3)).astype(np.float32) * 0.5
        masks = np.zeros((2, 3, 16, 16, 1), np.float32)
        masks[:, :, 4:9, 3:12] = 1.0
        masks[1, 2] = 0.0  # a frame without holes
        y_hat = y + np.float32(0.1) * masks + np.float32(0.4) * (1 - masks)
        mse = keras.ops.convert_to_numpy(metrics.mse_per_frame(y, y_hat, masks))
        self.assertTrue(np.isnan(mse[1, 2]))
        mse[1, 2] = 0.01
        self.assertAllClose(mse, np.full((2, 3), 0.01), rtol=1e-5)
        self.assertAllClose(metrics.psnr(y, y_hat, masks), 20.0, rtol=1e-5)
        self.assertAllClose(metrics.mse(y, y_hat, masks), 0.01, rtol=1e-5)
        self.assertAllEqual(metrics.hole_frame_weights(masks), [[1, 1, 1], [1, 1, 0]])
        self.assertAllClose(metrics.mse(y, y_hat), (0.01 * 45 + 0.16 * 211) / 256
                            * 5 / 6 + 0.16 / 6, rtol=1e-5)  # whole frame sees both

    def test_soft_masks_weight_pixels(self):
        y, y_hat = _pair(4, shape=(1, 2, 8, 8, 3))
        masks = np.random.default_rng(5).random((1, 2, 8, 8, 1)).astype(np.float32)
        sq = (y - y_hat) ** 2
        expected = (sq * masks).sum(axis=(2, 3, 4)) / (3 * masks.sum(axis=(2, 3, 4)))
        self.assertAllClose(metrics.mse_per_frame(y, y_hat, masks), expected, rtol=1e-5)

    def test_no_hole_anywhere_is_nan(self):
        y, y_hat = _pair(6, shape=(1, 2, 12, 12, 3))
        masks = np.zeros((1, 2, 12, 12, 1), np.float32)
        for fn in (metrics.mse, metrics.psnr, metrics.ssim):
            self.assertTrue(np.isnan(float(fn(y, y_hat, masks))), fn.__name__)

    def test_average_frames(self):
        values = np.array([[1.0, np.nan], [3.0, 5.0]], np.float32)
        self.assertAllClose(metrics.average_frames(values), 3.0)
        self.assertAllClose(metrics.average_frames(values, [[1.0], [0.0]]), 1.0)
        self.assertEqual(float(metrics.average_frames(np.array([[1.0, np.inf]]))), math.inf)


class SsimTest(TestCase):

    def test_matches_a_direct_numpy_implementation(self):
        y, y_hat = _pair(10)
        masks = random_video(11, batch=2, frames=3, height=24, width=28)["masks"]
        got = keras.ops.convert_to_numpy(metrics.ssim_per_frame(y, y_hat))
        got_hole = keras.ops.convert_to_numpy(metrics.ssim_per_frame(y, y_hat, masks))
        for b in range(2):
            for t in range(3):
                self.assertAllClose(got[b, t], _np_ssim(y[b, t], y_hat[b, t]), atol=2e-6)
                self.assertAllClose(got_hole[b, t], _np_ssim(y[b, t], y_hat[b, t], masks[b, t]),
                                    atol=2e-6)
        self.assertAllClose(metrics.ssim_map(y, y_hat)[1, 2], _np_ssim_map(y[1, 2], y_hat[1, 2]),
                            atol=5e-6)
        self.assertLess(float(metrics.ssim(y, y_hat)), 0.99)

    def test_whole_frame_matches_tf_image_ssim(self):
        y, y_hat = _pair(12)
        expected = tf.image.ssim(y, y_hat, max_val=1.0, filter_size=11, filter_sigma=1.5,
                                 k1=0.01, k2=0.03)
        self.assertAllClose(metrics.ssim_per_frame(y, y_hat), expected, atol=2e-6)

    def test_matches_skimage(self):
        try:
            from skimage.metrics import structural_similarity
        except ImportError:
            self.skipTest("scikit-image is not installed (checked against numpy and "
                          "tf.image.ssim instead)")
        y, y_hat = _pair(13, shape=(1, 2, 24, 28, 3))
        got = keras.ops.convert_to_numpy(metrics.ssim_per_frame(y, y_hat))
        for t in range(2):
            expected = structural_similarity(
                y[0, t].astype(np.float64), y_hat[0, t].astype(np.float64),
                gaussian_weights=True, sigma=1.5, use_sample_covariance=False, channel_axis=-1,
                data_range=1.0)
            self.assertAllClose(got[0, t], expected, atol=2e-6)

    def test_hole_ssim_ignores_errors_far_from_holes(self):
        y = np.random.default_rng(14).random((1, 2, 32, 40, 3)).astype(np.float32)
        y_hat = y.copy()
        y_hat[..., :, :12, :] = 1.0 - y_hat[..., :, :12, :]  # wreck the left 12 columns
        masks = np.zeros((1, 2, 32, 40, 1), np.float32)
        masks[..., 8:24, 20:36, :] = 1.0  # more than 5 px (the window radius) from the damage
        self.assertAllClose(metrics.ssim_per_frame(y, y_hat, masks), [[1.0, 1.0]], atol=1e-6)
        self.assertLess(float(metrics.ssim(y, y_hat)), 0.8)
        self.assertAllClose(metrics.ssim(y, y), 1.0, atol=1e-6)


class PrecisionAndGraphTest(TestCase):

    @parameterized.parameters("float16", "bfloat16")
    def test_low_precision_inputs(self, dtype):
        y, y_hat = _pair(20)
        masks = random_video(21, batch=2, frames=3, height=24, width=28)["masks"]
        low = [tf.cast(x, dtype) for x in (y, y_hat, masks)]
        exact = [tf.cast(x, tf.float32) for x in low]
        for fn in (metrics.mse_per_frame, metrics.psnr_per_frame, metrics.ssim_per_frame):
            for use_masks in (False, True):
                args = low if use_masks else low[:2]
                ref = exact if use_masks else exact[:2]
                value = fn(*args)
                self.assertEqual(value.dtype, tf.float32)
                self.assertAllClose(value, fn(*ref), rtol=1e-6, atol=1e-6)

    def test_tf_function_with_unknown_shapes(self):
        spec = tf.TensorSpec([None] * 5, tf.float32)

        @tf.function(input_signature=[spec, spec, spec])
        def all_metrics(y, y_hat, masks):
            return (metrics.psnr_per_frame(y, y_hat, masks), metrics.ssim_per_frame(y, y_hat),
                    metrics.ssim_per_frame(y, y_hat, masks), metrics.mse(y, y_hat, masks))

        for seed, shape in ((30, (1, 4, 32, 32, 3)), (31, (2, 3, 24, 40, 3))):
            y, y_hat = _pair(seed, shape)
            masks = random_video(seed, *shape[:4])["masks"]
            got = all_metrics(y, y_hat, masks)
            want = (metrics.psnr_per_frame(y, y_hat, masks), metrics.ssim_per_frame(y, y_hat),
                    metrics.ssim_per_frame(y, y_hat, masks), metrics.mse(y, y_hat, masks))
            for g, w in zip(got, want):
                self.assertAllClose(g, w, rtol=1e-6)
        self.assertEqual(all_metrics.experimental_get_tracing_count(), 1)


class KerasMetricsTest(TestCase):

    def _batches(self):
        out = []
        for seed in (40, 41):
            y, y_hat = _pair(seed, shape=(2, 2, 16, 16, 3))
            masks = random_video(seed, batch=2, frames=2, height=16, width=16)["masks"]
            out.append((y, y_hat, masks))
        out[1][2][0, 1] = 0.0  # one frame without holes: skipped
        return out

    @parameterized.parameters("float32", "mixed_float16", "mixed_bfloat16")
    def test_accumulates_over_frames_with_holes(self, policy):
        keras.config.set_dtype_policy(policy)
        batches = self._batches()
        for metric, fn in ((metrics.HolePSNR(), metrics.psnr_per_frame),
                           (metrics.HoleSSIM(), metrics.ssim_per_frame)):
            self.assertTrue(np.isnan(float(metric.result())))
            values = []
            for y, y_hat, masks in batches:
                metric.update_state(y, tf.cast(y_hat, keras.config.dtype_policy().compute_dtype),
                                    masks)
                values.append(keras.ops.convert_to_numpy(
                    fn(y, tf.cast(tf.cast(y_hat, keras.config.dtype_policy().compute_dtype),
                                  tf.float32), masks)))
            values = np.concatenate(values)
            self.assertEqual(int(np.isnan(values).sum()), 1)
            self.assertEqual([v.dtype for v in metric.variables], ["float32", "float32"])
            self.assertEqual(metric.result().dtype, tf.float32)
            self.assertAllClose(metric.result(), np.nanmean(values), rtol=1e-6)
            self.assertAllClose(metric.count, 7.0)
            metric.reset_state()
            self.assertTrue(np.isnan(float(metric.result())))

    def test_sample_weight_and_cap(self):
        (y, y_hat, masks), _ = self._batches()
        metric = metrics.HolePSNR()
        metric.update_state(y, y_hat, masks, sample_weight=[[1.0], [0.0]])  # clip 1 ignored
        self.assertAllClose(metric.result(), np.mean(metrics.psnr_per_frame(y, y_hat, masks)[0]),
                            rtol=1e-6)
        capped, uncapped = metrics.HolePSNR(), metrics.HolePSNR(max_psnr=None)
        for m in (capped, uncapped):
            m.update_state(y, y, masks)
        self.assertAllClose(capped.result(), 100.0)
        self.assertEqual(float(uncapped.result()), math.inf)

    def test_update_in_tf_function(self):
        metric = metrics.HoleSSIM()
        spec = tf.TensorSpec([None] * 5, tf.float32)

        @tf.function(input_signature=[spec, spec, spec])
        def update(y, y_hat, masks):
            metric.update_state(y, y_hat, masks)

        values = []
        for y, y_hat, masks in self._batches():
            update(y, y_hat, masks)
            values.append(keras.ops.convert_to_numpy(metrics.ssim_per_frame(y, y_hat, masks)))
        self.assertAllClose(metric.result(), np.nanmean(np.concatenate(values)), rtol=1e-6)

    def test_serialization(self):
        for metric in (metrics.HolePSNR(max_psnr=60.0, name="psnr_h"), metrics.HoleSSIM()):
            self.assertTrue(keras.saving.get_registered_name(type(metric)).startswith("lgtsm_tf>"))
            clone = keras.saving.deserialize_keras_object(
                keras.saving.serialize_keras_object(metric))
            self.assertIs(type(clone), type(metric))
            self.assertEqual(clone.get_config(), metric.get_config())
        self.assertEqual(metrics.HolePSNR.from_config(
            metrics.HolePSNR(max_psnr=60.0).get_config()).max_psnr, 60.0)


_DISTRIBUTED_SCRIPT = textwrap.dedent("""
    import json
    import numpy as np
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    from lgtsm_tf import losses, metrics

    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    rng = np.random.default_rng(0)
    y = rng.random((4, 3, 16, 16, 3)).astype(np.float32)
    y_hat = np.clip(y + rng.normal(0, 0.05, y.shape), 0, 1).astype(np.float32)
    masks = (rng.random((4, 3, 16, 16, 1)) < 0.3).astype(np.float32)
    masks[1, 2] = 0.0
    with strategy.scope():
        hole_psnr, hole_ssim = metrics.HolePSNR(), metrics.HoleSSIM()
        w = tf.Variable(1.5)

    def split(x):
        return strategy.experimental_distribute_values_from_function(
            lambda ctx: tf.constant(x[2 * ctx.replica_id_in_sync_group:
                                      2 * ctx.replica_id_in_sync_group + 2]))

    @tf.function
    def step(a, b, c):
        def replica_fn(a, b, c):
            hole_psnr.update_state(a, b, c)
            hole_ssim.update_state(a, b, c)
            with tf.GradientTape() as tape:
                loss = losses.scale_for_distribution(losses.l1_loss(w * b, a))
            return tape.gradient(loss, w), loss
        grads, loss = strategy.run(replica_fn, (a, b, c))
        return strategy.reduce("SUM", grads, None), strategy.reduce("SUM", loss, None)

    grad, loss = step(split(y), split(y_hat), split(masks))
    v = tf.Variable(1.5)
    with tf.GradientTape() as tape:
        single_loss = losses.l1_loss(v * y_hat, y)
    print(json.dumps({
        "replicas": strategy.num_replicas_in_sync,
        "grad": float(grad), "single_grad": float(tape.gradient(single_loss, v)),
        "loss": float(loss), "single_loss": float(single_loss),
        "psnr": float(hole_psnr.result()),
        "single_psnr": float(metrics.psnr(y, y_hat, masks, max_psnr=100.0)),
        "ssim": float(hole_ssim.result()), "single_ssim": float(metrics.ssim(y, y_hat, masks)),
        "count": float(tf.convert_to_tensor(hole_psnr.count)),
    }))
""")


class DistributedTest(TestCase):

    def test_mirrored_two_replicas_match_one_device(self):
        """Runs in a subprocess: logical CPU devices must be set before TensorFlow starts."""
        env = {**os.environ, "PYTHONPATH": REPO, "TF_CPP_MIN_LOG_LEVEL": "2"}
        proc = subprocess.run([sys.executable, "-c", _DISTRIBUTED_SCRIPT], env=env, cwd=REPO,
                              capture_output=True, text=True, timeout=240)
        self.assertEqual(proc.returncode, 0, proc.stderr[-3000:])
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        self.assertEqual(r["replicas"], 2)
        self.assertAllClose(r["grad"], r["single_grad"], rtol=1e-6)
        self.assertAllClose(r["loss"], r["single_loss"], rtol=1e-6)
        self.assertAllClose(r["psnr"], r["single_psnr"], rtol=1e-6)
        self.assertAllClose(r["ssim"], r["single_ssim"], rtol=1e-6)
        self.assertEqual(r["count"], 11.0)  # 12 frames, one without holes


if __name__ == "__main__":
    tf.test.main()
