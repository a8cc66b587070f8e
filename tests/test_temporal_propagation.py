"""TemporalPropagation: copies hole pixels from the nearest frame where they are known, if the
frames agree there; and its use by the inpainter and the SavedModel export."""

import json
import os
import shutil
import tempfile

import keras
import numpy as np
import tensorflow as tf
from absl.testing import parameterized

from lgtsm_tf.evaluation.baselines import nearest_known_index
from lgtsm_tf.inference.inpainter import PROPAGATION_CONTEXT
from lgtsm_tf.layers import TemporalPropagation
from tests.testing import TestCase


def still_clip(t, h, w, seed=0):
    """float32 [1, t, h, w, 3]: one textured image repeated (a still camera, no noise)."""
    rng = np.random.default_rng(seed)
    image = rng.random((h, w, 3), dtype=np.float32)
    return np.repeat(image[None, None], t, axis=1)


def panning_clip(t, h, w, step=5, seed=0):
    """float32 [1, t, h, w, 3]: a textured image panned `step` pixels per frame."""
    rng = np.random.default_rng(seed)
    image = rng.random((h, w + step * t, 3), dtype=np.float32)
    return np.stack([image[:, i * step:i * step + w] for i in range(t)])[None]


def textured_pan(t, h, w, step, seed=0):
    """float32 [1, t, h, w, 3]: an image with structure at every scale (8x8 blocks plus pixel
    noise, as a camera sees) panned `step` pixels per frame (negative: leftwards)."""
    rng = np.random.default_rng(seed)
    width = w + abs(step) * t
    blocks = np.repeat(np.repeat(rng.random((h // 8 + 1, width // 8 + 1, 3)), 8, 0), 8, 1)
    image = (0.7 * blocks[:h, :width] + 0.3 * rng.random((h, width, 3))).astype(np.float32)
    starts = [i * abs(step) for i in range(t)]
    clip = np.stack([image[:, x:x + w] for x in (starts if step > 0 else starts[::-1])])
    return clip[None]


def seen_in_pan(holes, step):
    """bool [t, h, w]: the hole pixels (bool [t, h, w]) of a `textured_pan` clip whose scene
    point another frame has in view and known."""
    t, h, w = holes.shape
    seen = np.zeros_like(holes)
    for i in range(t):
        for j in range(t):
            cols = np.arange(w) + (i - j) * step  # frame i at x shows frame j's x + (i - j) step
            inside = (cols >= 0) & (cols < w)
            known = np.zeros((h, w), bool)
            known[:, inside] = ~holes[j][:, cols[inside]]
            seen[i] |= holes[i] & known
    return seen


def moving_holes(t, h, w, seed=0, fraction=0.3):
    """float32 [1, t, h, w, 1]: a box drifting right plus scattered hole pixels (1 = hole)."""
    rng = np.random.default_rng(seed)
    masks = (rng.random((t, h, w)) < fraction / 3).astype(np.float32)
    for i in range(t):
        masks[i, h // 4:3 * h // 4, 2 * i + 2:2 * i + 2 + w // 3] = 1
    return masks[None, ..., None]


def nearest_copy(frames, masks):
    """numpy reference for an unlimited reach and no agreement check: (frames with each hole
    pixel taken from `nearest_known_index`, holes known in no frame) for one clip."""
    holes = masks[0, ..., 0] > 0.5
    index = nearest_known_index(holes)
    rows, cols = np.indices(holes.shape[1:])
    copied = frames[0][np.clip(index, 0, None), rows[None], cols[None]]
    out = np.where(holes[..., None], copied, frames[0])
    never = index < 0
    out[never] = 0
    return out, never


class TemporalPropagationTest(TestCase):

    @parameterized.parameters((0, 6, 12, 16), (1, 9, 20, 8), (2, 4, 7, 9))
    def test_unchecked_copy_is_the_nearest_known_frame(self, seed, t, h, w):
        rng = np.random.default_rng(seed)
        frames = rng.random((1, t, h, w, 3), dtype=np.float32)
        masks = (rng.random((1, t, h, w, 1)) < 0.6).astype(np.float32)
        out, remaining = TemporalPropagation(reach=t, tolerance=float("inf"),
                                             motion="none")([frames, masks])
        expected, never = nearest_copy(frames, masks)
        self.assertAllEqual(out[0], expected)  # exact copies, earlier frame on ties
        self.assertAllEqual(remaining[0, ..., 0], never.astype(np.float32))

    def test_still_camera_fills_every_pixel_some_frame_shows(self):
        frames, masks = still_clip(8, 24, 40), moving_holes(8, 24, 40)
        out, remaining = TemporalPropagation(reach=7)([frames, masks])
        never = masks[0, ..., 0].astype(bool).all(axis=0)
        self.assertTrue(never.any() and not never.all())
        self.assertAllEqual(np.asarray(remaining)[0, ..., 0],
                            np.broadcast_to(never, (8,) + never.shape).astype(np.float32))
        filled = np.asarray(remaining)[..., 0] == 0
        self.assertAllEqual(np.asarray(out)[filled], frames[filled])  # the truth, exactly

    def test_panning_camera_without_motion_copies_nothing_and_the_check_is_what_stops_it(self):
        frames, masks = panning_clip(6, 24, 40), moving_holes(6, 24, 40)
        out, remaining = TemporalPropagation(reach=5, motion="none")([frames, masks])
        self.assertAllEqual(remaining, masks)
        self.assertAllEqual(out, frames * (1 - masks))
        # Without the check the same clip gets copies, and they are wrong (the image moved).
        out, remaining = TemporalPropagation(reach=5, tolerance=float("inf"),
                                             motion="none")([frames, masks])
        copied = (np.asarray(remaining) == 0) & (masks == 1)
        self.assertGreater(copied.mean() / masks.mean(), 0.5)
        error = np.abs(np.asarray(out) - frames).mean(-1, keepdims=True)[copied]
        self.assertGreater(error.mean(), 0.2)

    @parameterized.parameters((5, 0), (-3, 1), (12, 2))
    def test_panning_camera_is_followed_and_copies_are_the_truth(self, step, seed):
        # A textured image panned `step` pixels per frame: a hole pixel takes the colour of its
        # scene point from another frame, exactly, wherever that point is in view and known.
        t, h, w = 8, 64, 96
        frames = textured_pan(t, h, w, step, seed=seed)
        masks = moving_holes(t, h, w, seed=seed)
        out, remaining = TemporalPropagation(reach=t - 1)([frames, masks])
        out, remaining = np.asarray(out), np.asarray(remaining)[..., 0]
        holes = masks[0, ..., 0] == 1
        filled = (remaining[0] == 0) & holes
        seen = seen_in_pan(holes, step)
        self.assertGreater(seen.sum(), 0.3 * holes.sum())
        self.assertGreater((filled & seen).sum(), 0.85 * seen.sum())
        self.assertAllEqual(out[0][filled], frames[0][filled])
        # The zero-motion copy fills almost nothing of this clip.
        _, still = TemporalPropagation(reach=t - 1, motion="none")([frames, masks])
        self.assertLess(((np.asarray(still)[0, ..., 0] == 0) & holes).sum(), 0.1 * seen.sum())

    def test_motion_none_and_translation_agree_on_a_still_camera(self):
        frames, masks = still_clip(6, 24, 40, seed=3), moving_holes(6, 24, 40, seed=3)
        follow = TemporalPropagation(reach=5)([frames, masks])
        still = TemporalPropagation(reach=5, motion="none")([frames, masks])
        for a, b in zip(follow, still):
            self.assertAllEqual(a, b)

    def test_a_local_change_blocks_only_the_copies_near_it(self):
        # A still clip where a square in frame 1 changes colour (a moving object): holes of
        # frame 0 next to it must not copy from frame 1, holes far from it must.
        frames = still_clip(2, 32, 64)
        frames[0, 1, 4:20, 4:20] = 1.0 - frames[0, 1, 4:20, 4:20]
        masks = np.zeros((1, 2, 32, 64, 1), np.float32)
        masks[0, 0, 8:16, 22:26] = 1  # beside the square (within the 31-pixel patch)
        masks[0, 0, 8:16, 56:60] = 1  # far from it
        _, remaining = TemporalPropagation(reach=1, patch=15)([frames, masks])
        remaining = np.asarray(remaining)[0, 0, ..., 0]
        self.assertTrue(remaining[8:16, 22:26].all())
        self.assertFalse(remaining[8:16, 56:60].any())

    def test_reach_limits_the_search(self):
        frames = still_clip(5, 8, 8)
        masks = np.ones((1, 5, 8, 8, 1), np.float32)
        masks[0, 4] = 0  # only the last frame is known
        _, remaining = TemporalPropagation(reach=2)([frames, masks])
        self.assertAllEqual(np.asarray(remaining)[0, :, 0, 0, 0], [1, 1, 0, 0, 0])

    def test_large_hole_falls_back_to_the_whole_frame_check(self):
        # The hole covers far more than the patch: its centre has no co-known pixels nearby,
        # so the whole-frame comparison decides (still: copy; panning: no copy).
        for clip, copies in ((still_clip, True), (panning_clip, False)):
            frames = clip(2, 64, 64)
            masks = np.zeros((1, 2, 64, 64, 1), np.float32)
            masks[0, 0, 4:60, 4:60] = 1
            _, remaining = TemporalPropagation(reach=1, patch=5, motion="none")([frames, masks])
            self.assertEqual(bool(np.asarray(remaining)[0, 0, 32, 32, 0] == 0), copies,
                             clip.__name__)

    @parameterized.parameters("float32", "mixed_float16", "mixed_bfloat16")
    def test_float32_under_every_policy_and_round_trip(self, policy):
        keras.config.set_dtype_policy(policy)
        try:
            layer = TemporalPropagation(reach=3, patch=7, tolerance=0.05, min_support=0.2)
            frames, masks = still_clip(4, 12, 16), moving_holes(4, 12, 16)
            out, remaining = layer([frames, masks])
            self.assertEqual((out.dtype, remaining.dtype), ("float32", "float32"))
            clone = TemporalPropagation.from_config(layer.get_config())
            restored = keras.saving.deserialize_keras_object(
                keras.saving.serialize_keras_object(layer))
            for other in (clone, restored):
                self.assertEqual(other.get_config(), layer.get_config())
                self.assertAllEqual(other([frames, masks])[0], out)
        finally:
            keras.config.set_dtype_policy("float32")

    def test_one_trace_serves_any_shape(self):
        layer = TemporalPropagation(reach=4)
        spec = [tf.TensorSpec([None, None, None, None, 3]), tf.TensorSpec([None, None, None, None, 1])]
        traced = tf.function(lambda f, m: layer([f, m]), input_signature=spec)
        for t, h, w in ((3, 10, 14), (7, 21, 9)):
            frames, masks = still_clip(t, h, w), moving_holes(t, h, w)
            self.assertAllEqual(traced(frames, masks)[1], layer([frames, masks])[1])
        self.assertLen(traced._list_all_concrete_functions(), 1)

    @parameterized.parameters(
        ({"reach": 0}, "reach"), ({"patch": 4}, "patch"), ({"tolerance": 0}, "tolerance"),
        ({"min_support": 1.5}, "min_support"), ({"motion": "flow"}, "motion"))
    def test_bad_arguments(self, kwargs, name):
        with self.assertRaisesRegex(ValueError, name):
            TemporalPropagation(**kwargs)


class PropagationInUseTest(TestCase):
    """The inpainter and the SavedModel export propagate by default."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        from lgtsm_tf import build_generator

        keras.utils.set_random_seed(0)
        cls.generator = build_generator("lgtsm", nf=4)
        cls.frames = np.rint(still_clip(6, 20, 28)[0] * 255).astype(np.uint8)
        cls.masks = moving_holes(6, 20, 28)[0, ..., 0].astype(np.uint8)
        cls.seen = cls.masks.astype(bool) & ~cls.masks.astype(bool).all(axis=0)

    def test_inpainter_copies_seen_pixels_exactly(self):
        from lgtsm_tf.inference import VideoInpainter

        on = VideoInpainter(self.generator, window=6, overlap=0)
        off = VideoInpainter(self.generator, window=6, overlap=0, propagate=False)
        self.assertEqual(on.propagation.reach, 5 + PROPAGATION_CONTEXT)
        self.assertEqual(on.context, PROPAGATION_CONTEXT)
        self.assertIsNone(off.propagation)
        with_copy = on.inpaint_array(self.frames, self.masks)
        without = off.inpaint_array(self.frames, self.masks)
        self.assertAllEqual(with_copy[self.seen], self.frames[self.seen])
        self.assertGreater(np.abs(without[self.seen].astype(int) - self.frames[self.seen]).mean(),
                           10)

    def test_inpainter_follows_a_panning_camera(self):
        from lgtsm_tf.inference import VideoInpainter

        frames = np.rint(textured_pan(8, 32, 48, 4, seed=5)[0] * 255).astype(np.uint8)
        masks = moving_holes(8, 32, 48, seed=5)[0, ..., 0].astype(np.uint8)
        seen = seen_in_pan(masks.astype(bool), 4)
        errors = {}
        for motion in ("translation", "none"):
            inpainter = VideoInpainter(self.generator, window=4, overlap=0,
                                       propagate=TemporalPropagation(reach=7, motion=motion))
            out = inpainter.inpaint_array(frames, masks)
            errors[motion] = np.abs(out[seen].astype(int) - frames[seen]).mean()
        self.assertLess(errors["translation"], 0.2 * errors["none"], errors)

    def test_windows_copy_from_their_context_frames(self):
        from lgtsm_tf.inference import VideoInpainter

        # 12 still frames, windows of 3: the hole of frames 0-5 is known only in frame 6 and
        # later, i.e. outside the first windows but within their context.
        frames = np.rint(still_clip(12, 12, 16)[0] * 255).astype(np.uint8)
        masks = np.zeros((12, 12, 16), np.uint8)
        masks[:6, 4:8, 4:12] = 1
        hole = masks.astype(bool)
        out = VideoInpainter(self.generator, window=3, overlap=0).inpaint_array(frames, masks)
        self.assertAllEqual(out[hole], frames[hole])
        # A reach of 2 (context 2) reaches frame 6 only from frames 4 and 5.
        short = VideoInpainter(self.generator, window=3, overlap=0,
                               propagate=TemporalPropagation(reach=2))
        self.assertEqual(short.context, 2)
        out = short.inpaint_array(frames, masks)
        exact = (out == frames).all(axis=-1) & hole
        self.assertTrue(exact[4:6, 4:8, 4:12].all())
        self.assertLess(exact[:3].mean() / hole[:3].mean(), 0.5)

    def test_saved_model_propagates_in_the_graph_and_says_so(self):
        from lgtsm_tf.export import savedmodel
        from lgtsm_tf.inference import VideoInpainter, load_model

        base = tempfile.mkdtemp(prefix="propagation_export_")
        self.addCleanup(shutil.rmtree, base, ignore_errors=True)
        result = savedmodel.export_saved_model(self.generator, base, 1,
                                               verify_shapes=[(1, 4, 10, 14)])
        self.assertEqual(result["propagation"]["reach"], savedmodel.EXPORT_REACH)
        with open(os.path.join(base, "1", savedmodel.METADATA_PATH)) as f:
            self.assertEqual(json.load(f)["propagation"], result["propagation"])
        loaded = tf.saved_model.load(os.path.join(base, "1"))
        out = loaded.signatures["serving_default"](
            frames=tf.constant(self.frames[None]),
            masks=tf.constant(self.masks[None, ..., None] * 255))["inpainted"].numpy()[0]
        self.assertAllEqual(out[self.seen], self.frames[self.seen])
        # The inpainter does not propagate a second time around such a SavedModel ...
        model = load_model(os.path.join(base, "1"))
        self.assertTrue(model.propagates)
        self.assertIsNone(VideoInpainter(model, window=6, overlap=0).propagation)
        # ... and a bare export does not propagate.
        bare = savedmodel.export_saved_model(self.generator, base, 2, propagate=False,
                                             verify_shapes=[(1, 4, 10, 14)])
        self.assertIsNone(bare["propagation"])
        self.assertFalse(load_model(os.path.join(base, "2")).propagates)

    def test_inpaint_cli_propagates_unless_told_not_to(self):
        from lgtsm_tf import video_io
        from lgtsm_tf.inference import VideoInpainter
        from tests.testing import run_inpaint_cli

        folder = tempfile.mkdtemp(prefix="propagation_cli_")
        self.addCleanup(shutil.rmtree, folder, ignore_errors=True)
        model = os.path.join(folder, "g.keras")
        self.generator.save(model)
        video, masks = os.path.join(folder, "in.mp4"), os.path.join(folder, "masks")
        video_io.write_video(video, self.frames, 10, lossless=True)
        video_io.write_frame_folder(masks, self.masks * 255)
        outputs = {}
        for flag, state in (("--propagate", "on"), ("--nopropagate", "off")):
            output = os.path.join(folder, f"{state}.mp4")
            code, out, err = run_inpaint_cli(
                f"--video={video}", f"--masks={masks}", f"--output={output}", f"--model={model}",
                "--window=6", "--overlap=0", "--lossless", "--precision=fp32", "--noprogress",
                flag)
            self.assertEqual(code, 0, err)
            self.assertIn(f"temporal propagation {state}", out)
            outputs[state] = video_io.read_video(output)[0]
        self.assertAllEqual(outputs["on"][self.seen], self.frames[self.seen])
        expected = VideoInpainter(self.generator, window=6, overlap=0, propagate=False)
        self.assertAllEqual(outputs["off"], expected.inpaint_array(self.frames, self.masks))
