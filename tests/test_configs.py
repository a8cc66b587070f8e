"""lgtsm_tf.configs: the factories equal their flagfiles, flags override a factory, the config
round-trips through JSON, and a resumed run compares its config."""

import io
import contextlib
import json
import os
import shutil
import tempfile

from absl import app, flags
from absl.testing import parameterized

from lgtsm_tf import configs
from lgtsm_tf.cli import train
from lgtsm_tf.training.runner import check_resume
from tests.testing import REPO, TestCase


def parsed(*args):
    fv = flags.FlagValues()
    train.define_flags(fv)
    cwd = os.getcwd()
    os.chdir(REPO)  # flagfiles include each other by repository-relative paths
    try:
        fv(["train.py", *args])
    finally:
        os.chdir(cwd)
    return fv


class ConfigsTest(TestCase):

    @parameterized.parameters("demo", "recipe", "fvi_stage1", "fvi_stage2")
    def test_factory_equals_its_flagfile(self, name):
        from_file = train.config_from_flags(parsed(f"--flagfile=trainers/configs/{name}.flags"))
        self.assertEqual(from_file, configs.get(name))

    def test_default_is_the_flags_defaults(self):
        self.assertEqual(train.config_from_flags(parsed()), configs.default())

    def test_flags_override_a_named_config(self):
        config = train.config_from_flags(parsed("--config=recipe", "--nf=32", "--lr=1e-4",
                                                "--mask_area_range=0.1,0.3"))
        recipe = configs.recipe()
        self.assertEqual((config.model.nf, config.optimizer.lr), (32, 1e-4))
        self.assertEqual(config.data.mask_area_range, (0.1, 0.3))
        self.assertEqual(config.data.height, recipe.data.height)  # not given: the recipe's 96
        self.assertEqual(config.runtime.precision, "mixed_bfloat16")
        self.assertEqual(configs.replace(recipe, model={"nf": 32}, optimizer={"lr": 1e-4},
                                         data={"mask_area_range": (0.1, 0.3)}), config)

    def test_flag_values_that_do_not_parse_name_the_flag(self):
        with self.assertRaisesRegex(app.UsageError, "--mask_scale=big: must be 'auto'"):
            train.config_from_flags(parsed("--mask_scale=big"))
        with self.assertRaisesRegex(app.UsageError, "--mask_area_range=0.5,0.1"):
            train.config_from_flags(parsed("--mask_area_range=0.5,0.1"))

    @parameterized.parameters(*configs.FACTORIES)
    def test_json_round_trip(self, name):
        config = configs.get(name)
        text = json.dumps(config.as_dict())
        self.assertEqual(configs.from_dict(json.loads(text)), config)
        self.assertEqual(set(config.flat()), set(configs.FIELDS))

    def test_unknown_names_are_refused(self):
        with self.assertRaisesRegex(ValueError, "unknown config 'big'; the configs are: default, "
                                                "demo, recipe, fvi_stage1, fvi_stage2"):
            configs.get("big")
        with self.assertRaisesRegex(ValueError, "section 'model' has no field"):
            configs.replace(configs.default(), model={"lr": 1.0})
        with self.assertRaisesRegex(ValueError, "unknown config section"):
            configs.from_dict({"modle": {}})

    @parameterized.parameters(
        ({"model": {"nf": 0}}, "--nf=0: must be an integer >= 1"),
        ({"data": {"height": 30}}, "--height=30: must be a positive multiple of 4"),
        ({"optimizer": {"lr": 0.0}}, "--lr=0: must be a finite number > 0"),
        ({"data": {"data": ["/nope"]}}, "--data=/nope: no such file"),
        ({"losses": {"l1_weight": 0.0, "hole_l1_weight": 0.0}},
         "every loss weight is 0"))
    def test_validate_names_the_flag(self, changes, message):
        with self.assertRaisesRegex(ValueError, message):
            configs.replace(configs.demo(), **changes).validate()
        configs.demo().validate()  # the demo is valid as it is


class ResumeTest(TestCase):

    def setUp(self):
        super().setUp()
        self.dir = tempfile.mkdtemp(prefix="configs_")
        self.addCleanup(shutil.rmtree, self.dir, ignore_errors=True)

    def test_config_is_written_and_compared(self):
        config = configs.demo()
        configs.write(self.dir, config)
        self.assertEqual(sorted(os.listdir(self.dir)), ["config.json", "settings.json"])
        with open(os.path.join(self.dir, "config.json")) as f:
            self.assertEqual(configs.from_dict(json.load(f)), config)
        check_resume(self.dir, config)
        faster = configs.replace(config, optimizer={"lr": 2e-3}, trainer={"train_steps": 900})
        check_resume(self.dir, faster)  # other fields may change ...
        self.assertEqual(configs.resume_changes(self.dir, faster),
                         {"lr": (1e-3, 2e-3), "train_steps": (600, 900)})
        with self.assertRaisesRegex(ValueError, "--nf was 16, now 32"):  # ... the network not
            check_resume(self.dir, configs.replace(config, model={"nf": 32}))

    def test_a_run_with_only_settings_json_is_still_checked(self):
        with open(os.path.join(self.dir, "settings.json"), "w") as f:
            json.dump(configs.demo().settings(), f)
        self.assertEqual(configs.resume_changes(self.dir, configs.demo()), {})
        with self.assertRaisesRegex(ValueError, "--variant was 'lgtsm', now 'gtsm'"):
            check_resume(self.dir, configs.replace(configs.demo(), model={"variant": "gtsm"}))

    def test_training_run_takes_a_config(self):
        from lgtsm_tf import training

        config = configs.replace(configs.demo(), data={"height": 16, "width": 24,
                                                      "clip_length": 2, "batch_size": 1},
                                 model={"nf": 2}, trainer={"train_steps": 2, "eval_every": 1,
                                                           "eval_steps": 1,
                                                           "checkpoint_every": 1,
                                                           "verbose": 0})
        model_dir = os.path.join(self.dir, "run")
        with contextlib.redirect_stdout(io.StringIO()) as out:
            path = training.run(config, model_dir)
        self.assertEqual(path, os.path.join(model_dir, "generator.keras"))
        self.assertIn("Starting at step 0 of 2", out.getvalue())
        with open(os.path.join(model_dir, "config.json")) as f:
            self.assertEqual(configs.from_dict(json.load(f)), config)
        longer = configs.replace(config, trainer={"train_steps": 3})
        with contextlib.redirect_stdout(io.StringIO()) as out:
            training.run(longer, model_dir)
        self.assertIn("Settings changed since the run's last start: --train_steps was 2, now 3",
                      out.getvalue())
        self.assertIn("Resuming at step 2 of 3", out.getvalue())
