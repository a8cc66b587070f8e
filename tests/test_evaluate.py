"""Tests for lgtsm-evaluate and lgtsm_tf.evaluation (without PyTorch; see test_evaluate_torch)."""

import csv
import json
import math
import os
import shutil
import sys
import tempfile
from unittest import mock

import numpy as np
from absl.testing import absltest, parameterized
from PIL import Image
from scipy import ndimage

from lgtsm_tf import evaluate as evaluate_cli
from lgtsm_tf import video_io as vio
from lgtsm_tf.evaluation import evaluate, frechet, inputs, report, temporal, video
from tests.testing import TestCase, run_cli

T, H, W = 8, 48, 64
LEVEL = (10 / 255) ** 2  # MSE of a +10 error on [0, 1] values
HOLE = (slice(12, 36), slice(16, 40))  # 24 x 24 of 48 x 64


def texture(seed, height=H, width=W, low=40, high=200):
    """Smooth uint8 RGB texture in [low, high] (room for +-10 and +20 without clipping)."""
    rng = np.random.default_rng(seed)
    x = ndimage.gaussian_filter(rng.random((height, width, 3)), (2.5, 2.5, 0))
    x = (x - x.min()) / (x.max() - x.min())
    return np.rint(low + (high - low) * x).astype(np.uint8)


def static_video(seed=0, frames=T):
    return np.stack([texture(seed)] * frames)


def moving_video(seed=0, frames=T):
    """Content moving up-left by one pixel per frame (crops of a larger texture)."""
    big = texture(seed, H + frames, W + frames)
    return np.stack([big[t:t + H, t:t + W] for t in range(frames)])


def hole_masks(frames=T, empty=()):
    masks = np.zeros((frames, H, W), np.uint8)
    masks[(slice(None),) + HOLE] = 1
    for t in empty:
        masks[t] = 0
    return masks


class EvalTestCase(TestCase):

    def setUp(self):
        super().setUp()
        self.dir = tempfile.mkdtemp(prefix="lgtsm_eval_")
        self.addCleanup(shutil.rmtree, self.dir, ignore_errors=True)

    def p(self, *parts):
        return os.path.join(self.dir, *parts)

    def frames(self, name, frames):
        path = self.p(name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        vio.write_frame_folder(path, frames)
        return path

    def masks(self, name, masks):
        path = self.p(name)
        os.makedirs(path)
        for i, m in enumerate(masks):
            Image.fromarray((m * 255).astype(np.uint8)).save(os.path.join(path, f"{i:05d}.png"))
        return path

    def evaluate(self, truth, result, masks=None, **kwargs):
        kwargs.setdefault("warp_error", False)
        gt = self.frames("gt", truth)
        res = self.frames("res", result)
        mask_dir = None if masks is None else self.masks("masks", masks)
        return evaluate(gt, res, mask_dir, **kwargs)


class FrameMetricsTest(EvalTestCase):

    @parameterized.named_parameters(("uncapped", None, math.inf), ("capped", 100.0, 100.0))
    def test_identical_videos(self, max_psnr, expected_psnr):
        truth = moving_video()
        rep = self.evaluate(truth, truth, hole_masks(), max_psnr=max_psnr)
        per_frame = rep["videos"][0]["per_frame"]
        self.assertEqual(per_frame["mse"], [0.0] * T)
        self.assertEqual(per_frame["psnr"], [expected_psnr] * T)
        self.assertEqual(per_frame["mse_hole"], [0.0] * T)
        self.assertEqual(per_frame["psnr_hole"], [expected_psnr] * T)
        self.assertAllClose(per_frame["ssim"], [1.0] * T, atol=1e-6)
        self.assertEqual(rep["overall"]["mse"], 0.0)
        self.assertEqual(rep["overall"]["psnr"], expected_psnr)
        self.assertEqual(rep["overall"]["psnr_hole"], expected_psnr)
        self.assertEqual((rep["overall"]["videos"], rep["overall"]["frames"]), (1, T))
        self.assertIn("smaller than the 65x65 window", rep["skipped"]["ssim_field"])
        self.assertNotIn("ssim_field", rep["metrics"])

    def test_uniform_error_everywhere(self):
        truth = moving_video()
        rep = self.evaluate(truth, truth + 10, hole_masks())
        expected_psnr = 20 * math.log10(25.5)  # 10*log10(1 / (10/255)^2) = 28.1308... dB
        per_frame = rep["videos"][0]["per_frame"]
        for name in ("mse", "mse_hole"):
            self.assertAllClose(per_frame[name], [LEVEL] * T, rtol=1e-6, atol=0)
        for name in ("psnr", "psnr_hole"):
            self.assertAllClose(per_frame[name], [expected_psnr] * T, rtol=1e-6, atol=0)
        self.assertAllClose(rep["overall"]["psnr"], expected_psnr, rtol=1e-6, atol=0)
        self.assertAllClose(rep["overall"]["mse"], LEVEL, rtol=1e-6, atol=0)
        self.assertAllClose(per_frame["mse_known"], [LEVEL] * T, rtol=1e-6, atol=0)

    def test_error_only_in_the_hole(self):
        truth = static_video(1)
        masks = hole_masks()
        result = truth.copy()
        result[(slice(None),) + HOLE] += 10
        rep = self.evaluate(truth, result, masks)
        fraction = 24 * 24 / (H * W)
        per_frame = rep["videos"][0]["per_frame"]
        self.assertAllClose(per_frame["mse"], [LEVEL * fraction] * T, rtol=1e-6, atol=0)
        self.assertAllClose(per_frame["psnr"], [-10 * math.log10(LEVEL * fraction)] * T,
                            rtol=1e-6, atol=0)
        self.assertAllClose(per_frame["mse_hole"], [LEVEL] * T, rtol=1e-6, atol=0)
        self.assertAllClose(per_frame["psnr_hole"], [20 * math.log10(25.5)] * T, rtol=1e-6,
                            atol=0)
        self.assertEqual(per_frame["mse_known"], [0.0] * T)
        self.assertEqual(per_frame["hole_fraction"], [fraction] * T)

    def test_hole_metrics_ignore_errors_outside_the_hole(self):
        truth = static_video(2)
        masks = hole_masks(empty=(3, 6))  # two frames without a hole
        result = truth.copy()
        outside = np.ones((T, H, W), bool)
        outside[(slice(None),) + HOLE] = False
        result[outside] -= 30
        rep = self.evaluate(truth, result, masks)
        per_frame = rep["videos"][0]["per_frame"]
        with_hole = [t for t in range(T) if t not in (3, 6)]
        self.assertEqual([per_frame["mse_hole"][t] for t in with_hole], [0.0] * 6)
        self.assertEqual([per_frame["psnr_hole"][t] for t in with_hole], [math.inf] * 6)
        for name in ("mse_hole", "psnr_hole", "ssim_hole"):
            self.assertTrue(math.isnan(per_frame[name][3]) and math.isnan(per_frame[name][6]))
        self.assertEqual(rep["videos"][0]["counted_frames"]["mse_hole"], 6)
        self.assertEqual(rep["overall"]["mse_hole"], 0.0)  # frames without holes skipped
        self.assertGreater(min(per_frame["mse"]), 0.01)

    def test_no_uint8_wraparound(self):
        truth = np.full((T, H, W, 3), 5, np.uint8)
        result = np.full((T, H, W, 3), 250, np.uint8)  # 5 - 250 wraps to 11 in uint8
        rep = self.evaluate(truth, result)
        self.assertAllClose(rep["overall"]["mse"], (245 / 255) ** 2, rtol=1e-5, atol=0)

    def test_composite_pastes_known_pixels(self):
        truth = static_video(3)
        masks = hole_masks()
        result = np.full_like(truth, 255)  # garbage everywhere
        plain = self.evaluate(truth, result, masks)
        shutil.rmtree(self.p("gt")), shutil.rmtree(self.p("res")), shutil.rmtree(self.p("masks"))
        composited = self.evaluate(truth, result, masks, composite=True)
        hole = composited["videos"][0]["per_frame"]
        fraction = 24 * 24 / (H * W)
        self.assertAllClose(hole["mse"], np.array(hole["mse_hole"]) * fraction, rtol=1e-5)
        self.assertEqual(hole["mse_known"], plain["videos"][0]["per_frame"]["mse_known"])
        self.assertGreater(min(hole["mse_known"]), 0.05)
        self.assertAllClose(hole["mse_hole"], plain["videos"][0]["per_frame"]["mse_hole"])
        with self.assertRaisesRegex(ValueError, "needs masks"):
            evaluate(self.p("gt"), self.p("res"), composite=True)

    def test_field_ssim_is_the_uniform_65_window_with_sample_covariance(self):
        # On a 65 x 65 frame only the centre pixel survives skimage's border crop, and its
        # 65 x 65 uniform window is the whole frame: SSIM from global sample statistics.
        a = texture(4, 65, 65)
        noise = np.random.default_rng(5).normal(0, 12, a.shape)
        b = np.clip(np.rint(a + noise), 0, 255).astype(np.uint8)
        c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
        expected = []
        for ch in range(3):
            x, y = a[..., ch].ravel().astype(np.float64), b[..., ch].ravel().astype(np.float64)
            cov = np.cov(x, y)  # ddof 1: sample covariance
            mx, my = x.mean(), y.mean()
            expected.append((2 * mx * my + c1) * (2 * cov[0, 1] + c2)
                            / ((mx ** 2 + my ** 2 + c1) * (cov[0, 0] + cov[1, 1] + c2)))
        self.assertAllClose(video.field_ssim(a, b), np.mean(expected), rtol=1e-9, atol=0)
        self.assertLess(np.mean(expected), 0.99)


class WarpErrorTest(EvalTestCase):

    def test_static_video_is_zero_and_flicker_is_larger(self):
        truth = static_video(6)
        flicker = truth.copy()
        flicker[1::2] += 20
        steady = self.evaluate(truth, truth, warp_error=True)
        self.assertEqual(steady["overall"]["warp_error"], 0.0)
        self.assertEqual(steady["overall"]["warp_error_ground_truth"], 0.0)
        shutil.rmtree(self.p("gt")), shutil.rmtree(self.p("res"))
        rep = self.evaluate(truth, flicker, warp_error=True)
        per_frame = rep["videos"][0]["per_frame"]["warp_error"]
        self.assertAllClose(per_frame[:-1], [(20 / 255) ** 2] * (T - 1), rtol=1e-9)
        self.assertTrue(math.isnan(per_frame[-1]))  # the last frame has no next frame
        self.assertAllClose(rep["overall"]["warp_error"], (20 / 255) ** 2, rtol=1e-9)

    def test_moving_video_uses_the_ground_truth_flow(self):
        truth = moving_video(7, frames=3)
        flicker = truth.copy()
        flicker[1::2] += 20
        steady = temporal.pair_errors(truth[0], truth[1], truth[0], truth[1])
        self.assertLess(steady["warp_error"], 1e-6)  # TV-L1 recovers the 1-pixel motion
        flickering = temporal.pair_errors(truth[0], truth[1], flicker[0], flicker[1])
        self.assertAllClose(flickering["warp_error"], (20 / 255) ** 2, rtol=1e-3)
        flow = temporal.PairFlow(truth[0], truth[1])
        self.assertAllClose(np.median(flow.forward.reshape(-1, 2), axis=0), [-1.0, -1.0],
                            atol=0.01)
        self.assertGreater(flow.valid.mean(), 0.8)

    def test_hole_only_warp_error(self):
        truth = static_video(8)
        masks = hole_masks()
        result = truth.copy()
        result[1::2][(slice(None),) + HOLE] += 20  # flicker inside the hole only
        rep = self.evaluate(truth, result, masks, warp_error=True)
        fraction = 24 * 24 / (H * W)
        overall = rep["overall"]
        self.assertAllClose(overall["warp_error_hole"], (20 / 255) ** 2, rtol=1e-9)
        self.assertAllClose(overall["warp_error"], (20 / 255) ** 2 * fraction, rtol=1e-9)
        self.assertEqual(overall["warp_error_ground_truth"], 0.0)

    def test_occlusion_rule(self):
        zero = np.zeros((8, 8, 2), np.float32)
        self.assertFalse(temporal.occlusion_mask(zero, zero).any())
        forward = np.zeros_like(zero)
        forward[..., 0] = 2.0  # moves right by 2, but the backward flow says "no motion"
        self.assertTrue(temporal.occlusion_mask(forward, zero).all())
        self.assertFalse(temporal.occlusion_mask(forward, -forward).any())


class FrechetTest(TestCase):

    def test_known_distance(self):
        # |mu1 - mu2|^2 = 5; traces: (1 + 4 - 2*2) + (4 + 9 - 2*6) = 2
        value = frechet.frechet_distance([0, 0], np.diag([1.0, 4.0]), [1, 2],
                                         np.diag([4.0, 9.0]))
        self.assertAllClose(value, 7.0, rtol=1e-12)

    @parameterized.parameters((40, 30, 8), (5, 7, 16))
    def test_features_route_equals_the_sqrtm_route(self, n, m, dim):
        rng = np.random.default_rng(n)
        real = rng.normal(size=(n, dim))
        fake = rng.normal(size=(m, dim)) @ rng.normal(size=(dim, dim)) * 0.5 + 0.3
        expected = frechet.frechet_distance(*frechet.gaussian(real), *frechet.gaussian(fake))
        self.assertAllClose(frechet.feature_distance(real, fake), expected, rtol=1e-6)

    def test_same_features_give_zero(self):
        features = np.random.default_rng(0).normal(size=(5, 16))
        self.assertAllClose(frechet.feature_distance(features, features), 0.0, atol=1e-9)
        self.assertAllClose(frechet.feature_distance(features, features + 1.0), 16.0, rtol=1e-9)
        with self.assertRaisesRegex(ValueError, "N >= 2"):
            frechet.feature_distance(features[:1], features[:1])


class InputsTest(EvalTestCase):

    def test_folders_of_videos_matched_by_name(self):
        truth, other = moving_video(9), moving_video(10)
        self.frames("gt/b_clip", truth)
        self.frames("res/b_clip", truth)
        vio.write_video(self.p("gt", "a10.mp4"), other, 10)
        shutil.copy(self.p("gt", "a10.mp4"), self.p("res", "a10.mp4"))
        self.frames("gt/a9", other)
        self.frames("res/a9", other)
        with open(self.p("res", "notes.txt"), "w") as f:
            f.write("ignored")
        rep = evaluate(self.p("gt"), self.p("res"), warp_error=False)
        self.assertEqual([v["name"] for v in rep["videos"]], ["a9", "a10", "b_clip"])
        self.assertEqual(rep["overall"]["mse"], 0.0)  # same mp4 decodes identically
        os.rename(self.p("res", "a10.mp4"), self.p("res", "c.mp4"))
        with self.assertRaisesRegex(ValueError, r"no result in .*res for: a10; no ground truth "
                                                r"in .*gt for: c"):
            evaluate(self.p("gt"), self.p("res"))
        with self.assertRaisesRegex(ValueError, "is one video but --ground_truth"):
            evaluate(self.p("gt"), self.p("res", "b_clip"))

    def test_masks_matched_by_name(self):
        truth = static_video(11)
        self.frames("gt/x", truth)
        self.frames("res/x", truth)
        os.makedirs(self.p("m"))
        Image.fromarray(hole_masks()[0] * 255).save(self.p("m", "x.png"))  # one image, all frames
        Image.fromarray(hole_masks()[0] * 255).save(self.p("m", "unused.png"))
        rep = evaluate(self.p("gt"), self.p("res"), self.p("m"), warp_error=False)
        self.assertEqual(rep["videos"][0]["counted_frames"]["mse_hole"], T)
        self.assertEqual(rep["settings"]["unused_masks"], ["unused"])
        os.remove(self.p("m", "x.png"))
        with self.assertRaisesRegex(ValueError, r"no masks in .*m for: x"):
            evaluate(self.p("gt"), self.p("res"), self.p("m"))

    def test_mismatched_inputs(self):
        truth = static_video(12)
        gt = self.frames("gt", truth)
        short = self.frames("short", truth[:7])
        small = self.frames("small", truth[:, :40])
        with self.assertRaisesRegex(ValueError, f"frame count differs: ground truth {gt} has 8 "
                                                f"frames, result {short} has 7"):
            evaluate(gt, short)
        with self.assertRaisesRegex(ValueError, f"frame count differs: ground truth {short} has "
                                                f"7 frames, result {gt} has 8"):
            evaluate(short, gt)
        with self.assertRaisesRegex(ValueError, f"frame size differs: ground truth {gt} is 64x48 "
                                                rf"\(WxH\), result {small} is 64x40"):
            evaluate(gt, small)
        masks = self.masks("masks", hole_masks()[:5])
        with self.assertRaisesRegex(ValueError, f"mask count differs: masks {masks} has 5 masks"):
            evaluate(gt, gt, masks)
        # Streams without a frame count (mkv): the mismatch is found while reading.
        vio.write_video(self.p("a.mkv"), truth, 10)
        vio.write_video(self.p("b.mkv"), truth[:6], 10)
        video_a = inputs.VideoInputs("a", self.p("a.mkv"), self.p("b.mkv"))
        with self.assertRaisesRegex(ValueError, "frame count differs: .*a.mkv has 8 frames, "
                                                "result .*b.mkv has 6"):
            list(inputs.iter_frames(video_a))
        with self.assertRaisesRegex(FileNotFoundError, "no such file or directory "
                                                       r"\(--results\)"):
            evaluate(gt, self.p("missing"))


class ReportAndCliTest(EvalTestCase):

    def _cli(self, *args):
        return run_cli(evaluate_cli, "lgtsm-evaluate", *args)

    def test_outputs_are_written_and_not_overwritten(self):
        truth = moving_video(13, frames=4)
        gt = self.frames("gt", truth)
        res = self.frames("res", truth + 10)
        masks = self.masks("masks", hole_masks(frames=4, empty=(2,)))
        out = self.p("report")
        common = [f"--ground_truth={gt}", f"--results={res}", f"--masks={masks}",
                  f"--output_dir={out}"]
        code, stdout, stderr = self._cli(*common)
        self.assertEqual((code, stderr), (0, ""))
        self.assertIn("skipped lpips: --lpips_weights not given", stdout)
        self.assertIn("skipped vfid: --i3d_weights not given", stdout)
        self.assertCountEqual(os.listdir(out), report.OUTPUT_NAMES)  # no temporary left

        with open(os.path.join(out, "metrics.json")) as f:
            rep = json.load(f, parse_constant=lambda c: self.fail(f"non-JSON constant {c}"))
        self.assertAllClose(rep["overall"]["mse"], LEVEL, rtol=1e-6)
        self.assertIsNone(rep["videos"][0]["per_frame"]["psnr_hole"][2])  # no hole: null
        self.assertIsNone(rep["videos"][0]["per_frame"]["warp_error"][-1])
        self.assertEqual(rep["settings"]["ssim"]["size"], 11)
        self.assertEqual(rep["settings"]["warp_error"]["flow_parameters"]["attachment"], 15.0)
        self.assertIn("lpips", rep["skipped"])
        self.assertEqual(rep["overall"]["frames"], 4)
        with open(os.path.join(out, "metrics.csv")) as f:
            rows = list(csv.DictReader(f))
        self.assertLen(rows, 4)
        self.assertEqual(rows[2]["psnr_hole"], "")
        self.assertAllClose(float(rows[0]["mse"]), LEVEL, rtol=1e-6)
        with Image.open(os.path.join(out, "psnr_per_frame.png")) as plot:
            self.assertEqual(plot.mode, "RGB")
            self.assertGreater(plot.size[0], 500)
            self.assertGreater(len(np.unique(np.asarray(plot).reshape(-1, 3), axis=0)), 3)

        before = {n: open(os.path.join(out, n), "rb").read() for n in report.OUTPUT_NAMES}
        code, _, stderr = self._cli(*common, "--max_psnr=100")
        self.assertEqual(code, 1)
        self.assertIn("metrics.json, ", stderr)
        self.assertIn("already exists (pass overwrite=True / --overwrite", stderr)
        self.assertEqual(before, {n: open(os.path.join(out, n), "rb").read()
                                  for n in report.OUTPUT_NAMES})
        code, _, stderr = self._cli(*common, "--max_psnr=100", "--overwrite", "--nowarp_error")
        self.assertEqual((code, stderr), (0, ""))
        with open(os.path.join(out, "metrics.json")) as f:
            self.assertEqual(json.load(f)["settings"]["max_psnr"], 100.0)

    def test_identical_videos_report_inf_in_json_and_csv(self):
        truth = static_video(14, frames=3)
        gt, res = self.frames("gt", truth), self.frames("res", truth)
        code, _, stderr = self._cli(f"--ground_truth={gt}", f"--results={res}",
                                    f"--output_dir={self.p('out')}", "--nowarp_error")
        self.assertEqual((code, stderr), (0, ""))
        with open(self.p("out", "metrics.json")) as f:
            rep = json.load(f)
        self.assertEqual(rep["overall"]["psnr"], "inf")
        self.assertEqual(rep["overall"]["mse"], 0.0)
        with open(self.p("out", "metrics.csv")) as f:
            self.assertEqual([r["psnr"] for r in csv.DictReader(f)], ["inf"] * 3)

    def test_errors_leave_no_output(self):
        truth = static_video(15, frames=3)
        gt, res = self.frames("gt", truth), self.frames("res", truth[:2])
        code, _, stderr = self._cli(f"--ground_truth={gt}", f"--results={res}",
                                    f"--output_dir={self.p('out')}")
        self.assertEqual(code, 1)
        self.assertIn(f"lgtsm-evaluate: error: frame count differs: ground truth {gt} has 3 "
                      f"frames, result {res} has 2", stderr)
        self.assertFalse(os.path.exists(self.p("out")) and os.listdir(self.p("out")))
        code, _, stderr = self._cli(f"--ground_truth={gt}", f"--results={gt}",
                                    f"--output_dir={self.p('gt', 'report')}")
        self.assertEqual(code, 1)
        self.assertIn("is inside the input folder", stderr)

    def test_weights_without_torch_fail_clearly(self):
        truth = static_video(16, frames=2)
        gt = self.frames("gt", truth)
        with mock.patch.dict(sys.modules, {"torch": None}):
            code, _, stderr = self._cli(f"--ground_truth={gt}", f"--results={gt}",
                                        f"--output_dir={self.p('out')}",
                                        "--lpips_weights=lpips.pth")
        self.assertEqual(code, 1)
        self.assertIn("--lpips_weights was given but PyTorch is not importable", stderr)
        self.assertFalse(os.path.exists(self.p("out")))


if __name__ == "__main__":
    absltest.main()
