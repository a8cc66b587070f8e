"""Tests for lgtsm_tf.data.clip_spec: one ClipSpec taken by every clip reader, old form kept."""

import os
import shutil
import tempfile

import numpy as np
import tensorflow as tf
from absl.testing import parameterized

from lgtsm_tf import masks as masks_lib
from lgtsm_tf.data import clip_spec as C
from lgtsm_tf.data import pipeline as P
from lgtsm_tf.data import sources as S
from lgtsm_tf.data import tfrecord as R

T, H, W = 4, 24, 32


def sources(n=3, num_frames=10):
    rng = np.random.default_rng(0)
    return [S.memory_source(rng.integers(0, 256, (num_frames, 30, 40, 3), np.uint8),
                            name=f"v{i}") for i in range(n)]


def memory_masks():
    data = np.zeros((2, H, W), np.uint8)
    return S.MaskSource("<memory>", "memory", 2, (H, W), data=data)


def arrays(ds, n):
    return [(b["frames"].numpy(), b["masks"].numpy()) for b in ds.take(n)]


class ClipSpecTest(tf.test.TestCase, parameterized.TestCase):
    test_session = None

    def test_fields_are_normalised(self):
        spec = C.ClipSpec(np.int64(T), H, W, mask_presets="rand_curve", zoom_range=[1, 1.5],
                          flip_prob=1, augment=0)
        self.assertEqual(spec.shape, (T, H, W))
        self.assertIsInstance(spec.clip_length, int)
        self.assertEqual(spec.mask_presets, (masks_lib.PRESETS["rand_curve"],))
        self.assertEqual((spec.zoom_range, spec.flip_prob, spec.augment), ((1.0, 1.5), 1.0, False))
        self.assertEqual(spec.replace(height=8).shape, (T, 8, W))

    @parameterized.named_parameters(
        ("length", dict(clip_length=0), "clip_length must be a positive integer"),
        ("height_bool", dict(height=True), "height must be a positive integer"),
        ("stride", dict(max_stride=0), "max_stride must be a positive integer"),
        ("masks", dict(masks="random"), "masks must be one of"),
        ("zoom", dict(zoom_range=(0.5, 1.0)), "zoom_range must satisfy 1 <= lo <= hi"),
        ("flip", dict(flip_prob=1.5), r"flip_prob must be in \[0, 1\]"),
        ("preset", dict(mask_presets=["nope"]), "Unknown mask preset 'nope'"),
        ("no_presets", dict(mask_presets=[]), "mask_presets must not be empty"),
        ("area", dict(mask_area_range=(0.5, 0.2)), "area_range must satisfy"),
        ("pool", dict(masks="pool"), "masks='pool' needs mask_pool"),
        ("empty_pool", dict(masks="pool", mask_pool=[]), "mask_pool is empty"),
    )
    def test_bad_field_is_named(self, changes, message):
        fields = dict(clip_length=T, height=H, width=W)
        fields.update(changes)
        with self.assertRaisesRegex(ValueError, message):
            C.ClipSpec(**fields)
        if "clip_length" not in changes:  # replace() checks again
            with self.assertRaisesRegex(ValueError, message):
                C.ClipSpec(T, H, W).replace(**changes)

    def test_presets_are_only_checked_for_generated_masks(self):
        spec = C.ClipSpec(T, H, W, masks="disk", mask_presets=["nope"])
        self.assertEqual(spec.mask_presets, ["nope"])

    @parameterized.parameters((1, 30), (3, 30), (4, 10), (8, 4))
    def test_random_window_fits(self, max_stride, num_frames):
        spec = C.ClipSpec(T, H, W, max_stride=max_stride)
        rng = np.random.default_rng(1)
        strides = set()
        for _ in range(200):
            start, stride = spec.random_window(num_frames, rng)
            self.assertBetween(stride, 1, max_stride)
            self.assertGreaterEqual(start, 0)
            self.assertLess(start + (T - 1) * stride, num_frames)
            strides.add(stride)
        cap = min(max_stride, (num_frames - 1) // (T - 1))
        self.assertEqual(strides, set(range(1, cap + 1)))

    @parameterized.named_parameters(
        ("missing_size", (T, (H,), {}), "give a ClipSpec, or clip_length, height and width"),
        ("too_many", (C.ClipSpec(T, H, W), (2, 3), {}), "too many positional arguments"),
        ("unknown_field", (T, (H, W), {"colour": 1}), "unexpected keyword argument 'colour'"),
    )
    def test_resolve_refuses_a_wrong_call(self, call, message):
        spec, args, options = call
        with self.assertRaisesRegex(TypeError, message):
            C.resolve(spec, args, options, rest=("batch_size",))

    def test_resolve_both_forms(self):
        spec = C.ClipSpec(T, H, W, max_stride=2)
        self.assertEqual(C.resolve(spec, (5,), {}, rest=("batch_size",)),
                         (spec, {"batch_size": 5}))
        self.assertEqual(C.resolve(T, (H, W), {"max_stride": 2}), (spec, {}))
        self.assertEqual(C.resolve(spec, (), {"max_stride": 3})[0], spec.replace(max_stride=3))


class ReadersTakeTheSpecTest(tf.test.TestCase, parameterized.TestCase):
    """Every reader gives the same elements from a ClipSpec as from the older argument list."""
    test_session = None

    options = dict(max_stride=2, zoom_range=(1.0, 1.3), mask_presets=["object_like_small"],
                   mask_area_range=(0.01, 0.9))

    def test_build_dataset(self):
        spec = C.ClipSpec(T, H, W, **self.options)
        old = P.build_dataset(sources(), T, H, W, 2, seed=3, **self.options)
        new = P.build_dataset(sources(), spec, 2, seed=3)
        by_name = P.build_dataset(sources(), spec, batch_size=2, seed=3)
        replaced = P.build_dataset(sources(), C.ClipSpec(T, H, W), batch_size=2, seed=3,
                                   **self.options)
        expected = arrays(old, 3)
        for ds in (new, by_name, replaced):
            for (f0, m0), (f1, m1) in zip(expected, arrays(ds, 3)):
                self.assertAllEqual(f0, f1)
                self.assertAllEqual(m0, m1)

    def test_build_eval_dataset_ignores_augmentation(self):
        plain = P.build_eval_dataset(sources(), C.ClipSpec(T, H, W, augment=False), seed=2,
                                     clips_per_video=2)
        augmented = P.build_eval_dataset(sources(), C.ClipSpec(T, H, W, max_stride=3), seed=2,
                                         clips_per_video=2)
        old = P.build_eval_dataset(sources(), T, H, W, seed=2, clips_per_video=2)
        a, b, c = (arrays(ds, 6) for ds in (plain, augmented, old))
        self.assertLen(a, 6)
        for (f0, m0), (f1, m1), (f2, m2) in zip(a, b, c):
            self.assertAllEqual(f0, f1)
            self.assertAllEqual(f0, f2)
            self.assertAllEqual(m0, m1)
            self.assertAllEqual(m0, m2)

    @parameterized.named_parameters(
        ("twice", lambda s: P.build_dataset(sources(), s, 2, batch_size=2),
         "batch_size given twice"),
        ("missing", lambda s: P.build_dataset(sources(), s), "batch_size is required"),
        ("bad", lambda s: P.build_dataset(sources(), s, 0), "batch_size must be a positive"),
        ("tfrecord_pool", lambda s: R.read_tfrecords(
            "x", s.replace(masks="pool", mask_pool=[memory_masks()]), 1),
         "masks must be 'generated' or 'disk' for TFRecords"),
    )
    def test_reader_call_errors(self, call, message):
        with self.assertRaisesRegex((TypeError, ValueError), message):
            call(C.ClipSpec(T, H, W))

    def test_read_tfrecords(self):
        root = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, root)
        out = os.path.join(root, "records")
        R.write_tfrecords(sources(), out, clip_length=8, num_shards=2)
        spec = C.ClipSpec(T, H, W, **self.options)
        old = R.read_tfrecords(out, T, H, W, 2, seed=4, **self.options)
        new = R.read_tfrecords(out, spec, 2, seed=4)
        for (f0, m0), (f1, m1) in zip(arrays(old, 3), arrays(new, 3)):
            self.assertAllEqual(f0, f1)
            self.assertAllEqual(m0, m1)
