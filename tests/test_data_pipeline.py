"""Tests for lgtsm_tf.data.pipeline: clip sampling and the tf.data pipelines (tiny clips)."""

import os
import shutil
import tempfile

import numpy as np
import tensorflow as tf
from absl.testing import parameterized
from PIL import Image

from lgtsm_tf import masks as masks_lib
from lgtsm_tf.data import make_training_datasets
from lgtsm_tf.data import pipeline as P
from lgtsm_tf.data import sources as S

T, H, W = 4, 32, 48  # clip length and output size used throughout


def coded_video(source_id, num_frames=12, h=40, w=56):
    """Constant frames that say where they came from: R = 10 * t, G = 20 * source_id + 5."""
    frames = np.zeros((num_frames, h, w, 3), np.uint8)
    frames[..., 0] = (10 * np.arange(num_frames))[:, None, None]
    frames[..., 1] = 20 * source_id + 5
    frames[..., 2] = 200
    return frames


def decode_ids(batch):
    """(source ids [B], frame indices [B, T]) from a batch of coded_video clips."""
    frames = np.rint(batch["frames"].numpy() * 255).astype(int)
    t = frames[:, :, H // 2, W // 2, 0] // 10
    s = (frames[:, :, H // 2, W // 2, 1] - 5) // 20
    assert (s == s[:, :1]).all(), "a clip mixes videos"
    return s[:, 0], t


def take(ds, n):
    return [b for b in ds.take(n)]


class TestCase(tf.test.TestCase, parameterized.TestCase):
    test_session = None

    def coded_sources(self, n=5, num_frames=12):
        return [S.memory_source(coded_video(i, num_frames), name=f"v{i}") for i in range(n)]


class ShapesAndValuesTest(TestCase):

    @parameterized.named_parameters(("augment", True), ("plain", False))
    def test_element_spec_shapes_dtypes_ranges(self, augment):
        ds = P.build_dataset(self.coded_sources(), T, H, W, batch_size=2, seed=0,
                             augment=augment)
        spec = ds.element_spec
        self.assertEqual(set(spec), {"frames", "masks"})
        self.assertEqual(spec["frames"].shape.as_list(), [2, T, H, W, 3])
        self.assertEqual(spec["masks"].shape.as_list(), [2, T, H, W, 1])
        self.assertEqual((spec["frames"].dtype, spec["masks"].dtype), (tf.float32, tf.float32))
        for batch in take(ds, 3):
            frames, masks = batch["frames"].numpy(), batch["masks"].numpy()
            self.assertEqual(frames.shape, (2, T, H, W, 3))
            self.assertGreaterEqual(frames.min(), 0.0)
            self.assertLessEqual(frames.max(), 1.0)
            self.assertEqual(set(np.unique(masks)) - {0.0, 1.0}, set())
            # Coded frames are constant, so any resize keeps them exact: B channel 200/255.
            self.assertAllClose(frames[..., 2], np.full(frames.shape[:-1], 200 / 255), atol=1e-6)
            self.assertGreater(masks.mean(), 0.0)  # strokes were drawn

    def test_generated_masks_match_lgtsm_masks(self):
        sampler = P.ClipSampler(self.coded_sources(), T, H, W, seed=3,
                                mask_presets=["object_like_small"])
        _, got = sampler(7)
        expected = masks_lib.sample_masks(T, H, W, np.random.default_rng([3, 7, 1]),
                                          ["object_like_small"])
        np.testing.assert_array_equal(got, expected)

    def test_paths_are_discovered(self):
        folder = tempfile.mkdtemp(prefix="data_pipeline_test_")
        self.addCleanup(shutil.rmtree, folder, ignore_errors=True)
        for i in range(2):
            vid = os.path.join(folder, f"vid{i}")
            os.mkdir(vid)
            for t, frame in enumerate(coded_video(i, 6)):
                Image.fromarray(frame).save(os.path.join(vid, f"{t}.png"))
        ds = P.build_dataset(folder, T, H, W, batch_size=2, seed=0, repeat=False,
                             augment=False, shuffle=False)
        (batch,) = take(ds, 2)
        ids, _ = decode_ids(batch)
        np.testing.assert_array_equal(ids, [0, 1])


class DeterminismTest(TestCase):

    def test_same_seed_same_clips_and_masks(self):
        kwargs = dict(batch_size=2, max_stride=2, seed=11)
        a = take(P.build_dataset(self.coded_sources(), T, H, W, num_parallel_calls=1, **kwargs), 4)
        b = take(P.build_dataset(self.coded_sources(), T, H, W, num_parallel_calls=4, **kwargs), 4)
        for x, y in zip(a, b):
            self.assertAllEqual(x["frames"], y["frames"])
            self.assertAllEqual(x["masks"], y["masks"])
        c = take(P.build_dataset(self.coded_sources(), T, H, W, batch_size=2, max_stride=2,
                                 seed=12), 4)
        self.assertFalse(all(np.array_equal(x["masks"], y["masks"]) for x, y in zip(a, c)))

    def test_every_video_once_per_epoch_in_a_seeded_order(self):
        n = 5
        ds = P.build_dataset(self.coded_sources(n), T, H, W, batch_size=1, seed=1)
        ids = [int(decode_ids(b)[0][0]) for b in take(ds, 3 * n)]
        for epoch in range(3):
            self.assertCountEqual(ids[epoch * n:(epoch + 1) * n], range(n))
        self.assertNotEqual(ids[:n], ids[n:2 * n])  # reshuffled each epoch
        ordered = P.build_dataset(self.coded_sources(n), T, H, W, batch_size=1, seed=1,
                                  shuffle=False, repeat=False)
        self.assertEqual([int(decode_ids(b)[0][0]) for b in ordered], list(range(n)))


class ShardTest(TestCase):

    def test_shards_get_disjoint_clips_covering_the_epoch(self):
        sources = self.coded_sources(6)
        seen = []
        for index in range(2):
            ds = P.build_dataset(sources, T, H, W, batch_size=1, seed=5, repeat=False,
                                 shard=(2, index))
            seen.append([int(decode_ids(b)[0][0]) for b in ds])
        self.assertLen(seen[0], 3)
        self.assertLen(seen[1], 3)
        self.assertEmpty(set(seen[0]) & set(seen[1]))
        self.assertCountEqual(seen[0] + seen[1], range(6))
        # Endless streams of the two shards differ too.
        a = take(P.build_dataset(sources, T, H, W, batch_size=2, seed=5, shard=(2, 0)), 3)
        b = take(P.build_dataset(sources, T, H, W, batch_size=2, seed=5, shard=(2, 1)), 3)
        self.assertFalse(any(np.array_equal(x["frames"], y["frames"]) for x, y in zip(a, b)))

    def test_input_context_splits_the_global_batch(self):
        ctx = tf.distribute.InputContext(num_input_pipelines=2, input_pipeline_id=1,
                                         num_replicas_in_sync=2)
        ds = P.build_dataset(self.coded_sources(), T, H, W, batch_size=4, seed=0, shard=ctx)
        self.assertEqual(ds.element_spec["frames"].shape.as_list(), [2, T, H, W, 3])
        self.assertEqual(ds.options().experimental_distribute.auto_shard_policy,
                         tf.data.experimental.AutoShardPolicy.OFF)
        with self.assertRaisesRegex(ValueError, "index < num_shards"):
            P.build_dataset(self.coded_sources(), T, H, W, batch_size=4, shard=(2, 2))


class StrideTest(TestCase):

    def test_random_stride_in_range(self):
        ds = P.build_dataset(self.coded_sources(3, num_frames=20), T, H, W, batch_size=1,
                             seed=2, max_stride=3)
        strides = set()
        for batch in take(ds, 30):
            _, t = decode_ids(batch)
            steps = np.diff(t[0])
            self.assertLen(set(steps.tolist()), 1, msg=f"uneven stride {t}")
            strides.add(int(steps[0]))
            self.assertTrue(0 <= t[0, 0] and t[0, -1] < 20)
        self.assertEqual(strides, {1, 2, 3})

    def test_stride_capped_to_fit_and_default_stride_one(self):
        short = [S.memory_source(coded_video(0, num_frames=7))]  # stride 3 needs 10 frames
        sampler = P.ClipSampler(short, T, H, W, max_stride=3, seed=0)
        self.assertEqual({sampler.plan(i).stride for i in range(40)}, {1, 2})
        plain = P.ClipSampler(self.coded_sources(), T, H, W, seed=0)
        self.assertEqual({plain.plan(i).stride for i in range(20)}, {1})
        starts = {plain.plan(i).frame_indices[0] for i in range(60)}
        self.assertEqual(starts, set(range(12 - T + 1)))  # every start is used


class AugmentTest(TestCase):

    def pattern_source(self):
        """Static frames: white left third (R=G=B=255) else black; disk masks = that region."""
        frames = np.zeros((8, 40, 60, 3), np.uint8)
        frames[:, :, :20] = 255
        frames[:, :, 20:] = [0, 0, 90]
        masks = np.zeros((8, 40, 60), np.uint8)
        masks[:, :, :20] = 1
        return S.memory_source(frames, masks)

    def test_flip_applied_identically_to_frames_and_disk_masks(self):
        ds = P.build_dataset([self.pattern_source()], T, H, W, batch_size=1, seed=4,
                             masks="disk", zoom_range=(1.0, 1.0))
        flipped = 0
        batches = take(ds, 16)
        for batch in batches:
            frames, masks = batch["frames"].numpy()[0], batch["masks"].numpy()[0, ..., 0]
            white = (frames[..., 0] > 0.5).astype(np.float32)
            self.assertAllEqual(masks, white)  # exact: no resampling at zoom 1
            if white[0, :, -1].all():
                flipped += 1
                self.assertFalse(white[0, :, 0].any())
        self.assertBetween(flipped, 1, len(batches) - 1)  # some flipped, some not

    def test_random_crop_moves_frames_and_masks_together(self):
        ds = P.build_dataset([self.pattern_source()], T, H, W, batch_size=1, seed=4,
                             masks="disk", zoom_range=(1.2, 1.5))
        edges = set()
        for batch in take(ds, 12):
            frames, masks = batch["frames"].numpy()[0], batch["masks"].numpy()[0, ..., 0]
            white = frames[..., 0] > 0.5
            agree = np.mean(white == (masks > 0.5))
            self.assertGreater(agree, 0.97)  # only bilinear vs nearest boundary pixels differ
            for t in range(1, T):  # one transform for the whole clip
                self.assertAllEqual(frames[t], frames[0])
                self.assertAllEqual(masks[t], masks[0])
            edges.add(int(white[0, H // 2].sum()))
        self.assertGreater(len(edges), 2)  # the crop position / zoom changes between clips


class EvalTest(TestCase):

    def test_fixed_clips_and_masks(self):
        sources = [S.memory_source(coded_video(i, 12, H, W)) for i in range(3)]
        ds = P.build_eval_dataset(sources, T, H, W, batch_size=1, clips_per_video=3, seed=7)
        batches = list(ds)
        self.assertLen(batches, 9)
        starts = [(int(decode_ids(b)[0][0]), int(decode_ids(b)[1][0, 0])) for b in batches]
        self.assertEqual(starts, [(v, s) for v in range(3) for s in (0, 4, 8)])
        for b in batches:  # no augmentation and same size: exact frames
            ids, t = decode_ids(b)
            self.assertAllEqual(np.rint(b["frames"][0].numpy() * 255).astype(np.uint8),
                                coded_video(int(ids[0]), 12, H, W)[t[0]])
        again = list(P.build_eval_dataset(sources, T, H, W, clips_per_video=3, seed=7))
        for x, y in zip(batches, again):
            self.assertAllEqual(x["masks"], y["masks"])
        other = list(P.build_eval_dataset(sources, T, H, W, clips_per_video=3, seed=8))
        self.assertFalse(all(np.array_equal(x["masks"], y["masks"]) for x, y in zip(batches, other)))


class MaskPoolTest(TestCase):

    def test_pool_windows_repeat_the_last_mask_and_resize(self):
        folder = tempfile.mkdtemp(prefix="data_pipeline_pool_")
        self.addCleanup(shutil.rmtree, folder, ignore_errors=True)
        # One mask video of 2 frames at 2x the output size: frame k has rows [8k, 8k+8) open.
        vid = os.path.join(folder, "m0")
        os.mkdir(vid)
        for k in range(2):
            m = np.zeros((2 * H, 2 * W), np.uint8)
            m[16 * k:16 * k + 16] = 255
            Image.fromarray(m).save(os.path.join(vid, f"{k}.png"))
        ds = P.build_dataset(self.coded_sources(), T, H, W, batch_size=1, seed=0, masks="pool",
                             mask_pool=folder)
        masks = take(ds, 1)[0]["masks"].numpy()[0, ..., 0]
        expected = np.zeros((T, H, W), np.float32)
        for t in range(T):
            k = min(t, 1)
            expected[t, 8 * k:8 * k + 8] = 1
        self.assertAllEqual(masks, expected)


class TrainingDatasetsTest(TestCase):

    def test_embedded_defaults(self):
        train, val = make_training_datasets(
            ["embedded"], ["embedded"], mask_presets=["object_like_small"], clip_length=T,
            height=H, width=W, max_stride=2, batch_size=2, eval_steps=2, seed=0,
            strategy=tf.distribute.get_strategy())
        self.assertEqual(train.element_spec["frames"].shape.as_list(), [2, T, H, W, 3])
        first = list(val)
        self.assertLen(first, 2)
        second = list(val)
        for x, y in zip(first, second):  # the same fixed batches at every evaluation
            self.assertAllEqual(x["frames"], y["frames"])
            self.assertAllEqual(x["masks"], y["masks"])
        batch = next(iter(train))
        self.assertEqual(batch["masks"].shape, (2, T, H, W, 1))
        _, none = make_training_datasets(["embedded"], [], clip_length=T, height=H, width=W,
                                         batch_size=2)
        self.assertIsNone(none)

    def test_paths_with_mask_folder_and_errors(self):
        root = tempfile.mkdtemp(prefix="data_pipeline_flags_")
        self.addCleanup(shutil.rmtree, root, ignore_errors=True)
        for sub in ("videos/a", "masks/a"):
            os.makedirs(os.path.join(root, sub))
        for t, frame in enumerate(coded_video(0, 6)):
            Image.fromarray(frame).save(os.path.join(root, "videos/a", f"{t}.png"))
            Image.fromarray(np.full(frame.shape[:2], 255 * (t % 2), np.uint8)).save(
                os.path.join(root, "masks/a", f"{t}.png"))
        train, _ = make_training_datasets(
            [os.path.join(root, "videos")], [], masks=os.path.join(root, "masks"),
            clip_length=T, height=H, width=W, batch_size=1)
        batch = next(iter(train))
        _, t = decode_ids(batch)
        per_frame = batch["masks"].numpy()[0].mean(axis=(1, 2, 3))
        self.assertAllEqual(per_frame, (t[0] % 2).astype(np.float32))  # the disk masks
        with self.assertRaisesRegex(FileNotFoundError, "nowhere: --masks must be"):
            make_training_datasets(["embedded"], [], masks=os.path.join(root, "nowhere"))
        with self.assertRaisesRegex(ValueError, "embedded dataset has no masks on disk"):
            make_training_datasets(["embedded"], [], masks=os.path.join(root, "masks"))
        with self.assertRaisesRegex(ValueError, "multiple of the 2 replicas"):
            make_training_datasets(["embedded"], [], batch_size=3,
                                   strategy=type("S", (), {"num_replicas_in_sync": 2})())


class ErrorTest(TestCase):

    def test_short_videos(self):
        short = S.memory_source(coded_video(0, 3), name="tiny")
        with self.assertRaisesRegex(ValueError, "<memory:tiny>: has 3 frame"):
            P.build_dataset([short] + self.coded_sources(2), T, H, W, batch_size=1)
        ds = P.build_dataset([short] + self.coded_sources(2), T, H, W, batch_size=1, seed=0,
                             repeat=False, skip_short_videos=True, shuffle=False)
        self.assertEqual([int(decode_ids(b)[0][0]) for b in ds], [0, 1])

    def test_disk_masks_required(self):
        with self.assertRaisesRegex(ValueError, "<memory:v0>: masks='disk' but this video has "
                                    "no masks"):
            P.build_dataset(self.coded_sources(1), T, H, W, batch_size=1, masks="disk")
        with self.assertRaisesRegex(ValueError, "masks must be one of"):
            P.build_dataset(self.coded_sources(1), T, H, W, batch_size=1, masks="random")

    def test_read_error_at_runtime_names_the_file(self):
        folder = tempfile.mkdtemp(prefix="data_pipeline_err_")
        self.addCleanup(shutil.rmtree, folder, ignore_errors=True)
        for t, frame in enumerate(coded_video(0, 6)):
            Image.fromarray(frame).save(os.path.join(folder, f"{t}.png"))
        source = S.probe_video(folder)
        bad = os.path.join(folder, "2.png")
        with open(bad, "wb") as f:
            f.write(b"not a png any more")
        ds = P.build_eval_dataset([source], 6, H, W)
        with self.assertRaisesRegex(tf.errors.OpError, f"{bad}: cannot decode image"):
            list(ds)


if __name__ == "__main__":
    tf.test.main()
