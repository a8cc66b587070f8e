"""Reference checkpoint loading: sources, prefixes, errors, and the conversion CLI."""

import os
import subprocess
import sys

import keras
import numpy as np
import tensorflow as tf

from lgtsm_tf.convert import (load_reference_discriminator, load_reference_generator,
                              read_state_dict, recover_sn_v)
from tests.testing import GOLDEN_MISSING, REPO, TestCase, golden_available, golden_path
from tests.test_golden_parity import channels_last, generator_inputs

try:
    import torch
except ImportError:
    torch = None


def _weights(variant, name="weights.npz"):
    with np.load(golden_path(variant, name)) as data:
        return {k: data[k] for k in data.files}


def _expected(variant):
    with np.load(golden_path(variant, "outputs.npz")) as ref:
        return channels_last(ref["outputs"])


class PickledTrainerState:
    """Stands in for the authors' logger/config objects inside a training checkpoint."""

    def __init__(self):
        self.entries = [1, 2, 3]


class ConvertTest(TestCase):

    def setUp(self):
        super().setUp()
        if not golden_available():
            self.skipTest(GOLDEN_MISSING)

    def assert_generator_matches(self, model, variant="lgtsm"):
        out = model(generator_inputs(variant)).numpy()
        self.assertLess(np.abs(out - _expected(variant)).max(), 1e-5)

    def test_whole_training_checkpoint_with_prefixes(self):
        state = {f"module.generator.{k}": v for k, v in _weights("lgtsm").items()}
        state.update({f"module.temporal_discriminator.{k}": v
                      for k, v in _weights("lgtsm", "disc_weights.npz").items()})
        checkpoint = {"state_dict": state, "epoch": 135}
        self.assert_generator_matches(load_reference_generator(checkpoint))
        disc = load_reference_discriminator(checkpoint)
        self.assertEqual(disc.name, "lgtsm_discriminator")

    def test_nf_is_read_from_the_checkpoint_and_checked(self):
        self.assertEqual(load_reference_generator(_weights("lgtsm")).get_layer("conv1").feature.filters, 16)
        with self.assertRaisesRegex(ValueError, r"shape mismatches \(\d+\):\n.*conv1\.featureConv\.weight: "
                                                r"checkpoint \(5, 5, 5, 16\), model \(5, 5, 5, 32\)"):
            load_reference_generator(_weights("lgtsm"), nf=32)

    def test_missing_and_unknown_keys_are_listed(self):
        state = _weights("lgtsm")
        del state["coarse_net.upsample_module.conv9.gatingConv.layer.bias"]
        del state["coarse_net.upsample_module.conv9.gatingConv.bias"]
        state["coarse_net.upsample_module.conv12.featureConv.weight"] = np.zeros(3, np.float32)
        with self.assertRaises(ValueError) as ctx:
            load_reference_generator(state)
        message = str(ctx.exception)
        self.assertIn("missing keys (1):\n    upsample_module.conv9.gatingConv.layer.bias", message)
        self.assertIn("unknown keys (1):\n    upsample_module.conv12.featureConv.weight", message)

    def test_aliases_must_agree(self):
        state = _weights("lgtsm")
        state["coarse_net.downsample_module.conv3.featureConv.weight_orig"] = (
            state["coarse_net.downsample_module.conv3.featureConv.weight_orig"] + 1.0)
        with self.assertRaisesRegex(ValueError, "aliased entries that differ"):
            load_reference_generator(state)

    def test_learnable_taps_are_required_and_rejected_where_they_do_not_belong(self):
        state = {k: v for k, v in _weights("lgtsm").items() if "learnableTSM" not in k}
        with self.assertRaisesRegex(ValueError, r"missing keys \(34\)"):
            load_reference_generator(state, "lgtsm")
        with self.assertRaisesRegex(ValueError, r"unknown keys \(34\)"):
            load_reference_generator(_weights("lgtsm"), "2d")

    def test_master_branch_gtsm_checkpoint_without_taps(self):
        # The released GTSM weights come from the master branch, which has no shift parameters.
        state = {k: v for k, v in _weights("gtsm").items() if "learnableTSM" not in k}
        self.assert_generator_matches(load_reference_generator(state, "gtsm"), "gtsm")

    def test_spectral_norm_v_recovered_when_not_stored(self):
        state = _weights("3d")
        prefix = "coarse_net.downsample_module.conv4.featureConv."
        w, u, v = (state[prefix + n] for n in ("weight_orig", "weight_u", "weight_v"))
        w_mat = w.reshape(w.shape[0], -1)
        sigma = u @ (w_mat @ v)
        v_new = recover_sn_v(w, u, w / sigma)
        self.assertAllClose(u @ (w_mat @ v_new), sigma, rtol=1e-5)
        for key in [k for k in state if k.endswith("weight_v")]:
            layer_prefix = key[: -len("weight_v")]
            weight, u = state[layer_prefix + "weight_orig"], state[layer_prefix + "weight_u"]
            sigma = u @ (weight.reshape(weight.shape[0], -1) @ state[key])
            state[layer_prefix + "weight"] = weight / sigma
            del state[key]
        self.assert_generator_matches(load_reference_generator(state, "3d"), "3d")

    def test_npz_path_and_bad_paths(self):
        self.assert_generator_matches(load_reference_generator(golden_path("lgtsm", "weights.npz")))
        with self.assertRaisesRegex(FileNotFoundError, "nope.pth: no such checkpoint"):
            load_reference_generator(os.path.join(self.get_temp_dir(), "nope.pth"))
        bad = os.path.join(self.get_temp_dir(), "weights.bin")
        open(bad, "wb").close()
        with self.assertRaisesRegex(ValueError, "weights.bin: unknown checkpoint type"):
            read_state_dict(bad)
        corrupt = os.path.join(self.get_temp_dir(), "corrupt.npz")
        with open(corrupt, "wb") as f:
            f.write(b"not a zip file")
        with self.assertRaisesRegex(ValueError, "corrupt.npz: cannot read .npz"):
            read_state_dict(corrupt)

    def test_pytorch_checkpoint_with_pickled_objects(self):
        if torch is None:
            self.skipTest("torch is not installed (pip install 'lgtsm-tf[torch]')")
        path = os.path.join(self.get_temp_dir(), "trainer.pth")
        state = {f"generator.{k}": torch.from_numpy(v) for k, v in _weights("lgtsm").items()}
        torch.save({"state_dict": state, "logger": PickledTrainerState(),
                    "config": {"name": "GatedTSM"}, "epoch": 135}, path)
        self.assert_generator_matches(load_reference_generator(path))
        corrupt = os.path.join(self.get_temp_dir(), "corrupt.pth")
        with open(corrupt, "wb") as f:
            f.write(b"\x00" * 64)
        with self.assertRaisesRegex(ValueError, "corrupt.pth: cannot read PyTorch checkpoint"):
            read_state_dict(corrupt)

    def test_cli_writes_keras_files_and_refuses_to_overwrite(self):
        out = os.path.join(self.get_temp_dir(), "gen.keras")
        disc = os.path.join(self.get_temp_dir(), "disc.keras")
        cmd = [sys.executable, os.path.join(REPO, "export", "convert_torch_checkpoint.py"),
               f"--checkpoint={golden_path('gtsm', 'weights.npz')}", "--variant=gtsm",
               f"--output={out}"]
        done = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
        self.assertEqual(done.returncode, 0, done.stderr[-2000:])
        self.assertIn("763,020 parameters", done.stdout)
        import lgtsm_tf.layers  # noqa: F401  (registers the layers)
        model = keras.saving.load_model(out)
        self.assert_generator_matches(model, "gtsm")
        again = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
        self.assertNotEqual(again.returncode, 0)
        self.assertIn("exists; pass --overwrite", again.stderr)
        # A generator-only file has no discriminator: nothing is written when one part fails.
        failed = subprocess.run(cmd + ["--overwrite", f"--discriminator_output={disc}"],
                                capture_output=True, text=True, cwd=REPO)
        self.assertNotEqual(failed.returncode, 0)
        self.assertIn("cannot infer nf", failed.stderr)
        self.assertFalse(os.path.exists(disc))

    def test_cli_user_errors_are_one_error_line(self):
        # Case 6: an `lgtsm-convert: error: <message>` line (the message may list problems on
        # the lines below it), no traceback, no output; --traceback shows the trace.
        tmp = self.get_temp_dir()
        weights = _weights("gtsm")
        missing_key = os.path.join(tmp, "missing_key.npz")
        np.savez(missing_key, **{k: v for k, v in weights.items()
                                 if ".conv2.featureConv." not in k})
        truncated = os.path.join(tmp, "truncated.npz")
        with open(golden_path("gtsm", "weights.npz"), "rb") as f:
            data = f.read()
        with open(truncated, "wb") as f:
            f.write(data[:len(data) // 2])
        out = os.path.join(tmp, "gen.keras")
        base = [sys.executable, os.path.join(REPO, "export", "convert_torch_checkpoint.py"),
                "--variant=gtsm", f"--output={out}"]
        good = f"--checkpoint={golden_path('gtsm', 'weights.npz')}"
        for args, message in [
                ([good, "--nf=8"], "cannot load reference gtsm generator (nf=8) from "),
                ([f"--checkpoint={missing_key}"], "cannot load reference gtsm generator (nf=16)"),
                ([f"--checkpoint={truncated}"], f"{truncated}: cannot read .npz: "),
                ([f"--checkpoint={tmp}/none.npz"], f"{tmp}/none.npz: no such checkpoint"),
                ([good], None)]:
            with self.subTest(args=args):
                if message is None:  # --output missing
                    done = subprocess.run(base[:2] + args, capture_output=True, text=True,
                                          cwd=REPO)
                    message = "--checkpoint and --output are required"
                else:
                    done = subprocess.run(base + args, capture_output=True, text=True, cwd=REPO)
                self.assertEqual(done.returncode, 1, done.stderr[-3000:])
                self.assertNotIn("Traceback", done.stderr)
                errors = [line for line in done.stderr.splitlines() if "error:" in line]
                self.assertEqual(len(errors), 1, done.stderr[-3000:])
                self.assertTrue(errors[0].startswith(f"lgtsm-convert: error: {message}"),
                                errors[0])
                self.assertFalse(os.path.exists(out))
        done = subprocess.run(base + [good, "--nf=8", "--traceback"], capture_output=True,
                              text=True, cwd=REPO)
        self.assertNotEqual(done.returncode, 0)
        self.assertIn("Traceback", done.stderr)


if __name__ == "__main__":
    tf.test.main()
