"""The GAN train step: policies, non-finite steps, distribution, the training CLI."""

import json
import subprocess
import sys

import keras
import numpy as np
import tensorflow as tf
from absl.testing import parameterized

import lgtsm_tf
from lgtsm_tf.losses import LossWeights
from lgtsm_tf.training.gan import InpaintingGAN
from lgtsm_tf.training.optimizers import guarded, reference_adam
from lgtsm_tf.vgg import VGGFeatures
from tests.testing import POLICIES, REPO, TestCase, random_video


def make_gan(policy, weights, nf=8):
    keras.config.set_dtype_policy(policy)
    generator = lgtsm_tf.build_generator("lgtsm", nf=nf)
    discriminator = lgtsm_tf.build_discriminator("lgtsm", nf=nf) if weights.adversarial else None
    vgg = VGGFeatures(weights=None) if weights.needs_vgg else None
    gan = InpaintingGAN(generator, discriminator, vgg, weights)
    gan.compile(generator_optimizer=guarded(reference_adam(1e-3), policy),
                discriminator_optimizer=(guarded(reference_adam(1e-3), policy)
                                         if discriminator else None))
    gan.build_optimizers()
    return gan


def snapshot(model):
    return [np.array(w) for w in model.get_weights()]


class TrainStepTest(TestCase):

    @parameterized.parameters(*POLICIES)
    def test_gan_step_runs_finite_and_updates_both_networks(self, policy):
        weights = LossWeights(perceptual=1.0, style=10.0, adversarial=1.0)
        gan = make_gan(policy, weights)
        batch = random_video(0, batch=2, frames=3, height=32, width=32)
        g0, d0 = snapshot(gan.generator), snapshot(gan.discriminator)
        logs = gan.train_step(batch)
        for name in ("loss", "l1", "perceptual", "style", "adversarial", "discriminator",
                     "hole_l1", "hole_psnr", "hole_ssim"):
            self.assertTrue(np.isfinite(float(logs[name])), f"{name} = {logs[name]}")
        self.assertEqual(float(logs["skipped_steps"]), 0.0)
        self.assertEqual(int(gan.step.numpy()), 1)
        g_change = max(np.abs(a - b).max() for a, b in zip(g0, snapshot(gan.generator)))
        d_change = max(np.abs(a - b).max() for a, b in zip(d0, snapshot(gan.discriminator)))
        self.assertGreater(g_change, 0.0)
        self.assertGreater(d_change, 0.0)
        self.assertTrue(all(np.all(np.isfinite(w)) for w in snapshot(gan.generator)))

    @parameterized.parameters("mixed_float16", "float32", "mixed_bfloat16")
    def test_non_finite_gradients_skip_the_step(self, policy):
        gan = make_gan(policy, LossWeights(perceptual=0.0, style=0.0, adversarial=1.0))
        batch = random_video(1, batch=2, frames=3, height=32, width=32)
        batch["frames"][0, 1, 4, 4, 0] = np.inf  # inf in the target: inf loss, inf gradients
        g0, d0 = snapshot(gan.generator), snapshot(gan.discriminator)
        scale = float(gan.generator_optimizer.dynamic_scale.numpy())
        logs = gan.train_step(batch)
        self.assertEqual(float(logs["skipped_steps"]), 1.0)
        for before, after in ((g0, snapshot(gan.generator)), (d0, snapshot(gan.discriminator))):
            for a, b in zip(before, after):
                self.assertAllEqual(a, b)
        self.assertEqual(float(gan.generator_optimizer.dynamic_scale.numpy()), scale / 2)
        # The next, finite step trains again.
        logs = gan.train_step(random_video(2, batch=2, frames=3, height=32, width=32))
        self.assertEqual(float(logs["skipped_steps"]), 1.0)
        self.assertGreater(max(np.abs(a - b).max() for a, b in zip(g0, snapshot(gan.generator))),
                           0.0)

    def test_stage_one_has_no_discriminator_and_checks_its_inputs(self):
        gan = make_gan("float32", LossWeights(perceptual=0.0, style=0.0))
        logs = gan.train_step(random_video(3, batch=2, frames=3, height=16, width=16))
        self.assertNotIn("discriminator", logs)
        with self.assertRaisesRegex(ValueError, "no discriminator"):
            InpaintingGAN(gan.generator, None, None, LossWeights(perceptual=0, style=0,
                                                                  adversarial=1))
        with self.assertRaisesRegex(ValueError, "no VGG"):
            InpaintingGAN(gan.generator, None, None, LossWeights())

    def test_mirrored_step_equals_single_device_step(self):
        done = subprocess.run([sys.executable, "-m", "tests.mirrored_step_check"], cwd=REPO,
                              capture_output=True, text=True, timeout=600)
        self.assertEqual(done.returncode, 0, done.stderr[-3000:])
        result = json.loads(done.stdout.strip().splitlines()[-1])
        print("\nmirrored vs single:", result)
        self.assertEqual(result["replicas"], 2)
        self.assertGreater(result["generator_change"], 1e-4)
        self.assertGreater(result["discriminator_change"], 1e-4)
        self.assertLessEqual(result["generator"], 1e-5)
        self.assertLessEqual(result["discriminator"], 1e-5)


if __name__ == "__main__":
    tf.test.main()
