"""lgtsm_tf.ops.translation: the global translation between frames with holes."""

import numpy as np
import tensorflow as tf
from absl.testing import parameterized

from lgtsm_tf.ops import translation
from tests.testing import TestCase


def scene(h, w, seed=0, fraction=None):
    """float32 [h, w]: smooth waves plus 8-pixel blocks plus pixel noise (structure at every
    scale, as a camera sees); with `fraction`, the smooth waves alone sampled at x + fraction
    (a sub-pixel shift)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    x = x + (fraction or 0.0)
    waves = sum(np.sin(2 * np.pi * (x * a + y * b) + c)
                for a, b, c in rng.uniform([-0.05, -0.05, 0], [0.05, 0.05, 6], (6, 3)))
    out = 0.5 + 0.08 * waves
    if fraction is None:
        blocks = np.kron(rng.random((h // 8 + 1, w // 8 + 1)), np.ones((8, 8)))[:h, :w]
        out = 0.6 * out + 0.3 * blocks + 0.1 * rng.random((h, w))
    return out.astype(np.float32)


def holes(n, h, w, seed=0):
    """float32 [n, h, w, 1] known masks (1 = known) with a box and 10 % scattered holes."""
    rng = np.random.default_rng(seed)
    known = (rng.random((n, h, w, 1)) > 0.1).astype(np.float32)
    known[:, h // 4:h // 2, w // 3:2 * w // 3] = 0
    return known


class TranslationTest(TestCase):

    @parameterized.parameters((0, 0), (5, -7), (-20, 30), (13, 2), (0, 1), (-31, -31))
    def test_align_finds_the_displacement_despite_holes(self, dy, dx):
        big = scene(260, 340)
        target = big[40:40 + 180, 40:40 + 240]
        source = big[40 - dy:40 - dy + 180, 40 - dx:40 - dx + 240]  # target[y] = source[y + d]
        found = translation.align(target[None, ..., None], holes(1, 180, 240),
                                  source[None, ..., None], holes(1, 180, 240, seed=1))
        self.assertAllEqual(found, [[dy, dx]])

    def test_shift_moves_by_the_displacement_and_says_what_is_inside(self):
        images = np.arange(2 * 5 * 6, dtype=np.float32).reshape(2, 5, 6, 1)
        d = np.array([[1, -2], [0, 0]], np.int32)
        out, inside = translation.shift(images, d)
        self.assertAllEqual(out[1], images[1])
        self.assertAllEqual(inside[1], np.ones((5, 6, 1)))
        for y in range(5):
            for x in range(6):
                sy, sx = y + 1, x - 2
                ok = 0 <= sy < 5 and 0 <= sx < 6
                self.assertEqual(float(inside[0, y, x, 0]), float(ok))
                if ok:
                    self.assertEqual(float(out[0, y, x, 0]), images[0, sy, sx, 0])
        wide, wide_inside = translation.shift(images, d, extra=2)
        self.assertEqual(wide.shape, (2, 9, 10, 1))
        self.assertAllEqual(wide[:, 2:7, 2:8], out)
        self.assertAllEqual(wide_inside[:, 2:7, 2:8], inside)

    def test_nothing_to_compare_keeps_the_start(self):
        target = scene(64, 80)[None, ..., None]
        unknown = np.zeros((1, 64, 80, 1), np.float32)
        known = np.ones_like(unknown)
        self.assertAllEqual(translation.align(target, known, target, unknown), [[0, 0]])
        start = np.array([[3, -2]], np.int32)
        self.assertAllEqual(translation.align(target, known, target, unknown, start), start)

    def test_a_flat_frame_does_not_move(self):
        flat = np.full((2, 48, 64, 1), 0.4, np.float32)
        known = holes(2, 48, 64)
        self.assertAllEqual(translation.align(flat, known, flat, known), [[0, 0], [0, 0]])

    def test_still_frames_with_noise_do_not_move(self):
        # Pixel noise misleads the coarse levels (their blocks average it away); the frames
        # are the same at 0, which wins.
        noise = np.random.default_rng(0).random((3, 20, 28, 1)).astype(np.float32)
        same = np.repeat(noise[:1], 3, axis=0)
        found = translation.align(same, holes(3, 20, 28), same, holes(3, 20, 28, seed=2))
        self.assertAllEqual(found, np.zeros((3, 2)))

    def test_initial_is_refined_by_one_pixel(self):
        big = scene(120, 160)
        target, source = big[20:100, 20:140], big[17:97, 25:145]  # d = (3, -5)
        start = np.array([[2, -4]], np.int32)
        found = translation.align(target[None, ..., None], holes(1, 80, 120),
                                  source[None, ..., None], holes(1, 80, 120, seed=1), start)
        self.assertAllEqual(found, [[3, -5]])

    @parameterized.parameters(0.25, 0.5, -0.3)
    def test_subpixel_estimate(self, fraction):
        target = scene(96, 128, seed=4, fraction=0.0)[None, ..., None]
        source = scene(96, 128, seed=4, fraction=-fraction)[None, ..., None]
        # target(x) = waves(x) = source(x + fraction): displacement (0, fraction).
        known = np.ones_like(target)
        whole = translation.align(target, known, source, known)
        estimate = translation.subpixel(target, known, source, known, whole)
        self.assertAllClose(estimate, [[0.0, fraction]], atol=0.12)

    def test_traces_once_for_any_size(self):
        spec = tf.TensorSpec([None, None, None, 1])
        traced = tf.function(translation.align, input_signature=[spec] * 4)
        for h, w in ((40, 56), (33, 70)):
            image = scene(h, w)[None, ..., None]
            known = np.ones_like(image)
            self.assertAllEqual(traced(image, known, image, known), [[0, 0]])
        self.assertLen(traced._list_all_concrete_functions(), 1)
