"""LPIPS and VFID in lgtsm-evaluate, run with weights GENERATED here (random initialisation).

The real LPIPS / I3D weights cannot be downloaded on the development machines, so these tests
check the code paths, the weight-file layouts and the arithmetic against independent formulas,
not agreement with published numbers. Skipped with a reason when PyTorch is not installed.
"""

import os
import shutil
import tempfile
import unittest

import numpy as np
import tensorflow as tf
from absl.testing import absltest

from lgtsm_tf import video_io as vio
from tests.testing import TestCase

try:
    import torch
    import torch.nn.functional as F

    from lgtsm_tf.evaluation import i3d, lpips
    TORCH_MISSING = None
except ImportError as e:  # the optional [torch] extra is not installed
    TORCH_MISSING = f"PyTorch not importable ({e}); LPIPS/VFID need the lgtsm-tf[torch] extra"

from lgtsm_tf.evaluation import evaluate, frechet
from tests.test_evaluate import texture


def small_video(seed, frames=4, size=32):
    """uint8 [frames, size, size, 3], content moving one pixel per frame (I3D is costly)."""
    big = texture(seed, size + frames, size + frames)
    return np.stack([big[t:t + size, t:t + size] for t in range(frames)])


def lpips_reference(state, a, b):
    """LPIPS v0.1 written out with torch.nn.functional from a state_dict (a, b in [-1, 1])."""
    shift = torch.tensor([-0.030, -0.088, -0.188]).view(1, 3, 1, 1)
    scale = torch.tensor([0.458, 0.448, 0.450]).view(1, 3, 1, 1)

    def features(x):
        x = (x - shift) / scale
        out = []
        convs = ((0, 1, 4, 2, False), (3, 2, 1, 2, True), (6, 3, 1, 1, True), (8, 4, 1, 1, False),
                 (10, 5, 1, 1, False))
        for index, part, stride, padding, pool in convs:
            if pool:
                x = F.max_pool2d(x, 3, 2)
            w = state[f"net.slice{part}.{index}.weight"]
            bias = state[f"net.slice{part}.{index}.bias"]
            x = F.relu(F.conv2d(x, w, bias, stride=stride, padding=padding))
            out.append(x)
        return out

    total = 0
    for k, (fa, fb) in enumerate(zip(features(a), features(b))):
        fa = fa / (fa.pow(2).sum(1, keepdim=True).sqrt() + 1e-10)
        fb = fb / (fb.pow(2).sum(1, keepdim=True).sqrt() + 1e-10)
        weight = state[f"lin{k}.model.1.weight"]
        total = total + ((fa - fb) ** 2 * weight.view(1, -1, 1, 1)).sum(1).mean((1, 2))
    return total


@unittest.skipIf(TORCH_MISSING, TORCH_MISSING or "")
class LpipsTest(TestCase):

    def setUp(self):
        super().setUp()
        self.dir = tempfile.mkdtemp(prefix="lgtsm_lpips_")
        self.addCleanup(shutil.rmtree, self.dir, ignore_errors=True)
        self.path = os.path.join(self.dir, "lpips_random.pth")
        lpips.save_random(self.path, seed=1)
        self.metric = lpips.LPIPSMetric(lpips.load(self.path))
        self.a = np.stack([texture(1, 48, 64), texture(2, 48, 64)])
        self.b = np.stack([texture(3, 48, 64), np.clip(self.a[1].astype(int) + 25, 0, 255)
                           .astype(np.uint8)])

    def test_matches_the_formula_and_is_a_distance(self):
        state = torch.load(self.path, weights_only=True)

        def to(x):
            return torch.from_numpy(x.astype(np.float32)).permute(0, 3, 1, 2) / 127.5 - 1

        expected = lpips_reference(state, to(self.a), to(self.b)).numpy()
        got = self.metric(self.a, self.b)
        self.assertAllClose(got, expected, rtol=1e-5)
        self.assertAllEqual(self.metric(self.a, self.a), [0.0, 0.0])
        self.assertAllClose(self.metric(self.b, self.a), got, rtol=1e-5)
        self.assertGreater(got[0], got[1])  # unrelated texture vs. a brightness shift
        self.assertGreater(got[1], 0.0)

    def test_lin_file_plus_torchvision_alexnet_file(self):
        state = torch.load(self.path, weights_only=True)
        lin = {k: v for k, v in state.items() if k.startswith("lin")}
        backbone = {}
        for k, v in state.items():
            if k.startswith("net.slice"):
                index, name = k.split(".")[2:]
                backbone[f"features.{index}.{name}"] = v
        backbone["classifier.1.weight"] = torch.zeros(4096, 9216)  # ignored
        lin_path, alex_path = (os.path.join(self.dir, n) for n in ("alex.pth", "alexnet.pth"))
        torch.save(lin, lin_path)
        torch.save({"state_dict": backbone}, alex_path)
        split = lpips.LPIPSMetric(lpips.load(f"{lin_path},{alex_path}"))
        self.assertAllEqual(split(self.a, self.b), self.metric(self.a, self.b))
        with self.assertRaisesRegex(ValueError, r"weights do not fit the network \(--lpips_weights"
                                                r"\): missing 10 key\(s\): net.slice1.0.weight"):
            lpips.load(lin_path)
        bad = dict(state)
        bad["lin0.model.1.weight"] = torch.zeros(1, 65, 1, 1)
        torch.save(bad, lin_path)
        with self.assertRaisesRegex(ValueError, "shape mismatch: lin0.model.1.weight"):
            lpips.load(lin_path)
        with open(lin_path, "wb") as f:
            f.write(b"not a torch file")
        with self.assertRaisesRegex(ValueError, "cannot read PyTorch weights"):
            lpips.load(lin_path)


def tf_same_conv3d(x, weight, stride):
    """TensorFlow's SAME 3D convolution of x [B, C, T, H, W] with a torch kernel."""
    x_tf = tf.transpose(tf.constant(x.numpy()), [0, 2, 3, 4, 1])
    k_tf = tf.transpose(tf.constant(weight.numpy()), [2, 3, 4, 1, 0])
    y = tf.nn.conv3d(x_tf, k_tf, [1, *stride, 1], "SAME")
    return tf.transpose(y, [0, 4, 1, 2, 3]).numpy()


@unittest.skipIf(TORCH_MISSING, TORCH_MISSING or "")
class I3dVfidTest(TestCase):

    def setUp(self):
        super().setUp()
        self.dir = tempfile.mkdtemp(prefix="lgtsm_i3d_")
        self.addCleanup(shutil.rmtree, self.dir, ignore_errors=True)

    def test_same_padding_is_tensorflows(self):
        torch.manual_seed(0)
        unit = i3d.Unit3D(3, 4, (7, 7, 7), (2, 2, 2), batch_norm=False, relu=False)
        for shape in ((1, 3, 8, 17, 20), (1, 3, 5, 16, 9)):
            x = torch.rand(shape)
            with torch.no_grad():
                self.assertAllClose(unit(x).numpy(), tf_same_conv3d(x, unit.conv3d.weight,
                                                                    (2, 2, 2)), atol=1e-5)
            pooled = i3d.MaxPoolSame((3, 3, 3), (2, 2, 2))(x).numpy()
            expected = tf.nn.max_pool3d(tf.transpose(tf.constant(x.numpy()), [0, 2, 3, 4, 1]),
                                        3, 2, "SAME")
            self.assertAllEqual(pooled, tf.transpose(expected, [0, 4, 1, 2, 3]).numpy())

    def test_checkpoint_layout(self):
        path = os.path.join(self.dir, "i3d.pt")
        i3d.save_random(path, num_classes=157)
        state = torch.load(path, weights_only=True)
        self.assertIn("Mixed_5c.b3b.bn.running_var", state)
        self.assertEqual(tuple(state["logits.conv3d.weight"].shape), (157, 1024, 1, 1, 1))
        old_style = {k: v for k, v in state.items()
                     if not k.endswith("num_batches_tracked") and not k.startswith("logits.")}
        torch.save(old_style, path)
        model = i3d.load(path)  # no logits, no num_batches_tracked: still loads
        features = i3d.I3DFeatures(model)(small_video(0))
        self.assertEqual(features.shape, (i3d.FEATURE_DIM,))
        self.assertTrue(np.isfinite(features).all())
        del old_style["Mixed_4b.b0.conv3d.weight"]
        torch.save(old_style, path)
        with self.assertRaisesRegex(ValueError, "missing 1 key.*Mixed_4b.b0.conv3d.weight"):
            i3d.load(path)

    def test_evaluate_with_generated_weights(self):
        lpips_path = os.path.join(self.dir, "lpips.pth")
        i3d_path = os.path.join(self.dir, "i3d.pt")
        lpips.save_random(lpips_path)
        i3d.save_random(i3d_path)
        gt, res = os.path.join(self.dir, "gt"), os.path.join(self.dir, "res")
        os.makedirs(gt), os.makedirs(res)
        for k in range(3):
            truth = small_video(20 + k)
            vio.write_frame_folder(os.path.join(gt, f"v{k}"), truth)
            vio.write_frame_folder(os.path.join(res, f"v{k}"),
                                   np.clip(truth.astype(int) + 12 * (k + 1), 0, 255)
                                   .astype(np.uint8))
        recorded = []
        features = i3d.I3DFeatures(i3d.load(i3d_path))

        def recording(frames):
            recorded.append(features(frames))
            return recorded[-1]

        networks = (lpips.LPIPSMetric(lpips.load(lpips_path)), recording)
        rep = evaluate(gt, res, lpips_weights=lpips_path, i3d_weights=i3d_path,
                       warp_error=False, networks=networks)
        self.assertNotIn("lpips", rep["skipped"])
        self.assertNotIn("vfid", rep["skipped"])
        self.assertLen(rep["videos"][0]["per_frame"]["lpips"], 4)
        self.assertGreater(rep["overall"]["lpips"], 0.0)
        self.assertGreater(rep["overall"]["vfid"], 0.0)
        self.assertEqual(rep["settings"]["vfid"]["weights"], i3d_path)
        # VFID is the Frechet distance of the per-video I3D features (ground truth, result, ...).
        self.assertLen(recorded, 6)
        self.assertAllClose(rep["overall"]["vfid"],
                            frechet.feature_distance(recorded[0::2], recorded[1::2]), rtol=1e-9)
        self.assertAllClose(frechet.feature_distance(recorded[0::2], recorded[0::2]), 0.0,
                            atol=1e-9)
        # The same path through the CLI-level loader.
        loaded = evaluate(os.path.join(gt, "v1"), os.path.join(res, "v1"),
                          lpips_weights=lpips_path, warp_error=False)
        self.assertEqual(loaded["videos"][0]["per_frame"]["lpips"],
                         rep["videos"][1]["per_frame"]["lpips"])
        one = evaluate(os.path.join(gt, "v0"), os.path.join(res, "v0"), warp_error=False,
                       networks=(None, lambda frames: np.zeros(i3d.FEATURE_DIM)))
        self.assertIn("VFID needs at least 2 videos", one["skipped"]["vfid"])
        self.assertIn("--lpips_weights not given", one["skipped"]["lpips"])

if __name__ == "__main__":
    absltest.main()
