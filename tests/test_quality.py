"""Classical baselines and benchmarks/quality.py on tiny clips with known answers."""

import contextlib
import importlib.util
import io
import json
import os
import tempfile
import unittest

import numpy as np
from absl.testing import parameterized

from benchmarks import quality
from lgtsm_tf.evaluation import baselines
from lgtsm_tf.video_io import VideoWriter
from tests.testing import TestCase

HAS_CV2 = importlib.util.find_spec("cv2") is not None
NEEDS_CV2 = "opencv-python-headless is not installed (pip install -e .[quality])"


def gradient_clip(frames=5, height=24, width=32):
    """uint8 [T, H, W, 3]: a smooth horizontal ramp moving right by one pixel per frame."""
    cols = np.arange(width)[None, None, :] + np.arange(frames)[:, None, None]
    ramp = (cols * 255 // (width + frames)).astype(np.uint8)
    clip = np.repeat(ramp[..., None], 3, axis=-1)
    return np.broadcast_to(clip, (frames, height, width, 3)).copy()


def box_holes(frames=5, height=24, width=32, top=8, left=10, size=6, move=0):
    holes = np.zeros((frames, height, width), bool)
    for t in range(frames):
        holes[t, top:top + size, left + move * t:left + move * t + size] = True
    return holes


class BaselinesTest(TestCase):

    @parameterized.parameters("black", "mean", "temporal", "telea", "ns")
    def test_known_pixels_are_kept(self, name):
        if name in ("telea", "ns", "temporal") and not HAS_CV2:
            self.skipTest(NEEDS_CV2)
        rng = np.random.default_rng(0)
        frames = rng.integers(0, 256, (4, 16, 20, 3), dtype=np.uint8)
        holes = rng.random((4, 16, 20)) < 0.3
        out = baselines.METHODS[name](frames, holes)
        self.assertEqual(out.dtype, np.uint8)
        np.testing.assert_array_equal(out[~holes], frames[~holes])

    def test_black_and_mean_fill(self):
        frames = np.zeros((2, 4, 4, 3), np.uint8)
        frames[0] = 200
        frames[1, :, :2] = 10
        frames[1, :, 2:] = 30
        holes = np.zeros((2, 4, 4), bool)
        holes[:, 0, 0] = True
        self.assertEqual(baselines.black(frames, holes)[0, 0, 0].tolist(), [0, 0, 0])
        mean = baselines.mean_colour(frames, holes)
        self.assertEqual(mean[0, 0, 0].tolist(), [200] * 3)
        # frame 1: known = 7 pixels at 10 (left half minus the hole) and 8 at 30 -> 20.67
        self.assertEqual(mean[1, 0, 0].tolist(), [21] * 3)

    def test_nearest_known_index(self):
        holes = np.array([[1], [0], [1], [1], [1], [0]], bool)[:, :, None]  # [T, 1, 1]
        index = baselines.nearest_known_index(holes)[:, 0, 0]
        # frame 0 -> 1; 2 -> 1; 3 -> 1 (tie between 1 and 5? no: |3-1| = 2 < |5-3| = 2 tie ->
        # earlier); 4 -> 5; known frames map to themselves
        self.assertEqual(index.tolist(), [1, 1, 1, 1, 5, 5])
        self.assertEqual(baselines.nearest_known_index(np.ones((3, 1, 1), bool)).ravel().tolist(),
                         [-1, -1, -1])

    def test_temporal_copy_restores_a_static_scene(self):
        frames = gradient_clip()
        frames[:] = frames[0]  # static camera
        holes = box_holes(move=3)  # the hole moves, so every pixel is seen somewhere
        out = baselines.temporal_copy(frames, holes)
        np.testing.assert_array_equal(out, frames)

    @unittest.skipUnless(HAS_CV2, NEEDS_CV2)
    def test_telea_interpolates_a_smooth_ramp(self):
        frames = gradient_clip()
        holes = box_holes()
        step = 255 / (32 + 5)  # the ramp's rise per column
        err = lambda method: np.abs(method(frames, holes).astype(float) - frames)[holes].mean()
        self.assertLess(err(baselines.telea), step)  # within one column of the true ramp
        self.assertLess(err(baselines.navier_stokes), step)
        self.assertGreater(err(baselines.mean_colour), 3 * step)

    def test_bad_shapes_are_refused(self):
        with self.assertRaisesRegex(ValueError, "holes must be"):
            baselines.black(np.zeros((2, 4, 4, 3), np.uint8), np.zeros((2, 4, 5), bool))
        with self.assertRaisesRegex(ValueError, "frames must be uint8"):
            baselines.black(np.zeros((2, 4, 4, 3), np.float32), np.zeros((2, 4, 4), bool))


class QualityMeasuresTest(TestCase):

    def test_flicker_is_zero_for_the_truth_and_positive_for_a_frozen_fill(self):
        truth = gradient_clip().astype(np.float32) / 255
        holes = box_holes()
        self.assertEqual(quality.flicker(truth, truth, holes), 0.0)
        frozen = truth.copy()
        frozen[holes] = 0.5  # constant fill: no motion inside the hole, the truth moves
        self.assertGreater(quality.flicker(truth, frozen, holes), 0.5 / (32 + 5) - 1e-6)

    def test_measure_of_a_perfect_result_is_capped(self):
        truth = gradient_clip()
        m = quality.measure(truth, truth, box_holes())
        self.assertEqual(m["hole_psnr"], 100.0)
        self.assertEqual(m["psnr"], 100.0)
        self.assertAlmostEqual(m["ssim"], 1.0, places=5)
        self.assertEqual(m["flicker"], 0.0)

    def test_seen_and_unseen_hole_pixels(self):
        # A 6-column hole moving right by 2 px per frame (columns 2-7, 4-9, 6-11): a column
        # is seen where a neighbouring frame (reach 1) does not cover it.
        holes = np.zeros((3, 8, 12), bool)
        for t in range(3):
            holes[t, 2:6, 2 + 2 * t:8 + 2 * t] = True
        seen = quality.seen_nearby(holes, reach=1)
        self.assertFalse(seen[~holes].any())
        self.assertEqual(int(seen[1].sum()), 4 * 4)
        np.testing.assert_array_equal(np.nonzero(seen[0].any(0))[0], [2, 3])
        np.testing.assert_array_equal(np.nonzero(seen[1].any(0))[0], [4, 5, 8, 9])
        np.testing.assert_array_equal(np.nonzero(seen[2].any(0))[0], [10, 11])
        self.assertFalse(quality.seen_nearby(np.ones((4, 2, 2), bool)).any())
        truth = np.full((3, 8, 12, 3), 100, np.uint8)
        result = truth.copy()
        result[holes & ~seen] = 151  # error 0.2 where unseen, exact where seen
        self.assertEqual(quality.pooled_psnr(truth, result, seen), 100.0)
        self.assertAlmostEqual(quality.pooled_psnr(truth, result, holes & ~seen), 13.98, places=2)
        self.assertTrue(np.isnan(quality.pooled_psnr(truth, result, np.zeros_like(holes))))

    def test_hole_psnr_of_a_known_error(self):
        truth = np.full((2, 16, 16, 3), 100, np.uint8)
        result = truth.copy()
        holes = np.zeros((2, 16, 16), bool)
        holes[:, 4:8, 4:8] = True
        result[holes] = 100 + 51  # error 0.2 -> PSNR 10 log10(1 / 0.04) = 13.98 dB
        self.assertAlmostEqual(quality.measure(truth, result, holes)["hole_psnr"], 13.9794,
                               places=3)


class QualityBenchmarkTest(TestCase):

    def setUp(self):
        super().setUp()
        self.tmp = tempfile.mkdtemp()
        self.clip = os.path.join(self.tmp, "ramp.mp4")
        with VideoWriter(self.clip, frame_rate=10, lossless=True) as writer:
            writer.write_frames(gradient_clip(frames=6, height=32, width=48))

    def test_runs_baselines_and_writes_the_report(self):
        out = os.path.join(self.tmp, "report")
        names = "black,mean,temporal" + (",telea,ns" if HAS_CV2 else "")
        quality.main(["--clip", self.clip, "--frames", "6", "--height", "32", "--width", "48",
                      "--baselines", names, "--output", out, "--sheet", out + ".png"])
        with open(out + ".json") as f:
            report = json.load(f)
        methods = [r["method"] for r in report["rows"]]
        self.assertEqual(methods, names.split(","))
        by_name = {r["method"]: r for r in report["rows"]}
        self.assertGreater(by_name["mean"]["hole_psnr"], by_name["black"]["hole_psnr"])
        self.assertGreater(by_name["temporal"]["hole_psnr"], by_name["mean"]["hole_psnr"])
        self.assertTrue(0.10 <= by_name["black"]["hole_ratio"] <= 0.40)
        with open(out + ".md") as f:
            self.assertIn("| ramp.mp4 | temporal |", f.read())
        from PIL import Image
        sheet = np.asarray(Image.open(out + ".png"))
        # a header, then one row: input | each method | ground truth, 48 pixels each
        self.assertEqual(sheet.shape, (18 + 32, (2 + len(methods)) * 48, 3))
        np.testing.assert_array_equal(sheet[18:, -48:], gradient_clip(6, 32, 48)[3])
        with self.assertRaisesRegex(FileExistsError, "already exists"):
            quality.main(["--clip", self.clip, "--frames", "6", "--height", "32", "--width",
                          "48", "--baselines", "black", "--output", out])

    def test_a_model_is_scored_beside_the_baselines(self):
        import lgtsm_tf

        path = os.path.join(self.tmp, "g.keras")
        lgtsm_tf.build_generator("lgtsm", nf=4).save(path)
        quality.main(["--clip", self.clip, "--frames", "6", "--height", "32", "--width", "48",
                      "--baselines", "mean", "--model", path, "--output",
                      os.path.join(self.tmp, "m"), "--propagation", "off,on,still,0.5"])
        with open(os.path.join(self.tmp, "m.json")) as f:
            rows = json.load(f)["rows"]
        self.assertEqual([r["method"] for r in rows],
                         [path, path + " +propagation", path + " +propagation(still camera)",
                          path + " +propagation(0.5)", "mean"])
        self.assertTrue(all(np.isfinite(r["hole_psnr"]) for r in rows))

    @parameterized.parameters(
        (["--frames", "1"], "--frames"),
        (["--area_range", "0.5,0.2"], "--area_range"),
        (["--baselines", ""], "nothing to evaluate"),
        (["--propagation", "maybe"], "--propagation"),
        (["--propagation", "off,-1"], "--propagation"),
    )
    def test_bad_arguments(self, argv, message):
        err = io.StringIO()
        with self.assertRaises(SystemExit), contextlib.redirect_stderr(err):
            quality.parse_args(argv)
        self.assertIn(message, err.getvalue())

    def test_missing_clip_and_model_are_named(self):
        with self.assertRaisesRegex(FileNotFoundError, "nope.mp4"):
            quality.main(["--clip", os.path.join(self.tmp, "nope.mp4"), "--baselines", "black"])
        with self.assertRaisesRegex(FileNotFoundError, "--model=.*absent.keras"):
            quality.main(["--clip", self.clip, "--model", os.path.join(self.tmp, "absent.keras")])



class CurvePlotTest(TestCase):

    def test_plot_curves_draws_every_series(self):
        from lgtsm_tf.evaluation import plot

        image = plot.plot_curves([[13.0, 16.0, 17.5], [15.6] * 3], ["model", "mean colour"],
                                 "validation hole PSNR", "step", 250)
        self.assertEqual(image.size, (plot.WIDTH, plot.PANEL_HEIGHT))
        colours = {tuple(c) for c in np.asarray(image).reshape(-1, 3)}
        self.assertIn(plot.PALETTE[0], colours)
        self.assertIn(plot.PALETTE[1], colours)

    def test_training_curve_keeps_the_regular_validations(self):
        from benchmarks import training_curve

        path = os.path.join(self.get_temp_dir(), "history.csv")
        with open(path, "w") as f:
            f.write("step,val_hole_psnr,hole_l1\n0,13.0,\n250,16.0,0.2\n500,17.0,0.1\n"
                    "510,16.5,0.1\n")
        curve, every = training_curve.validation_curve(path)
        self.assertEqual((curve, every), ([(0, 13.0), (250, 16.0), (500, 17.0)], 250))
        out = os.path.join(self.get_temp_dir(), "curve.png")
        training_curve.main(["--history", path, "--baseline", "mean colour=15.6",
                             "--output", out])
        self.assertTrue(os.path.getsize(out) > 1000)


class AblationTest(TestCase):
    """benchmarks/ablation.py end to end on two variants, 2 training steps, a tiny clip."""

    def test_trains_each_variant_and_tabulates(self):
        from benchmarks import ablation

        tmp = tempfile.mkdtemp()
        clip = os.path.join(tmp, "ramp.mp4")
        with VideoWriter(clip, frame_rate=10, lossless=True) as writer:
            writer.write_frames(gradient_clip(frames=6, height=32, width=48))
        flagfile = os.path.join(tmp, "tiny.flags")
        with open(flagfile, "w") as f:
            f.write("--data=embedded\n--val_data=\n--nf=4\n--clip_length=3\n--height=32\n"
                    "--width=32\n--batch_size=1\n--perceptual_weight=0\n--style_weight=0\n"
                    "--eval_every=2\n--checkpoint_every=2\n--init=scaled\n")
        out = os.path.join(tmp, "ablation")
        stdout = io.StringIO()
        with contextlib.redirect_stdout(stdout):
            ablation.main(["--runs_dir", os.path.join(tmp, "runs"), "--variant", "lgtsm",
                           "--variant", "2d", "--flagfile", flagfile, "--train_steps", "2",
                           "--baselines", "mean", "--clip", clip, "--frames", "6",
                           "--height", "32", "--width", "48", "--output", out])
        with open(out + ".json") as f:
            report = json.load(f)
        self.assertEqual(list(report["variants"]), ["lgtsm", "2d"])
        lgtsm, plain = report["variants"]["lgtsm"], report["variants"]["2d"]
        self.assertGreater(lgtsm["parameters"], plain["parameters"])  # + the shift kernels
        for row in (lgtsm, plain):
            self.assertGreater(row["train_cpu_s"], 0)
            self.assertTrue(np.isfinite(row["hole_psnr"]))
        self.assertIn("| mean (classical) |", stdout.getvalue())
        with open(out + ".md") as f:
            self.assertIn("| 2d |", f.read())
        with self.assertRaisesRegex(FileExistsError, "already exists"):
            ablation.main(["--runs_dir", os.path.join(tmp, "runs"), "--flagfile", flagfile,
                           "--clip", clip, "--output", out])
