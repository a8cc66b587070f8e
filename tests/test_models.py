"""Generator and discriminator: every variant, every policy, dynamic shapes, saving."""

import os

import keras
import numpy as np
import tensorflow as tf
from absl.testing import parameterized

import lgtsm_tf
from lgtsm_tf import models as models_lib
from lgtsm_tf.models import VARIANTS, as_network, count_parameters
from tests.testing import POLICIES, TestCase, random_video

NF = 8
SPEC = {"frames": tf.TensorSpec([None, None, None, None, 3], tf.float32),
        "masks": tf.TensorSpec([None, None, None, None, 1], tf.float32)}


class ModelTest(TestCase):

    @parameterized.product(variant=sorted(VARIANTS), policy=POLICIES)
    def test_builds_and_runs_under_every_policy(self, variant, policy):
        keras.config.set_dtype_policy(policy)
        video = random_video(0, batch=2, frames=4, height=32, width=40)
        generator = lgtsm_tf.build_generator(variant, nf=NF)
        out = generator(video).numpy()
        self.assertEqual(out.shape, (2, 4, 32, 40, 3))
        self.assertEqual(out.dtype, np.float32)
        self.assertTrue(np.all(np.isfinite(out)))
        known = video["masks"][..., 0] == 0
        self.assertAllEqual(out[known], video["frames"][known])
        self.assertGreater(np.abs(out[~known]).mean(), 1e-3)  # no vanishing signal at init
        disc = lgtsm_tf.build_discriminator(variant, nf=NF)(video).numpy()
        self.assertEqual(disc.shape, (2, 4, 1, 1, 4 * NF))
        self.assertEqual(disc.dtype, np.float32)
        self.assertTrue(np.all((disc > 0) & (disc < 1)))

    @parameterized.parameters(*sorted(VARIANTS))
    def test_traced_once_serves_two_shapes(self, variant):
        generator = lgtsm_tf.build_generator(variant, nf=NF)
        a = random_video(1, batch=1, frames=3, height=16, width=24)
        b = random_video(2, batch=2, frames=5, height=28, width=20)
        out_a, out_b = self.assert_serves_dynamic_shapes(
            lambda x: generator(x, training=False), SPEC, a, b)
        self.assertAllClose(out_a, generator(a), atol=1e-5)
        self.assertAllClose(out_b, generator(b), atol=1e-5)
        disc = lgtsm_tf.build_discriminator(variant, nf=NF)
        d_a, d_b = self.assert_serves_dynamic_shapes(lambda x: disc(x), SPEC, a, b)
        self.assertEqual(d_a.shape, (1, 3, 1, 1, 4 * NF))
        self.assertEqual(d_b.shape, (2, 5, 1, 1, 4 * NF))

    @parameterized.parameters(*sorted(VARIANTS))
    def test_keras_file_and_config_round_trips(self, variant):
        video = random_video(3, frames=3, height=16, width=16)
        other = random_video(9, batch=2, frames=2, height=24, width=20)
        for build, shape in ((lgtsm_tf.build_generator, (1, 3, 16, 16, 3)),
                             (lgtsm_tf.build_discriminator, (1, 3, 1, 1, 4 * NF))):
            results = self.run_model_test(lambda: build(variant, nf=NF), video, shape,
                                          dynamic_inputs=other)
            for policy, (model, _) in results.items():
                self.assertEqual((model.variant, model.nf, model.policy_name),
                                 (variant, NF, policy))

    @parameterized.parameters(*sorted(VARIANTS))
    def test_plain_functional_models_become_their_class(self, variant):
        # A .keras file saved before the networks were classes loads as a plain functional
        # model with the same layers; as_network rebuilds its class with the same weights.
        video = random_video(6, frames=3, height=16, width=16)
        shift = {} if variant == "3d" else {"shift_width": 5}  # 3D has no shift to read back
        for model in (lgtsm_tf.build_generator(variant, nf=NF, **shift),
                      lgtsm_tf.build_discriminator(variant, nf=NF, spectral_norm=True)):
            plain = keras.Model(model.inputs, model.outputs, name="old")
            self.assertNotIsInstance(plain, type(model))
            network = as_network(plain)
            self.assertIsInstance(network, type(model))
            self.assertEqual((network.variant, network.nf, network.name), (variant, NF, "old"))
            self.assertEqual({k: v for k, v in network.get_config().items() if k != "name"},
                             {k: v for k, v in model.get_config().items() if k != "name"})
            self.assertAllEqual(network(video), model(video))
            self.assertIs(as_network(network), network)
        self.assertIs(as_network(keras.Sequential([keras.layers.Dense(2)])).__class__,
                      keras.Sequential)

    def test_load_reads_a_running_training_directory(self):
        # No generator.keras yet: the architecture comes from settings.json, the weights from
        # the newest checkpoint.
        model = lgtsm_tf.build_generator("gtsm", nf=NF)
        run = self.get_temp_dir()
        with open(os.path.join(run, "settings.json"), "w") as f:
            f.write('{"variant": "gtsm", "nf": 8, "d_nf": 64, "stage": "1"}')
        tf.train.Checkpoint(generator=model).save(os.path.join(run, "checkpoints", "ckpt"))
        loaded = models_lib.load(run)
        self.assertIsInstance(loaded, lgtsm_tf.InpaintingGenerator)
        self.assertEqual((loaded.variant, loaded.nf), ("gtsm", NF))
        video = random_video(8, frames=2, height=16, width=16)
        self.assertAllEqual(loaded(video), model(video))
        os.remove(os.path.join(run, "settings.json"))
        with self.assertRaisesRegex(ValueError, "no .keras file or settings.json"):
            models_lib.load(run)

    def test_with_precision_keeps_the_weights(self):
        model = lgtsm_tf.build_generator("lgtsm", nf=NF)
        self.assertIs(model.with_precision("float32"), model)
        bf16 = model.with_precision("mixed_bfloat16")
        self.assertEqual(bf16.policy_name, "mixed_bfloat16")
        self.assertEqual(bf16.get_layer("conv1").compute_dtype, "bfloat16")
        self.assertEqual(bf16.get_layer("composite").compute_dtype, "float32")
        video = random_video(7, frames=2, height=16, width=16)
        self.assertAllClose(bf16(video), model(video), atol=0.05)
        self.assertAllEqual(bf16.with_precision("float32")(video), model(video))

    def test_mixed_precision_model_reloads_with_its_policy(self):
        keras.config.set_dtype_policy("mixed_bfloat16")
        model = lgtsm_tf.build_generator("lgtsm", nf=NF)
        video = random_video(4, frames=2, height=16, width=16)
        expected = model(video).numpy()
        path = os.path.join(self.get_temp_dir(), "bf16.keras")
        model.save(path)
        keras.config.set_dtype_policy("float32")
        reloaded = keras.saving.load_model(path)
        self.assertEqual(reloaded.get_layer("conv1").compute_dtype, "bfloat16")
        self.assertEqual(reloaded.policy_name, "mixed_bfloat16")
        self.assertAllEqual(reloaded(video), expected)

    def test_sizes_not_multiple_of_four_are_rejected(self):
        generator = lgtsm_tf.build_generator("lgtsm", nf=NF)
        with self.assertRaisesRegex(ValueError, "height 30 is not a multiple of 4"):
            generator(random_video(5, frames=2, height=30, width=32))
        traced = tf.function(lambda x: generator(x), input_signature=[SPEC])
        with self.assertRaisesRegex(tf.errors.InvalidArgumentError, "multiples of 4"):
            traced(random_video(5, frames=2, height=32, width=30))

    def test_unknown_variant(self):
        with self.assertRaisesRegex(ValueError, r"choose one of \['2d', '3d', 'gtsm', 'lgtsm'\]"):
            lgtsm_tf.build_generator("4d")

    def test_reference_parameter_counts_at_nf64(self):
        # Numbers from the authors' code (reference-verified.md and its discriminator table).
        counts = {v: (count_parameters(lgtsm_tf.build_generator(v, nf=64)),
                      count_parameters(lgtsm_tf.build_discriminator(v, nf=64)))
                  for v in ("lgtsm", "3d")}
        self.assertEqual(counts["lgtsm"], (12_135_660, 5_948_452))
        self.assertEqual(counts["3d"][0], 36_394_758)
        self.assertAllClose(counts["lgtsm"][0] / counts["3d"][0], 0.3334, atol=1e-4)

    def test_shift_options_reach_every_shifted_layer(self):
        generator = lgtsm_tf.build_generator("lgtsm", nf=NF, per_channel_shift=True,
                                             shift_width=5)
        shifts = [l.shift for l in generator._flatten_layers() if getattr(l, "shift", None)]
        self.assertLen(shifts, 17)
        self.assertTrue(all(s.per_channel and s.shift_width == 5 for s in shifts))
        gtsm = lgtsm_tf.build_generator("gtsm", nf=NF)
        self.assertEqual(count_parameters(gtsm) - sum(np.prod(w.shape) for w in gtsm.trainable_weights),
                         17 * 6)


if __name__ == "__main__":
    tf.test.main()
