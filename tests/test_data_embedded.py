"""Tests for lgtsm_tf.data.embedded: bundled photographs turned into moving clips (offline)."""

import math

import numpy as np
import tensorflow as tf
from absl.testing import absltest, parameterized

from lgtsm_tf.data import embedded as E
from lgtsm_tf.data import pipeline as P

T, H, W = 8, 48, 64


def mean_abs(a, b):
    return float(np.abs(a.astype(np.float64) - b.astype(np.float64)).mean())


class PhotoTest(parameterized.TestCase):

    def test_split_is_by_photograph(self):
        train, val = E.photo_names("train"), E.photo_names("validation")
        self.assertGreaterEqual(len(train), 8)
        self.assertGreaterEqual(len(val), 2)
        self.assertEmpty(set(train) & set(val))
        self.assertCountEqual(train + val, E.PHOTOS)
        with self.assertRaisesRegex(ValueError, "split must be one of"):
            E.photo_names("test")

    def test_every_photo_loads_offline_with_a_licence(self):
        loaded = {}
        for name, photo in E.PHOTOS.items():
            image = E.load_photo(name)
            self.assertEqual(image.dtype, np.uint8, msg=name)
            self.assertEqual(image.ndim, 3, msg=name)
            self.assertEqual(image.shape[-1], 3, msg=name)
            self.assertGreaterEqual(min(image.shape[:2]), 256, msg=name)
            self.assertGreater(image.std(), 10.0, msg=f"{name} looks blank")
            self.assertTrue(photo.licence and photo.credit, msg=name)
            loaded[name] = image
        # The validation photographs are really different images from every training one.
        for v in E.photo_names("validation"):
            for t in E.photo_names("train"):
                a, b = loaded[v], loaded[t]
                if a.shape == b.shape:
                    self.assertGreater(mean_abs(a, b), 10.0, msg=f"{v} vs {t}")


class ClipTest(parameterized.TestCase):

    def test_shapes_and_determinism(self):
        clips = E.embedded_clips("validation", T, H, W, seed=3)
        self.assertLen(clips, len(E.photo_names("validation")))
        for clip in clips:
            self.assertEqual(clip.shape, (T, H, W, 3))
            self.assertEqual(clip.dtype, np.uint8)
        again = E.embedded_clips("validation", T, H, W, seed=3)
        for a, b in zip(clips, again):
            np.testing.assert_array_equal(a, b)
        other = E.embedded_clips("validation", T, H, W, seed=4)
        self.assertTrue(all(not np.array_equal(a, b) for a, b in zip(clips, other)))

    def test_motion_is_smooth_and_real(self):
        clips = E.embedded_clips("train", T, H, W, seed=0, clips_per_photo=2)
        consecutive = np.mean([mean_abs(c[t], c[t + 1]) for c in clips for t in range(T - 1)])
        rng = np.random.default_rng(0)
        pairs = [rng.choice(len(clips), 2, replace=False) for _ in range(40)]
        unrelated = np.mean([mean_abs(clips[i][0], clips[j][rng.integers(T)]) for i, j in pairs])
        self.assertLess(consecutive, 0.35 * unrelated)
        # The camera does move: on average frames change, and over a clip they change more.
        self.assertGreater(consecutive, 0.5)
        span = np.mean([mean_abs(c[0], c[-1]) for c in clips])
        self.assertGreater(span, consecutive)

    def test_random_access_matches_full_render(self):
        (source,) = E.embedded_sources("train", videos_per_photo=1, num_frames=12, height=H,
                                       width=W, seed=1, photos=["astronaut"])
        full = source.read_frames(range(12))
        np.testing.assert_array_equal(source.read_frames([9, 2, 2]), full[[9, 2, 2]])
        self.assertEqual(source.kind, "embedded")
        self.assertEqual(source.name, "astronaut/000")
        with self.assertRaises(IndexError):
            source.read_frames([12])

    @parameterized.parameters((8, 48, 64), (40, 180, 320), (16, 64, 32))
    def test_camera_window_stays_inside_the_photograph(self, num_frames, height, width):
        for name in ("astronaut", "coffee", "chelsea", "hubble_deep_field"):
            ph, pw = E.load_photo(name).shape[:2]
            for seed in range(10):
                path = E.camera_path(num_frames, (ph, pw), (height, width),
                                     np.random.default_rng(seed))
                self.assertEqual(path.shape, (num_frames, 4))
                for cx, cy, win_w, angle in path:
                    win_h = win_w * height / width
                    for sx, sy in ((-1, -1), (-1, 1), (1, -1), (1, 1)):
                        dx, dy = sx * win_w / 2, sy * win_h / 2
                        x = cx + dx * math.cos(angle) - dy * math.sin(angle)
                        y = cy + dx * math.sin(angle) + dy * math.cos(angle)
                        self.assertBetween(x, -1e-6, pw + 1e-6)
                        self.assertBetween(y, -1e-6, ph + 1e-6)
                # Smooth: per-frame changes are small relative to the window.
                steps = np.abs(np.diff(path[:, :2], axis=0)).max()
                self.assertLess(steps, 0.1 * path[:, 2].min())

    def test_feeds_build_dataset(self):
        sources = E.embedded_sources("train", videos_per_photo=1, num_frames=10, height=40,
                                     width=56, seed=0, photos=["rocket", "camera"])
        ds = P.build_dataset(sources, 4, 32, 48, batch_size=2, seed=0)
        batch = next(iter(ds))
        self.assertEqual(batch["frames"].shape, (2, 4, 32, 48, 3))
        self.assertEqual(batch["frames"].dtype, tf.float32)
        self.assertBetween(float(tf.reduce_max(batch["frames"])), 0.2, 1.0)
        with self.assertRaisesRegex(ValueError, "not in the 'train' split"):
            E.embedded_sources("train", photos=["chelsea"])


if __name__ == "__main__":
    absltest.main()
