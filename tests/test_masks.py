"""Tests for lgtsm_tf.masks and the lgtsm_tf.make_masks CLI (tiny sizes, runs in seconds)."""

import contextlib
import dataclasses
import io
import os
import tempfile

import numpy as np
from absl import app, flags
from absl.testing import absltest, parameterized
from PIL import Image

from lgtsm_tf import make_masks
from lgtsm_tf import masks as M

T, H, W = 8, 64, 96
PRESET_NAMES = sorted(M.PRESETS)


def _consecutive_ious(masks):
    ious = []
    for a, b in zip(masks[:-1].astype(bool), masks[1:].astype(bool)):
        union = np.logical_or(a, b).sum()
        ious.append(np.logical_and(a, b).sum() / union if union else 1.0)
    return np.asarray(ious)


class PresetTest(absltest.TestCase):

    def test_table_values(self):
        self.assertEqual(set(M.PRESETS), {"object_like", "object_like_middle", "object_like_small",
                                          "rand_curve", "rand_curve_small"})
        p = M.PRESETS["object_like"]
        self.assertEqual(p.n_vertex_bound, (5, 30))
        self.assertEqual(p.max_head_speed, 15)
        self.assertEqual(p.max_head_acceleration, (10, 1.5))
        self.assertEqual(p.brush_width_bound, (20, 50))
        self.assertEqual(p.max_point_move, 10)
        self.assertEqual(p.max_line_acceleration, (5, 0.5))
        self.assertIsNone(p.border_gap)
        self.assertEqual(p.max_init_speed, 10)
        p = M.PRESETS["rand_curve_small"]
        self.assertEqual(p.n_vertex_bound, (6, 22))
        self.assertEqual(p.brush_width_bound, (2.5, 5))
        self.assertEqual(p.max_point_move, 1.5)
        self.assertEqual(p.max_init_speed, 3)
        for preset in M.PRESETS.values():
            self.assertEqual(preset.n_move_point_ratio, 0.5)

    def test_frozen(self):
        with self.assertRaises(Exception):
            M.PRESETS["rand_curve"].max_init_speed = 1  # pytype: disable=not-writable

    def test_invalid_preset_values(self):
        base = M.PRESETS["rand_curve"]
        with self.assertRaisesRegex(ValueError, "n_vertex_bound"):
            dataclasses.replace(base, n_vertex_bound=(10, 5))
        with self.assertRaisesRegex(ValueError, "brush_width_bound"):
            dataclasses.replace(base, brush_width_bound=(0, 5))
        with self.assertRaisesRegex(ValueError, "n_move_point_ratio"):
            dataclasses.replace(base, n_move_point_ratio=1.5)


class PresetScaleTest(parameterized.TestCase):

    def test_scaled_multiplies_lengths_only(self):
        p = M.get_preset("object_like")
        q = p.scaled(0.5)
        self.assertEqual(q.max_head_speed, p.max_head_speed / 2)
        self.assertEqual(q.brush_width_bound, (p.brush_width_bound[0] / 2,
                                               p.brush_width_bound[1] / 2))
        self.assertEqual(q.max_head_acceleration, (p.max_head_acceleration[0] / 2,
                                                   p.max_head_acceleration[1]))
        self.assertEqual(q.max_line_acceleration, (p.max_line_acceleration[0] / 2,
                                                   p.max_line_acceleration[1]))
        self.assertEqual((q.max_point_move, q.max_init_speed),
                         (p.max_point_move / 2, p.max_init_speed / 2))
        self.assertEqual((q.n_vertex_bound, q.n_move_point_ratio, q.border_gap),
                         (p.n_vertex_bound, p.n_move_point_ratio, p.border_gap))
        self.assertEqual(M.get_preset("rand_curve").scaled(0.01).brush_width_bound, (1.0, 1.0))

    @parameterized.parameters((180, 320, 1.0), (90, 160, 0.5), (64, 96, 0.32660),
                              (240, 320, 1.1547))
    def test_frame_size_factor(self, height, width, factor):
        self.assertAlmostEqual(M.frame_size_factor(height, width), factor, places=4)

    @parameterized.parameters(0, -1, float("nan"), float("inf"))
    def test_bad_factor(self, factor):
        with self.assertRaisesRegex(ValueError, "finite number > 0"):
            M.get_preset("rand_curve").scaled(factor)

    def test_scaled_presets_cover_the_same_share_as_at_320x180(self):
        def mean_ratio(height, width, scale):
            preset = M.get_preset("object_like_small")
            if scale:
                preset = preset.for_frame_size(height, width)
            return np.mean([M.hole_ratio(M.moving_stroke_masks(4, height, width, preset,
                                                               rng=seed))
                            for seed in range(30)])

        reference = mean_ratio(180, 320, False)
        self.assertGreater(mean_ratio(60, 108, False), reference + 0.2)  # unscaled: far larger
        self.assertAlmostEqual(mean_ratio(60, 108, True), reference, delta=0.06)


class MovingStrokeMasksTest(parameterized.TestCase):

    @parameterized.named_parameters(*[(name, name) for name in PRESET_NAMES])
    def test_shape_dtype_binary(self, name):
        m = M.moving_stroke_masks(T, H, W, name, rng=0)
        self.assertEqual(m.shape, (T, H, W))
        self.assertEqual(m.dtype, np.uint8)
        self.assertTrue(set(np.unique(m)).issubset({0, 1}))
        self.assertGreater(m.sum(), 0)
        self.assertLess(M.hole_ratio(m), 1.0 + 1e-9)

    def test_preset_instance_and_int_strokes(self):
        m = M.moving_stroke_masks(3, 20, 30, M.PRESETS["rand_curve_small"], num_strokes=2, rng=1)
        self.assertEqual(m.shape, (3, 20, 30))

    @parameterized.parameters(False, True)
    def test_deterministic_for_seed(self, fixed_velocity):
        a = M.moving_stroke_masks(T, H, W, "rand_curve", rng=7, fixed_velocity=fixed_velocity)
        b = M.moving_stroke_masks(T, H, W, "rand_curve", rng=7, fixed_velocity=fixed_velocity)
        c = M.moving_stroke_masks(T, H, W, "rand_curve", rng=np.random.default_rng(7),
                                  fixed_velocity=fixed_velocity)
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, c)

    def test_differs_across_seeds(self):
        masks = [M.moving_stroke_masks(T, H, W, "object_like_small", rng=s) for s in range(4)]
        for i in range(4):
            for j in range(i + 1, 4):
                self.assertGreater(np.mean(masks[i] != masks[j]), 0.01)

    @parameterized.named_parameters(*[(name, name) for name in PRESET_NAMES])
    def test_masks_move_smoothly(self, name):
        # Few strokes so the holes do not fill a 64x96 frame (presets are tuned for 320x180).
        ious = np.concatenate([
            _consecutive_ious(M.moving_stroke_masks(T, H, W, name, num_strokes=(1, 3), rng=s))
            for s in range(5)])
        self.assertGreater(np.mean(ious < 1.0), 0.8)  # they move on most frames
        self.assertGreater(np.mean(ious), 0.3)  # ... but smoothly (overlap between frames)

    def test_fixed_velocity_mode_moves(self):
        ious = np.concatenate([
            _consecutive_ious(M.moving_stroke_masks(T, H, W, "object_like_small", num_strokes=2,
                                                    rng=s, fixed_velocity=True))
            for s in range(3)])
        self.assertGreater(np.mean(ious < 1.0), 0.8)
        self.assertGreater(np.mean(ious), 0.3)

    def test_first_frames_match_across_modes(self):
        a = M.moving_stroke_masks(T, H, W, "rand_curve", rng=3)
        b = M.moving_stroke_masks(T, H, W, "rand_curve", rng=3, fixed_velocity=True)
        np.testing.assert_array_equal(a[0], b[0])

    def test_object_like_larger_than_rand_curve(self):
        obj = np.mean([M.hole_ratio(M.moving_stroke_masks(T, H, W, "object_like", rng=s))
                       for s in range(4)])
        curve = np.mean([M.hole_ratio(M.moving_stroke_masks(T, H, W, "rand_curve", rng=s))
                         for s in range(4)])
        self.assertGreater(obj, curve + 0.1)

    def test_more_strokes_more_holes(self):
        few = np.mean([M.hole_ratio(M.moving_stroke_masks(T, H, W, "rand_curve_small",
                                                          num_strokes=1, rng=s)) for s in range(4)])
        many = np.mean([M.hole_ratio(M.moving_stroke_masks(T, H, W, "rand_curve_small",
                                                           num_strokes=15, rng=s)) for s in range(4)])
        self.assertGreater(many, few)

    @parameterized.parameters((0, H, W), (T, 0, W), (T, H, -3), (2.5, H, W))
    def test_bad_sizes(self, t, h, w):
        with self.assertRaisesRegex(ValueError, "positive integer"):
            M.moving_stroke_masks(t, h, w, rng=0)

    def test_unknown_preset_lists_known(self):
        with self.assertRaisesRegex(ValueError, "object_like_middle.*rand_curve"):
            M.moving_stroke_masks(T, H, W, "blobs", rng=0)

    @parameterized.parameters((0,), ((3, 1),), ((0, 4),), ("many",))
    def test_bad_num_strokes(self, num_strokes):
        with self.assertRaisesRegex(ValueError, "num_strokes"):
            M.moving_stroke_masks(T, H, W, num_strokes=num_strokes, rng=0)


class BoxAndRatioTest(parameterized.TestCase):

    @parameterized.parameters(0, 1, 2)
    def test_box_masks(self, seed):
        m = M.box_masks(T, H, W, rng=seed)
        self.assertEqual(m.shape, (T, H, W))
        self.assertEqual(m.dtype, np.uint8)
        for t in range(1, T):
            np.testing.assert_array_equal(m[t], m[0])  # static
        rows, cols = np.nonzero(m[0])
        side = rows.max() - rows.min() + 1
        self.assertEqual(side, cols.max() - cols.min() + 1)  # square
        self.assertEqual(m[0].sum(), side * side)  # one filled square
        self.assertBetween(side, int(0.375 * H) - 1, int(0.5 * H) + 1)

    def test_box_bad_side_range(self):
        with self.assertRaisesRegex(ValueError, "side_range"):
            M.box_masks(T, H, W, rng=0, side_range=(0.6, 0.2))

    def test_hole_ratio(self):
        m = np.zeros((2, 4, 5), np.uint8)
        m[0, :2] = 1
        self.assertAlmostEqual(M.hole_ratio(m), 10 / 40)
        self.assertAlmostEqual(M.hole_ratio(m * 255), 10 / 40)
        self.assertAlmostEqual(M.hole_ratio(m.astype(bool)), 10 / 40)
        self.assertAlmostEqual(M.hole_ratio(np.ones((3, 3), np.float32)), 1.0)

    def test_to_float_masks(self):
        m = M.moving_stroke_masks(T, H, W, "rand_curve", rng=0)
        f = M.to_float_masks(m)
        self.assertEqual(f.shape, (T, H, W, 1))
        self.assertEqual(f.dtype, np.float32)
        np.testing.assert_array_equal(f[..., 0], m.astype(np.float32))


class SampleMasksTest(parameterized.TestCase):

    @parameterized.parameters((0.0, 0.1), (0.1, 0.2), (0.3, 0.4), (0.5, 0.6))
    def test_respects_area_range(self, lo, hi):
        for seed in range(2):
            m = M.sample_masks(T, H, W, rng=seed, area_range=(lo, hi))
            self.assertEqual(m.shape, (T, H, W))
            self.assertEqual(m.dtype, np.uint8)
            self.assertBetween(M.hole_ratio(m), lo, hi)

    def test_deterministic(self):
        a = M.sample_masks(T, H, W, rng=5, presets=["rand_curve"], area_range=(0.1, 0.3))
        b = M.sample_masks(T, H, W, rng=5, presets=["rand_curve"], area_range=(0.1, 0.3))
        np.testing.assert_array_equal(a, b)

    def test_gives_up_with_clear_error(self):
        with self.assertRaisesRegex(ValueError, "after 3 tries"):
            M.sample_masks(T, H, W, rng=0, presets="rand_curve_small", area_range=(0.99, 1.0),
                           num_strokes=1, max_tries=3)

    @parameterized.parameters((0.5, 0.2), (-0.1, 0.5), (0.2, 1.5), (0.3, 0.3), (0.1,))
    def test_bad_area_range(self, *area_range):
        with self.assertRaisesRegex(ValueError, "area_range"):
            M.sample_masks(T, H, W, rng=0, area_range=area_range)

    def test_unknown_preset(self):
        with self.assertRaisesRegex(ValueError, "known presets"):
            M.sample_masks(T, H, W, rng=0, presets=["rand_curve", "nope"])


class MakeMasksCliTest(parameterized.TestCase):

    def setUp(self):
        super().setUp()
        self._tmp = tempfile.TemporaryDirectory()
        self.out = os.path.join(self._tmp.name, "masks")

    def tearDown(self):
        flags.FLAGS.unparse_flags()
        self._tmp.cleanup()
        super().tearDown()

    def _main(self, *extra, num_videos=3, num_frames=4):
        argv = ["make_masks", f"--output_dir={self.out}", f"--num_videos={num_videos}",
                f"--num_frames={num_frames}", "--height=24", "--width=40",
                "--preset=object_like_small", "--seed=3", *extra]
        flags.FLAGS.unparse_flags()
        rest = flags.FLAGS(argv)
        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            code = make_masks.main(rest)
        if code:  # the CLI's one error line, as the exception the tests expect
            self.assertRegex(err.getvalue(), "^lgtsm-make-masks: error: ")
            raise app.UsageError(err.getvalue())

    def _read_videos(self, root):
        videos = {}
        for vid in sorted(os.listdir(root)):
            files = sorted(os.listdir(os.path.join(root, vid)))
            videos[vid] = np.stack([np.asarray(Image.open(os.path.join(root, vid, f)))
                                    for f in files])
            self.assertEqual(files, [f"{t:05d}.png" for t in range(len(files))])
        return videos

    def test_writes_pngs(self):
        self._main()
        videos = self._read_videos(self.out)
        self.assertEqual(sorted(videos), ["00000", "00001", "00002"])
        for v in videos.values():
            self.assertEqual(v.shape, (4, 24, 40))
            self.assertEqual(v.dtype, np.uint8)
            self.assertTrue(set(np.unique(v)).issubset({0, 255}))
            self.assertGreater(v.max(), 0)
        with Image.open(os.path.join(self.out, "00000", "00000.png")) as im:
            self.assertEqual(im.mode, "L")
            self.assertEqual(im.size, (40, 24))

    def test_matches_library_and_is_deterministic(self):
        summary = make_masks.write_mask_set(self.out, 2, 4, 24, 40, presets="rand_curve", seed=9)
        videos = self._read_videos(self.out)
        for ratio, v in zip(summary["ratios"], videos.values()):
            self.assertAlmostEqual(ratio, M.hole_ratio(v))
        other = os.path.join(self._tmp.name, "again")
        make_masks.write_mask_set(other, 2, 4, 24, 40, presets="rand_curve", seed=9)
        for vid, v in self._read_videos(other).items():
            np.testing.assert_array_equal(v, videos[vid])

    def test_refuses_then_overwrites(self):
        self._main(num_frames=6)
        path = os.path.join(self.out, "00001", "00000.png")
        before = os.path.getmtime(path), open(path, "rb").read()
        with self.assertRaisesRegex(app.UsageError, "--overwrite"):
            self._main("--seed=4", num_frames=4)
        self.assertEqual((os.path.getmtime(path), open(path, "rb").read()), before)
        self.assertLen(os.listdir(os.path.join(self.out, "00001")), 6)
        # A user's unrelated file in a video folder also blocks writing.
        os.makedirs(os.path.join(self.out, "00005"))
        with open(os.path.join(self.out, "00005", "notes.txt"), "w") as f:
            f.write("mine")
        with self.assertRaisesRegex(app.UsageError, "not empty"):
            self._main(num_videos=6)
        # --overwrite replaces the frames (stale extra frames removed, other files kept).
        self._main("--overwrite", "--seed=4", num_videos=6, num_frames=4)
        for vid in ["00000", "00001", "00004"]:
            self.assertEqual(sorted(os.listdir(os.path.join(self.out, vid))),
                             [f"{t:05d}.png" for t in range(4)])
        self.assertIn("notes.txt", os.listdir(os.path.join(self.out, "00005")))

    def test_cluster_by_area_and_area_range(self):
        self._main("--cluster_by_area", "--area_min=0.1", "--area_max=0.5",
                   "--preset=rand_curve,object_like_small", num_videos=4)
        bins = sorted(os.listdir(self.out))
        self.assertNotEmpty(bins)
        count = 0
        for b in bins:
            self.assertIn(b, ["10-20", "20-30", "30-40", "40-50", "50-60"])
            lo, hi = (int(x) / 100 for x in b.split("-"))
            for vid, v in self._read_videos(os.path.join(self.out, b)).items():
                ratio = M.hole_ratio(v)
                self.assertBetween(ratio, max(lo, 0.1), min(hi, 0.5))
                count += 1
        self.assertEqual(count, 4)
        # Regenerating with --overwrite leaves exactly one copy of each video across the bins.
        self._main("--cluster_by_area", "--overwrite", "--preset=rand_curve,object_like",
                   "--seed=11", num_videos=4)
        found = sorted(vid for b in os.listdir(self.out) for vid in os.listdir(os.path.join(self.out, b)))
        self.assertEqual(found, ["00000", "00001", "00002", "00003"])
        for b in os.listdir(self.out):
            self.assertNotEmpty(os.listdir(os.path.join(self.out, b)))

    def test_area_bin(self):
        self.assertEqual(make_masks.area_bin(0.0), "00-10")
        self.assertEqual(make_masks.area_bin(0.35), "30-40")
        self.assertEqual(make_masks.area_bin(1.0), "90-100")

    def test_box_preset(self):
        self._main("--preset=box", num_videos=2)
        for v in self._read_videos(self.out).values():
            np.testing.assert_array_equal(v[0], v[-1])

    @parameterized.parameters("--preset=blobs", "--area_min=0.7", "--min_strokes=5")
    def test_bad_cli_arguments(self, arg):
        extra = [arg, "--area_max=0.2"] if "area" in arg else [arg, "--max_strokes=2"] \
            if "strokes" in arg else [arg]
        with self.assertRaises(app.UsageError):
            self._main(*extra)
        self.assertFalse(os.path.exists(self.out))


if __name__ == "__main__":
    absltest.main()
