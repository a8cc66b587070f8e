"""trainers/train.py in-process: flag checks, settings.json, failed starts, finite weights.

The end-to-end runs (subprocesses) are in tests/test_train_cli.py.
"""

import json
import os

import numpy as np
from absl import app, flags
from absl.testing import parameterized

import lgtsm_tf
from lgtsm_tf import inference
from lgtsm_tf.training.init import initial_models
from tests.testing import TestCase
from trainers import train


def parsed_flags(model_dir, *args):
    fv = flags.FlagValues()
    train.define_flags(fv)
    fv(["train.py", f"--model_dir={model_dir}", *args])
    return fv


def nan_generator(variant="lgtsm"):
    model = lgtsm_tf.build_generator(variant, nf=4)
    kernel = model.get_layer("conv1").feature.kernel
    kernel.assign(np.full(kernel.shape, np.nan, np.float32))
    return model


class ValidateFlagsTest(TestCase):

    def setUp(self):
        super().setUp()
        self.model_dir = os.path.join(self.get_temp_dir(), "run")

    def assert_refused(self, message, *args):
        fv = parsed_flags(self.model_dir, *args)
        with self.assertRaises(app.UsageError) as caught:
            train.validate_flags(fv)
        self.assertEqual(str(caught.exception), message)
        self.assertFalse(os.path.exists(self.model_dir))

    @parameterized.parameters(
        # Case 1: learning rates (absl's float flags take nan and inf).
        ("--lr=nan", "--lr=nan: must be a finite number > 0"),
        ("--lr=inf", "--lr=inf: must be a finite number > 0"),
        ("--lr=-0.001", "--lr=-0.001: must be a finite number > 0"),
        ("--lr=0", "--lr=0: must be a finite number > 0"),
        ("--d_lr=nan", "--d_lr=nan: must be a finite number > 0"),
        ("--lr_decay_rate=0", "--lr_decay_rate=0: must be a finite number > 0"),
        ("--lr_decay_rate=1.5", "--lr_decay_rate=1.5: must be a finite number in (0, 1]"),
        # Issue 13: generated-mask geometry.
        ("--mask_scale=-1", "--mask_scale=-1: must be 'auto' or a finite number > 0"),
        ("--mask_scale=nan", "--mask_scale=nan: must be 'auto' or a finite number > 0"),
        ("--mask_scale=large", "--mask_scale=large: must be 'auto' or a finite number > 0"),
        ("--mask_area_range=0.5", "--mask_area_range=0.5: must be lo,hi with 0 <= lo < hi <= 1"),
        ("--mask_area_range=0.6,0.2",
         "--mask_area_range=0.6,0.2: must be lo,hi with 0 <= lo < hi <= 1"),
        # Case 3: schedule, geometry, batch and loss weights.
        ("--train_steps=-5", "--train_steps=-5: must be an integer >= 1"),
        ("--train_steps=0", "--train_steps=0: must be an integer >= 1"),
        ("--checkpoint_every=0", "--checkpoint_every=0: must be an integer >= 1"),
        ("--eval_every=0", "--eval_every=0: must be an integer >= 1"),
        ("--eval_steps=0", "--eval_steps=0: must be an integer >= 1"),
        ("--height=63", "--height=63: must be a positive multiple of 4"),
        ("--width=0", "--width=0: must be a positive multiple of 4"),
        ("--height=-4", "--height=-4: must be a positive multiple of 4"),
        ("--batch_size=0", "--batch_size=0: must be an integer >= 1"),
        ("--batch_size=-1", "--batch_size=-1: must be an integer >= 1"),
        ("--clip_length=0", "--clip_length=0: must be an integer >= 1"),
        ("--max_stride=0", "--max_stride=0: must be an integer >= 1"),
        ("--nf=0", "--nf=0: must be an integer >= 1"),
        ("--seed=-1", "--seed=-1: must be an integer >= 0"),
        ("--lr_decay_steps=-1", "--lr_decay_steps=-1: must be an integer >= 0"),
        ("--verbose=3", "--verbose=3: must be 0, 1 or 2"),
        ("--l1_weight=-1", "--l1_weight=-1: must be a finite number >= 0"),
        ("--style_weight=nan", "--style_weight=nan: must be a finite number >= 0"),
        ("--adversarial_weight=-inf", "--adversarial_weight=-inf: must be a finite number >= 0"),
        ("--data=", "--data is empty: give 'embedded' and/or video files, frame folders or "
                    "dataset roots"),
        ("--data=/no/such/videos", "--data=/no/such/videos: no such file or directory"),
        ("--data=embedded,/no/such", "--data=embedded,/no/such: '/no/such': no such file or "
                                     "directory"),
        ("--val_data=/no/such", "--val_data=/no/such: no such file or directory"),
        ("--masks=/no/masks", "--masks=/no/masks: must be 'generated', 'disk' or an existing "
                              "folder of mask folders / mask videos"),
        ("--mask_presets=", "--mask_presets is empty: give one or more lgtsm_tf.masks.PRESETS "
                            "names"),
        ("--init_from=/no/such.keras", "--init_from=/no/such.keras: no such file or directory"),
    )
    def test_refused(self, arg, message):
        self.assert_refused(message, arg)

    def test_all_loss_weights_zero(self):
        self.assert_refused(
            "every loss weight is 0 (--l1_weight, --hole_l1_weight, --valid_l1_weight, "
            "--perceptual_weight, --style_weight, --adversarial_weight): at least one must be > 0",
            "--l1_weight=0", "--perceptual_weight=0", "--style_weight=0")

    def test_vgg_needs_eight_pixels(self):
        self.assert_refused("--width=4: must be >= 8 when --perceptual_weight or --style_weight "
                            "is > 0 (VGG16 pools the frames three times)", "--width=4")

    def test_model_dir_that_is_a_file(self):  # case 4
        path = os.path.join(self.get_temp_dir(), "a_file")
        with open(path, "w") as f:
            f.write("x")
        fv = parsed_flags(path)
        with self.assertRaisesRegex(app.UsageError, "^--model_dir=.*a_file: exists and is not a "
                                                    "directory$"):
            train.validate_flags(fv)

    def test_model_dir_required(self):
        fv = flags.FlagValues()
        train.define_flags(fv)
        fv(["train.py"])
        with self.assertRaisesRegex(app.UsageError, "--model_dir is required"):
            train.validate_flags(fv)

    def test_accepted(self):
        for args in ([], ["--height=4", "--width=8", "--perceptual_weight=0", "--style_weight=0",
                          "--clip_length=1", "--train_steps=1", "--val_data="],
                     ["--stage=2", "--l1_weight=0", "--perceptual_weight=0", "--style_weight=0"],
                     ["--lr=1e-30", "--lr_decay_rate=1", "--adversarial_weight=0"]):
            train.validate_flags(parsed_flags(self.model_dir, *args))

    def test_size_multiple_is_the_packages(self):
        from lgtsm_tf import inference

        self.assertEqual(train.SIZE_MULTIPLE, inference.SIZE_MULTIPLE)

    @parameterized.parameters("demo", "recipe", "fvi_stage1", "fvi_stage2")
    def test_shipped_flagfiles_are_valid(self, name):
        """Every flag a shipped flagfile sets exists and passes the checks (the data it names
        is replaced by the embedded set, its --init_from and --model_dir by ours)."""
        repo = os.path.dirname(os.path.dirname(os.path.abspath(train.__file__)))
        cwd = os.getcwd()
        os.chdir(repo)  # flagfiles include each other by repository-relative paths
        try:
            fv = parsed_flags(self.model_dir, f"--flagfile=trainers/configs/{name}.flags",
                              "--data=embedded", "--val_data=embedded", "--init_from=",
                              f"--model_dir={self.model_dir}")
        finally:
            os.chdir(cwd)
        train.validate_flags(fv)


class ModelDirTest(TestCase):
    """Case 2: nothing that blocks a rerun is written before training starts."""

    def test_resume_check_writes_nothing(self):
        model_dir = os.path.join(self.get_temp_dir(), "run")
        fv = parsed_flags(model_dir)
        train.check_resume_settings(model_dir, fv)
        self.assertFalse(os.path.exists(model_dir))
        train.write_settings(model_dir, fv)
        with open(os.path.join(model_dir, "settings.json")) as f:
            self.assertEqual(json.load(f)["variant"], "lgtsm")
        # no temporary left
        self.assertEqual(sorted(os.listdir(model_dir)), ["config.json", "settings.json"])
        train.check_resume_settings(model_dir, fv)
        with self.assertRaisesRegex(app.UsageError, "--variant was 'lgtsm', now 'gtsm'"):
            train.check_resume_settings(model_dir, parsed_flags(model_dir, "--variant=gtsm"))

    def test_failed_start_removes_the_folders_it_created(self):
        model_dir = os.path.join(self.get_temp_dir(), "new_run")
        with self.assertRaisesRegex(ValueError, "no data"):
            with train.StartGuard(model_dir):
                os.makedirs(os.path.join(model_dir, "checkpoints", "x"))
                raise ValueError("no data")
        self.assertFalse(os.path.exists(model_dir))

    def test_failed_start_keeps_what_was_there_and_any_file(self):
        model_dir = os.path.join(self.get_temp_dir(), "old_run")
        os.makedirs(os.path.join(model_dir, "mine"))
        with self.assertRaises(ValueError):
            with train.StartGuard(model_dir):
                os.makedirs(os.path.join(model_dir, "logs"))
                os.makedirs(os.path.join(model_dir, "samples"))
                with open(os.path.join(model_dir, "samples", "keep.txt"), "w") as f:
                    f.write("x")
                raise ValueError("bad data")
        self.assertEqual(sorted(os.listdir(model_dir)), ["mine", "samples"])

    def test_after_start_nothing_is_removed(self):
        model_dir = os.path.join(self.get_temp_dir(), "run")
        with self.assertRaises(ValueError):
            with train.StartGuard(model_dir) as guard:
                os.makedirs(os.path.join(model_dir, "logs"))
                guard.started()
                raise ValueError("diverged")
        self.assertEqual(os.listdir(model_dir), ["logs"])


class FiniteWeightsTest(TestCase):
    """Case 1: a model with NaN weights is neither exported nor used to start training."""

    def test_export_refuses_nan_weights(self):
        model_dir = self.get_temp_dir()
        with self.assertRaisesRegex(
                ValueError, r"^the generator at step 7: 500 of [\d,]+ weight values are not "
                            r"finite \(NaN/inf\), in .*conv1.*: the model diverged .*; not "
                            r"exporting .*generator.keras \(the checkpoints are kept\)$"):
            train.export_generator(nan_generator(), model_dir, 7, 6)
        self.assertEqual(os.listdir(model_dir), [])

    def test_export_writes_finite_weights(self):
        model_dir = self.get_temp_dir()
        path = train.export_generator(lgtsm_tf.build_generator("lgtsm", nf=4), model_dir, 1, 5)
        self.assertEqual(path, os.path.join(model_dir, "generator.keras"))
        self.assertEqual(sorted(os.listdir(model_dir)), ["generator.keras", "inference.json"])
        self.assertEqual(inference.windowing(model_dir), (5, 2))

    def test_init_from_refuses_nan_weights(self):
        path = os.path.join(self.get_temp_dir(), "diverged.keras")
        nan_generator().save(path)
        target = lgtsm_tf.build_generator("lgtsm", nf=4)
        before = [w.copy() for w in target.get_weights()]
        with self.assertRaisesRegex(ValueError, "diverged.keras: 500 of .* not finite"):
            initial_models(path, "lgtsm", target)
        for a, b in zip(before, target.get_weights()):
            np.testing.assert_array_equal(a, b)


if __name__ == "__main__":
    import tensorflow as tf

    tf.test.main()
