"""Generator/discriminator losses and the frozen VGG16 feature extractor."""

import os
import tempfile
from unittest import mock

import h5py
import keras
import numpy as np
import tensorflow as tf
from absl.testing import parameterized

from lgtsm_tf import losses, vgg
from tests.testing import POLICIES, TestCase, random_video

try:
    import torch
except ImportError:  # torch is a test-only reference
    torch = None

TORCH_MISSING = "torch is not installed (it is only an independent reference for these tests)"


def _features(seed, batch=2, frames=3, sizes=((8, 8, 4), (4, 4, 8), (2, 2, 16)), scale=1.0):
    rng = np.random.default_rng(seed)
    return [(scale * rng.random((batch, frames) + s)).astype(np.float32) for s in sizes]


def _torch_gram(x, fold_batch):
    """The reference's gram_matrix (fold_batch) or the per-sample Gram, x [B, C, H, W]."""
    b, c, h, w = x.shape
    if fold_batch:
        f = x.reshape(b * c, h * w)
        return f @ f.t() / (b * c * h * w)
    f = x.reshape(b, c, h * w)
    return torch.bmm(f, f.transpose(1, 2)) / (c * h * w)


def _torch_reference_losses(feats_hat, feats, fold_batch=True):
    """The reference's VGGLoss and StyleLoss loops (per frame, then mean over frames), float64."""
    l1 = torch.nn.L1Loss()
    perceptual, style = [], []
    frames = feats[0].shape[1]
    for t in range(frames):
        # [B, T, H, W, C] -> frame t as NCHW, like outputs[:, frame_idx] through the VGG.
        a = [torch.from_numpy(f[:, t]).double().permute(0, 3, 1, 2) for f in feats_hat]
        b = [torch.from_numpy(f[:, t]).double().permute(0, 3, 1, 2) for f in feats]
        perceptual.append(sum(l1(x, y) for x, y in zip(a, b)))
        style.append(sum(l1(_torch_gram(x, fold_batch), _torch_gram(y, fold_batch)) / 2 ** (i + 1)
                         for i, (x, y) in enumerate(zip(a, b))))
    return (torch.stack(perceptual).mean().item(), torch.stack(style).mean().item())


class ReconstructionLossTest(TestCase):

    def test_known_values_on_a_composited_output(self):
        y = np.full((2, 4, 8, 8, 3), 0.5, np.float32)
        masks = np.zeros((2, 4, 8, 8, 1), np.float32)
        masks[:, :, 2:6, 0:4] = 1.0  # 16 of 64 pixels: a quarter of the frame
        y_hat = y + 0.25 * masks     # composited: differs only in holes
        self.assertAllClose(losses.l1_loss(y_hat, y), 0.25 / 4, rtol=1e-6)
        self.assertAllClose(losses.hole_l1_loss(y_hat, y, masks), 0.25 / 4, rtol=1e-6)
        self.assertAllClose(losses.valid_l1_loss(y_hat, y, masks), 0.0, atol=0)

    def test_hole_and_valid_split_the_full_l1(self):
        video = random_video(0, batch=2, frames=4, height=16, width=16)
        y, masks = video["frames"], video["masks"]
        y_hat = np.random.default_rng(1).random(y.shape).astype(np.float32)  # not composited
        err = np.abs(y_hat - y)
        self.assertAllClose(losses.hole_l1_loss(y_hat, y, masks), np.mean(err * masks), rtol=1e-5)
        self.assertAllClose(losses.valid_l1_loss(y_hat, y, masks), np.mean(err * (1 - masks)),
                            rtol=1e-5)
        self.assertAllClose(losses.hole_l1_loss(y_hat, y, masks)
                            + losses.valid_l1_loss(y_hat, y, masks),
                            losses.l1_loss(y_hat, y), rtol=1e-5)
        self.assertGreater(float(losses.valid_l1_loss(y_hat, y, masks)), 0.1)

    @parameterized.parameters("float16", "bfloat16")
    def test_low_precision_inputs_give_float32(self, dtype):
        video = random_video(2, batch=1, frames=4, height=8, width=8)
        y = tf.cast(video["frames"], dtype)
        y_hat = tf.cast(video["frames"][:, ::-1], dtype)
        masks = tf.cast(video["masks"], dtype)
        for fn, args in ((losses.l1_loss, ()), (losses.hole_l1_loss, (masks,)),
                         (losses.valid_l1_loss, (masks,))):
            value = fn(y_hat, y, *args)
            self.assertEqual(value.dtype, tf.float32)
            exact = fn(tf.cast(y_hat, tf.float32), tf.cast(y, tf.float32),
                       *[tf.cast(a, tf.float32) for a in args])
            self.assertAllClose(value, exact, rtol=1e-6)


class PerceptualAndStyleTest(TestCase):

    @parameterized.parameters(True, False)
    def test_match_the_reference_loops_in_torch(self, fold_batch):
        if torch is None:
            self.skipTest(TORCH_MISSING)
        feats_hat, feats = _features(0), _features(1)
        perceptual, style = _torch_reference_losses(feats_hat, feats, fold_batch)
        self.assertAllClose(losses.perceptual_loss(feats_hat, feats), perceptual, rtol=1e-5)
        self.assertAllClose(losses.style_loss(feats_hat, feats, fold_batch=fold_batch), style,
                            rtol=1e-5)

    def test_fold_batch_matters_for_batches_and_not_for_one_sample(self):
        a, b = _features(2, batch=3), _features(3, batch=3)
        folded = float(losses.style_loss(a, b, fold_batch=True))
        per_sample = float(losses.style_loss(a, b, fold_batch=False))
        self.assertGreater(abs(folded - per_sample), 1e-3 * per_sample)
        one = [f[:1] for f in a], [f[:1] for f in b]
        self.assertAllClose(losses.style_loss(*one, fold_batch=True),
                            losses.style_loss(*one, fold_batch=False), rtol=1e-6)

    def test_gram_layout(self):
        x = _features(4, batch=2, frames=3, sizes=((3, 5, 4),))[0]  # [2, 3, 3, 5, 4]
        folded = keras.ops.convert_to_numpy(losses.gram_matrices(x, fold_batch=True))
        per_sample = keras.ops.convert_to_numpy(losses.gram_matrices(x, fold_batch=False))
        self.assertEqual(folded.shape, (3, 8, 8))
        self.assertEqual(per_sample.shape, (2, 3, 4, 4))
        f = x.reshape(2, 3, 15, 4)  # [B, T, hw, C]
        for t in range(3):
            for b1 in range(2):
                for b2 in range(2):
                    block = f[b1, t].T @ f[b2, t] / (2 * 4 * 15)
                    self.assertAllClose(folded[t, 4 * b1:4 * b1 + 4, 4 * b2:4 * b2 + 4], block,
                                        rtol=1e-5)
            for b in range(2):
                self.assertAllClose(per_sample[b, t], f[b, t].T @ f[b, t] / (4 * 15), rtol=1e-5)

    def test_identical_features_give_zero(self):
        a = _features(5)
        self.assertEqual(float(losses.perceptual_loss(a, a)), 0.0)
        self.assertEqual(float(losses.style_loss(a, a)), 0.0)
        with self.assertRaisesRegex(ValueError, "feature lists"):
            losses.perceptual_loss(a, a[:2])

    @parameterized.parameters("float16", "bfloat16")
    def test_low_precision_features_are_computed_in_float32(self, dtype):
        # Large activations: in float16 the un-normalised Gram sums (~2e5) would overflow.
        a, b = _features(6, scale=100.0), _features(7, scale=100.0)
        low = [tf.cast(f, dtype) for f in a], [tf.cast(f, dtype) for f in b]
        exact = [[tf.cast(f, tf.float32) for f in fs] for fs in low]
        value = losses.style_loss(*low)
        self.assertEqual(value.dtype, tf.float32)
        self.assertTrue(np.isfinite(float(value)))
        self.assertAllClose(value, losses.style_loss(*exact), rtol=1e-6)
        self.assertAllClose(losses.perceptual_loss(*low), losses.perceptual_loss(*exact),
                            rtol=1e-6)


class AdversarialLossTest(TestCase):

    def test_lsgan_values(self):
        d_real = np.full((2, 3, 2, 2, 4), 0.5, np.float32)
        d_fake = np.full((2, 3, 2, 2, 4), 0.25, np.float32)
        # 0.5 * ((0.5 - 1)^2 + 0.25^2) and (0.25 - 1)^2
        self.assertAllClose(losses.discriminator_loss(d_real, d_fake), 0.5 * (0.25 + 0.0625))
        self.assertAllClose(losses.generator_adversarial_loss(d_fake), 0.5625)
        self.assertEqual(float(losses.discriminator_loss(np.ones(5), np.zeros(5))), 0.0)
        self.assertEqual(float(losses.generator_adversarial_loss(np.ones(5))), 0.0)

    def test_hinge_values(self):
        d_real = np.array([2.0, 0.5], np.float32)    # relu(1 - x): 0, 0.5 -> mean 0.25
        d_fake = np.array([-2.0, 0.5], np.float32)   # relu(1 + x): 0, 1.5 -> mean 0.75
        self.assertAllClose(losses.discriminator_loss(d_real, d_fake, "hinge"), 0.5)
        self.assertAllClose(losses.generator_adversarial_loss(d_fake, "hinge"), 0.75)  # -mean

    @parameterized.parameters("float16", "bfloat16")
    def test_low_precision_scores(self, dtype):
        d = tf.cast([0.5, 0.75], dtype)
        value = losses.generator_adversarial_loss(d)
        self.assertEqual(value.dtype, tf.float32)
        self.assertAllClose(value, (0.25 + 0.0625) / 2)

    def test_unknown_type(self):
        with self.assertRaisesRegex(ValueError, "'wgan'.*lsgan.*hinge"):
            losses.discriminator_loss(np.ones(2), np.zeros(2), "wgan")
        with self.assertRaisesRegex(ValueError, "'nsgan'"):
            losses.generator_adversarial_loss(np.ones(2), "nsgan")
        with self.assertRaisesRegex(ValueError, "gan_type"):
            losses.LossWeights(gan_type="wgan")


def _toy_vgg(frames):
    """A cheap stand-in for VGGFeatures: three deterministic nonlinear feature maps."""
    x = keras.ops.convert_to_tensor(frames)
    shape = tf.shape(x)
    flat = tf.reshape(x, tf.concat([[-1], shape[2:]], 0))
    f1 = tf.nn.relu(flat - 0.3)
    f2 = tf.nn.avg_pool2d(tf.square(flat), 2, 2, "VALID")
    f3 = tf.nn.avg_pool2d(tf.tile(flat, [1, 1, 1, 2]), 4, 4, "VALID")
    return tuple(tf.reshape(f, tf.concat([shape[:2], tf.shape(f)[1:]], 0)) for f in (f1, f2, f3))


class GeneratorLossTermsTest(TestCase):

    def setUp(self):
        super().setUp()
        video = random_video(10, batch=2, frames=4, height=16, width=16)
        self.y, self.masks = video["frames"], video["masks"]
        raw = np.random.default_rng(11).random(self.y.shape).astype(np.float32)
        self.y_hat = raw * self.masks + self.y * (1 - self.masks)

    def test_reference_defaults(self):
        w = losses.LossWeights()
        self.assertEqual((w.l1, w.hole_l1, w.valid_l1, w.perceptual, w.style, w.adversarial),
                         (1.0, 0.0, 0.0, 1.0, 10.0, 0.0))
        self.assertEqual((w.gan_type, w.style_fold_batch), ("lsgan", True))
        self.assertEqual(losses.LossWeights.stage2().adversarial, 1.0)
        self.assertEqual(losses.LossWeights.stage2().style, 10.0)
        with self.assertRaisesRegex(ValueError, "style"):
            losses.LossWeights(style=-1.0)

    def test_terms_are_the_weighted_losses(self):
        w = losses.LossWeights(l1=2.0, hole_l1=3.0, valid_l1=5.0, perceptual=0.5, style=10.0,
                               adversarial=0.25)
        d_fake = np.random.default_rng(12).random((2, 4, 1, 1, 8)).astype(np.float32)
        terms = losses.generator_loss_terms(self.y_hat, self.y, self.masks, _toy_vgg, w,
                                            d_fake=d_fake)
        fh, f = _toy_vgg(self.y_hat), _toy_vgg(self.y)
        expected = {
            "l1": 2.0 * losses.l1_loss(self.y_hat, self.y),
            "hole_l1": 3.0 * losses.hole_l1_loss(self.y_hat, self.y, self.masks),
            "valid_l1": 5.0 * losses.valid_l1_loss(self.y_hat, self.y, self.masks),
            "perceptual": 0.5 * losses.perceptual_loss(fh, f),
            "style": 10.0 * losses.style_loss(fh, f),
            "adversarial": 0.25 * np.mean((d_fake - 1.0) ** 2),
        }
        self.assertCountEqual(terms, list(expected) + ["total"])
        self.assertEqual(losses.generator_term_names(w, include_adversarial=True),
                         tuple(expected))
        for name, value in expected.items():
            self.assertEqual(terms[name].dtype, tf.float32)
            self.assertAllClose(terms[name], value, rtol=1e-6, msg=name)
        self.assertGreater(float(terms["style"]), 0.0)
        self.assertAllClose(terms["total"], sum(float(v) for v in expected.values()), rtol=1e-6)

    def test_vgg_is_skipped_when_its_weights_are_zero(self):
        def forbidden_vgg(_):
            raise AssertionError("VGG must not run when perceptual and style weights are 0")

        w = losses.LossWeights(perceptual=0.0, style=0.0)
        self.assertEqual(losses.generator_term_names(w), ("l1",))
        for extractor in (forbidden_vgg, None):
            terms = losses.generator_loss_terms(self.y_hat, self.y, self.masks, extractor, w)
            self.assertCountEqual(terms, ["l1", "total"])
            self.assertAllClose(terms["total"], losses.l1_loss(self.y_hat, self.y))

    def test_missing_vgg_is_reported(self):
        with self.assertRaisesRegex(ValueError, "VGG"):
            losses.generator_loss_terms(self.y_hat, self.y, self.masks, None)

    def test_adversarial_term_only_with_d_fake(self):
        """Without d_fake the caller adds the adversarial term (as InpaintingGAN does)."""
        stage2 = losses.LossWeights.stage2()
        self.assertEqual(losses.generator_term_names(stage2), ("l1", "perceptual", "style"))
        self.assertEqual(losses.generator_term_names(stage2, include_adversarial=True),
                         ("l1", "perceptual", "style", "adversarial"))
        self.assertEqual(losses.generator_term_names(losses.LossWeights(),
                                                     include_adversarial=True),
                         ("l1", "perceptual", "style"))
        without = losses.generator_loss_terms(self.y_hat, self.y, self.masks, _toy_vgg, stage2)
        self.assertCountEqual(without, ["l1", "perceptual", "style", "total"])
        d_fake = np.full((2, 4, 1, 1, 8), 0.5, np.float32)
        with_d = losses.generator_loss_terms(self.y_hat, self.y, self.masks, _toy_vgg, stage2,
                                             d_fake=d_fake)
        self.assertAllClose(with_d["adversarial"], 0.25)
        self.assertAllClose(with_d["total"], without["total"] + 0.25, rtol=1e-6)

    def test_gradients_reach_the_output_only(self):
        y_hat, y = tf.Variable(self.y_hat), tf.Variable(self.y)
        w = losses.LossWeights(l1=0.0)
        with tf.GradientTape(persistent=True) as tape:
            total = losses.generator_loss_terms(y_hat, y, self.masks, _toy_vgg, w)["total"]
        self.assertIsNone(tape.gradient(total, y))
        grad = tape.gradient(total, y_hat)
        self.assertGreater(float(tf.reduce_max(tf.abs(grad))), 0.0)

    @parameterized.parameters(*POLICIES)
    def test_graph_mode_dynamic_shapes_and_policies(self, policy):
        reference = vgg.VGGFeatures(weights=None)
        keras.config.set_dtype_policy(policy)
        extractor = vgg.VGGFeatures(weights=None)
        extractor.set_weights(reference.get_weights())
        compute = keras.config.dtype_policy().compute_dtype
        spec = tf.TensorSpec([None] * 5, compute)

        @tf.function(input_signature=[spec, spec, spec])
        def terms_fn(y_hat, y, masks):
            return losses.generator_loss_terms(y_hat, y, masks, extractor)

        cast = lambda x: tf.cast(x, compute)  # noqa: E731
        video = random_video(13, batch=1, frames=4, height=32, width=32)
        y = video["frames"]
        y_hat = y * (1 - video["masks"]) + 0.5 * video["masks"]
        terms = terms_fn(cast(y_hat), cast(y), cast(video["masks"]))
        other = random_video(14, batch=2, frames=3, height=40, width=48)
        terms_fn(cast(other["frames"]), cast(other["frames"]), cast(other["masks"]))
        self.assertEqual(terms_fn.experimental_get_tracing_count(), 1)
        keras.config.set_dtype_policy("float32")
        # float32 reference on the same (rounded) inputs.
        exact = losses.generator_loss_terms(
            *[tf.cast(cast(x), tf.float32) for x in (y_hat, y, video["masks"])], reference)
        tolerance = {"float32": 1e-5, "mixed_float16": 2e-3, "mixed_bfloat16": 1e-2}[policy]
        self.assertCountEqual(terms, ["l1", "perceptual", "style", "total"])
        for name in terms:
            self.assertEqual(terms[name].dtype, tf.float32)
            self.assertAllClose(terms[name], exact[name], rtol=tolerance, atol=1e-6, msg=name)
        self.assertGreater(float(terms["perceptual"]), 0.0)

    def test_scale_for_distribution_without_a_strategy(self):
        self.assertEqual(float(losses.scale_for_distribution(tf.constant(3.0))), 3.0)


class VGGPreprocessTest(TestCase):

    def test_caffe_mode_is_keras_preprocess_input(self):
        x = np.random.default_rng(20).random((2, 3, 4, 5, 3)).astype(np.float32)
        expected = keras.applications.vgg16.preprocess_input(255.0 * x)
        self.assertAllClose(vgg.vgg_preprocess(x, "caffe"), expected, atol=1e-4)

    def test_reference_mode_presents_the_image_torchvision_would_see(self):
        # torchvision's VGG fed raw x reads it as the normalised image x' = mean + std * x.
        x = np.random.default_rng(21).random((6, 4, 3)).astype(np.float32)
        x_seen = np.array(vgg.IMAGENET_MEAN_RGB) + np.array(vgg.IMAGENET_STD_RGB) * x
        expected = keras.applications.vgg16.preprocess_input(255.0 * x_seen.astype(np.float32))
        self.assertAllClose(vgg.vgg_preprocess(x, "reference"), expected, atol=1e-4)
        self.assertAllEqual(vgg.vgg_preprocess(x, "raw"), x)
        with self.assertRaisesRegex(ValueError, "input_mode"):
            vgg.vgg_preprocess(x, "torch")


class VGGFeaturesTest(TestCase):

    def test_matches_torchvision_slices_in_raw_mode(self):
        """Random weights copied into the reference's torch layout: features [0:23) split at
        4, 9, 16, 23, outputs of slices 2-4 (relu2_2, relu3_3, relu4_3)."""
        if torch is None:
            self.skipTest(TORCH_MISSING)
        extractor = vgg.VGGFeatures(weights=None, input_mode="raw")
        x = np.random.default_rng(22).random((1, 2, 32, 40, 3)).astype(np.float32)
        ours = [keras.ops.convert_to_numpy(f) for f in extractor(x)]
        convs = iter([layer for layer in extractor.network.layers if layer.weights])
        modules = []
        for width in (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512):
            if width == "M":
                modules.append(torch.nn.MaxPool2d(2, 2))
                continue
            layer = next(convs)
            kernel, bias = layer.get_weights()
            conv = torch.nn.Conv2d(kernel.shape[2], width, 3, padding=1)
            conv.weight.data = torch.from_numpy(kernel.transpose(3, 2, 0, 1).copy())
            conv.bias.data = torch.from_numpy(bias)
            modules += [conv, torch.nn.ReLU()]
        features = torch.nn.Sequential(*modules)
        self.assertLen(features, 23)
        h = torch.from_numpy(x.reshape(2, 32, 40, 3)).permute(0, 3, 1, 2)
        outputs = []
        with torch.no_grad():
            for start, stop in ((0, 4), (4, 9), (9, 16), (16, 23)):
                h = features[start:stop](h)
                outputs.append(h.permute(0, 2, 3, 1).numpy())
        for got, want in zip(ours, outputs[1:]):
            self.assertEqual(got.shape, (1, 2) + want.shape[1:])
            self.assertAllClose(got.reshape(want.shape), want, rtol=1e-4, atol=1e-5)

    def test_shapes_frozen_and_config(self):
        extractor = vgg.VGGFeatures(weights=None)
        self.assertEmpty(extractor.trainable_weights)
        self.assertLen(extractor.non_trainable_weights, 20)  # 10 convs up to block4_conv3
        out = extractor(np.zeros((3, 36, 20, 3), np.float32))
        self.assertEqual([tuple(f.shape) for f in out],
                         [(3, 18, 10, 128), (3, 9, 5, 256), (3, 4, 2, 512)])
        self.assertEqual(extractor.compute_output_shape((2, 4, 36, 20, 3)),
                         ((2, 4, 18, 10, 128), (2, 4, 9, 5, 256), (2, 4, 4, 2, 512)))
        config = extractor.get_config()
        self.assertEqual((config["weights"], config["input_mode"]), (None, "reference"))
        clone = keras.saving.deserialize_keras_object(
            keras.saving.serialize_keras_object(extractor))
        self.assertIsInstance(clone, vgg.VGGFeatures)
        with self.assertRaisesRegex(ValueError, "input_mode"):
            vgg.VGGFeatures(weights=None, input_mode="bgr")

    def test_missing_imagenet_weights_name_the_flag_and_the_cache_path(self):
        with tempfile.TemporaryDirectory() as home, \
                mock.patch.dict(os.environ, {"KERAS_HOME": home}):
            expected = os.path.join(home, "models", vgg.WEIGHTS_FILE)
            self.assertEqual(vgg.keras_cache_weights_path(), expected)
            with self.assertRaises(FileNotFoundError) as caught:
                vgg.VGGFeatures()
            message = str(caught.exception)
            self.assertIn("--vgg_weights", message)
            self.assertIn(expected, message)
            self.assertFalse(os.path.exists(expected))  # nothing was downloaded
            with self.assertRaisesRegex(FileNotFoundError, "--vgg_weights"):
                vgg.VGGFeatures(weights=os.path.join(home, "nope.h5"))

    def test_loads_the_keras_cache_file_and_an_explicit_path(self):
        source = keras.applications.VGG16(include_top=False, weights=None,
                                          input_shape=(None, None, 3))
        from keras.src.legacy.saving import legacy_h5_format  # writes the applications layout
        expected = {layer.name: layer.get_weights() for layer in source.layers if layer.weights}
        with tempfile.TemporaryDirectory() as home, \
                mock.patch.dict(os.environ, {"KERAS_HOME": home}):
            os.makedirs(os.path.join(home, "models"))
            with h5py.File(os.path.join(home, "models", vgg.WEIGHTS_FILE), "w") as f:
                legacy_h5_format.save_weights_to_hdf5_group(f, source)
            explicit = os.path.join(home, "mine.weights.h5")
            source.save_weights(explicit)
            for weights in ("imagenet", explicit):
                extractor = vgg.VGGFeatures(weights=weights)
                loaded = [layer for layer in extractor.network.layers if layer.weights]
                self.assertLen(loaded, 10)
                for layer in loaded:
                    for got, want in zip(layer.get_weights(), expected[layer.name]):
                        self.assertAllEqual(got, want)


if __name__ == "__main__":
    tf.test.main()
