"""Tests for lgtsm_tf.data.tfrecord: sharded writer, reader, lossless round trip."""

import glob
import json
import os
import shutil
import tempfile

import numpy as np
import tensorflow as tf
from absl.testing import parameterized

from lgtsm_tf.data import sources as S
from lgtsm_tf.data import tfrecord as R

H, W = 24, 32


def noise_video(seed, num_frames):
    rng = np.random.default_rng(seed)
    frames = rng.integers(0, 256, (num_frames, H, W, 3), dtype=np.uint8)
    masks = (rng.random((num_frames, H, W)) < 0.3).astype(np.uint8)
    return frames, masks


class TFRecordTest(tf.test.TestCase, parameterized.TestCase):
    test_session = None

    def setUp(self):
        super().setUp()
        self.dir = tempfile.mkdtemp(prefix="data_tfrecord_test_")
        self.addCleanup(shutil.rmtree, self.dir, ignore_errors=True)
        self.videos = [noise_video(i, n) for i, n in enumerate((9, 4, 6))]
        self.sources = [S.memory_source(f, m, name=f"v{i}")
                        for i, (f, m) in enumerate(self.videos)]

    def expected_clips(self, length, stride=1):
        """Every non-overlapping clip, as the writer's default picks them."""
        span = (length - 1) * stride + 1
        clips = []
        for frames, masks in self.videos:
            for start in range(0, len(frames) - span + 1, span):
                idx = list(range(start, start + span, stride))
                clips.append((frames[idx], masks[idx]))
        return clips

    def test_png_round_trip_is_lossless(self):
        out = os.path.join(self.dir, "records")
        summary = R.write_tfrecords(self.sources, out, num_shards=2, clip_length=3)
        expected = self.expected_clips(3)  # 3 + 1 + 2 = 6 clips
        self.assertEqual(summary["num_clips"], len(expected))
        self.assertEqual(summary["clips_per_shard"], [3, 3])
        self.assertTrue(summary["has_masks"])
        self.assertCountEqual(os.listdir(out), ["clips-00000-of-00002.tfrecord",
                                                "clips-00001-of-00002.tfrecord", "metadata.json"])
        with open(os.path.join(out, "metadata.json")) as f:
            self.assertEqual(json.load(f)["num_clips"], 6)

        ds = R.read_tfrecords(out, 3, H, W, batch_size=1, masks="disk", augment=False,
                              shuffle=False, repeat=False, seed=0)
        self.assertEqual(ds.element_spec["frames"].shape.as_list(), [1, 3, H, W, 3])
        got = [(np.rint(b["frames"][0].numpy() * 255).astype(np.uint8),
                b["masks"][0, ..., 0].numpy().astype(np.uint8)) for b in ds]
        self.assertLen(got, len(expected))
        unmatched = list(expected)
        for frames, masks in got:
            hits = [i for i, (f, m) in enumerate(unmatched)
                    if np.array_equal(f, frames) and np.array_equal(m, masks)]
            self.assertLen(hits, 1, msg="a read clip is not bit-identical to a written one")
            unmatched.pop(hits[0])
        self.assertEmpty(unmatched)

    def test_parse_clip_metadata_and_stride(self):
        out = os.path.join(self.dir, "records")
        R.write_tfrecords(self.sources[:1], out, num_shards=1, clip_length=3, stride=2,
                          clips_per_video=2, include_masks=False)
        records = list(tf.data.TFRecordDataset(R.tfrecord_files(out)))
        self.assertLen(records, 2)
        parsed = [R.parse_clip(r) for r in records]
        self.assertEqual([int(p["start"]) for p in parsed], [0, 4])  # span 5 in 9 frames
        self.assertEqual({int(p["stride"]) for p in parsed}, {2})
        self.assertEqual(parsed[0]["name"].numpy(), b"v0")
        self.assertEqual(parsed[0]["masks"].shape[0], 0)  # no masks stored
        self.assertAllEqual(parsed[1]["frames"], self.videos[0][0][[4, 6, 8]])

    def test_resize_on_write_and_jpeg(self):
        out = os.path.join(self.dir, "jpeg")
        smooth = np.repeat(np.linspace(0, 255, W, dtype=np.uint8)[None, None, :, None],
                           H, 1).repeat(3, -1).repeat(4, 0)
        source = S.memory_source(np.ascontiguousarray(smooth), name="smooth")
        R.write_tfrecords([source], out, num_shards=1, clip_length=4, height=12, width=16,
                          image_format="jpeg")
        (record,) = list(tf.data.TFRecordDataset(R.tfrecord_files(out)))
        frames = R.parse_clip(record)["frames"].numpy()
        self.assertEqual(frames.shape, (4, 12, 16, 3))
        reference = np.linspace(0, 255, W)[1::2]  # roughly what a 2x bilinear shrink gives
        self.assertLess(np.abs(frames[0, 6, :, 0] - reference).mean(), 6.0)

    def test_generated_masks_augment_determinism_and_windows(self):
        out = os.path.join(self.dir, "records")
        R.write_tfrecords(self.sources, out, num_shards=3, clip_length=4, clips_per_video=1)

        def make(seed):
            return R.read_tfrecords(out, 2, 16, 16, batch_size=2, seed=seed, max_stride=3,
                                    shuffle_buffer=4)

        a, b, c = (list(make(s).take(4)) for s in (1, 1, 2))
        for x, y in zip(a, b):
            self.assertAllEqual(x["frames"], y["frames"])
            self.assertAllEqual(x["masks"], y["masks"])
        self.assertFalse(all(np.array_equal(x["masks"], y["masks"]) for x, y in zip(a, c)))
        for x in a:
            self.assertEqual(x["frames"].shape, (2, 2, 16, 16, 3))
            self.assertEqual(x["masks"].shape, (2, 2, 16, 16, 1))
            self.assertBetween(float(tf.reduce_min(x["frames"])), 0.0, 1.0)
            self.assertBetween(float(tf.reduce_max(x["frames"])), 0.0, 1.0)
            self.assertEqual(set(np.unique(x["masks"])) - {0.0, 1.0}, set())

    def test_reader_shards_are_disjoint(self):
        out = os.path.join(self.dir, "records")
        R.write_tfrecords(self.sources, out, num_shards=2, clip_length=2)  # 4 + 2 + 3 clips
        seen = []
        for index in range(2):
            ds = R.read_tfrecords(out, 2, H, W, batch_size=1, masks="disk", augment=False,
                                  shuffle=False, repeat=False, shard=(2, index))
            seen.append({b["frames"].numpy().tobytes() for b in ds})
        self.assertEmpty(seen[0] & seen[1])
        self.assertLen(seen[0] | seen[1], 9)

    def test_refuses_to_overwrite_and_leaves_nothing_on_failure(self):
        out = os.path.join(self.dir, "records")
        R.write_tfrecords(self.sources, out, num_shards=1, clip_length=2)
        existing = os.path.join(out, "clips-00000-of-00001.tfrecord")
        with self.assertRaisesRegex(FileExistsError, existing):
            R.write_tfrecords(self.sources, out, num_shards=1, clip_length=2)
        # A source that fails while being read: no shard (or partial file) is left behind.
        folder = os.path.join(self.dir, "frames")
        os.mkdir(folder)
        from PIL import Image  # pylint: disable=import-outside-toplevel
        for t, frame in enumerate(self.videos[0][0]):
            Image.fromarray(frame).save(os.path.join(folder, f"{t}.png"))
        source = S.probe_video(folder)
        bad = os.path.join(folder, "5.png")
        with open(bad, "wb") as f:
            f.write(b"garbage")
        out2 = os.path.join(self.dir, "records2")
        with self.assertRaisesRegex(ValueError, f"{bad}: cannot decode image"):
            R.write_tfrecords([source], out2, num_shards=2, clip_length=2)
        self.assertEqual(glob.glob(os.path.join(out2, "*")) + glob.glob(os.path.join(out2, ".*")),
                         [])

    def test_errors(self):
        with self.assertRaisesRegex(FileNotFoundError, "nowhere"):
            R.read_tfrecords(os.path.join(self.dir, "nowhere"), 2, H, W, 1)
        out = os.path.join(self.dir, "records")
        R.write_tfrecords(self.sources, out, num_shards=1, clip_length=2, include_masks=False)
        ds = R.read_tfrecords(out, 2, H, W, 1, masks="disk", shuffle=False, repeat=False)
        with self.assertRaisesRegex(tf.errors.OpError, "masks='disk' but the record stores 0"):
            list(ds)
        with self.assertRaisesRegex(ValueError, "<memory:v1>: include_masks=True"):
            R.write_tfrecords([S.memory_source(self.videos[1][0], name="v1")],
                              os.path.join(self.dir, "x"), 1, 2, include_masks=True)


if __name__ == "__main__":
    tf.test.main()
