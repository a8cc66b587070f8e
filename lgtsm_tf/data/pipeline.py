"""Clip sampling and the tf.data input pipelines for training and validation.

:func:`build_dataset` (training) and :func:`build_eval_dataset` (validation) return a
``tf.data.Dataset`` of dicts

    {"frames": float32 [B, T, H, W, 3] in [0, 1],
     "masks":  float32 [B, T, H, W, 1] in {0, 1}, 1 = hole}

with fully static shapes (the last incomplete batch is dropped).

How an element is made (:class:`ClipSampler`, plain numpy, usable without TensorFlow): element
number ``g`` of the stream is a pure function of ``(seed, g)``:

* training: epoch ``e = g // N`` visits the ``N`` videos in a seeded random order (each video
  once per epoch, as in the reference whose dataset length is the number of videos); the clip
  takes ``clip_length`` frames with a temporal stride drawn in ``[1, max_stride]`` (capped so
  the clip fits) starting at a uniform random frame; ``augment`` then applies one random resized
  crop (zoom in ``zoom_range``) and horizontal flip to every frame of the clip **and** to its
  masks from disk; without ``augment`` frames are resized to ``(H, W)`` (aspect not kept,
  as in the reference);
* validation: clip ``j`` of video ``v`` starts at a fixed frame (evenly spaced, the first clip at
  frame 0), stride 1, no augmentation, no shuffling, one pass;
* masks: ``"generated"`` draws moving free-form strokes with :func:`lgtsm_tf.masks.sample_masks`
  at the output size from a generator seeded by ``(seed, g)`` (so validation masks are fixed per
  clip for a given seed); ``"disk"`` reads each video's own masks at the clip's frames and
  transforms them with the frames; ``"pool"`` picks a random mask video from ``mask_pool`` (e.g.
  made with ``lgtsm-make-masks``) and a random window of ``clip_length`` masks (the last mask is
  repeated if it is shorter), resized to ``(H, W)`` with nearest neighbour and not augmented,
  like the reference's ``mask_type='random'``.

Decoding runs in ``tf.numpy_function`` calls mapped with ``num_parallel_calls`` (PyAV and Pillow
release the GIL while decoding), followed by ``prefetch``. Because each element depends only on
``(seed, g)``, a seeded pipeline yields the same clips and masks in the same order on every run,
whatever the parallelism. Sharding (``shard=(num_shards, index)`` or a
``tf.distribute.InputContext``) gives shard ``k`` the elements ``g = k, k + n, k + 2n, ...``: the
shards see different clips and together cover every video of each epoch.

Errors while reading (a file deleted or corrupted after validation) stop iteration with a
``tf.errors`` exception whose message names the file.
"""

from __future__ import annotations

import dataclasses
import functools
import os
from typing import Optional, Sequence, Tuple, Union

import numpy as np
import tensorflow as tf
from absl import logging
from PIL import Image

from lgtsm_tf import contract
from lgtsm_tf import masks as masks_lib
from lgtsm_tf.data import augment as augment_lib
from lgtsm_tf.data import clip_spec as clip_spec_lib
from lgtsm_tf.data import sources as sources_lib
from lgtsm_tf.data.clip_spec import DEFAULT_ZOOM_RANGE, MASK_MODES, ClipSpec, positive_int

__all__ = [
    "MASK_MODES",
    "DEFAULT_ZOOM_RANGE",
    "ClipSpec",
    "ClipPlan",
    "ClipSampler",
    "build_dataset",
    "build_eval_dataset",
    "resolve_shard",
    "to_model_inputs",
]

def resolve_seed(seed: Optional[int]) -> int:
    """``seed`` as a non-negative int; ``None`` draws one from OS entropy."""
    if seed is None:
        return int(np.random.SeedSequence().generate_state(1, dtype=np.uint64)[0] >> 1)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer or None, got {seed!r}")
    return int(seed)


def resolve_shard(shard, batch_size: int) -> Tuple[int, int, int]:
    """``(num_shards, index, per_shard_batch_size)`` from ``None``, a pair or an InputContext.

    With a ``tf.distribute.InputContext``, ``batch_size`` is the global batch size and each
    input pipeline batches ``input_context.get_per_replica_batch_size(batch_size)`` clips.
    """
    if shard is None:
        return 1, 0, batch_size
    if isinstance(shard, tf.distribute.InputContext):
        return (int(shard.num_input_pipelines), int(shard.input_pipeline_id),
                int(shard.get_per_replica_batch_size(batch_size)))
    try:
        num, index = (int(v) for v in shard)
    except (TypeError, ValueError):
        raise ValueError(f"shard must be None, (num_shards, index) or a "
                         f"tf.distribute.InputContext, got {shard!r}") from None
    if num < 1 or not 0 <= index < num:
        raise ValueError(f"shard must satisfy num_shards >= 1 and 0 <= index < num_shards, "
                         f"got {shard!r}")
    return num, index, batch_size


@dataclasses.dataclass(frozen=True)
class ClipPlan:
    """What element ``index`` reads: ``frame_indices`` of ``sources[source_index]``."""

    index: int
    source_index: int
    frame_indices: Tuple[int, ...]
    stride: int
    transform: augment_lib.ClipTransform


class ClipSampler:
    """Element index -> one clip, as uint8 numpy arrays (the numpy core of the pipelines).

    ``sampler(g)`` returns ``(frames uint8 [T, H, W, 3], masks uint8 [T, H, W] in {0, 1})``;
    the result depends only on ``(seed, g)``. See the module docstring for the sampling rules and
    :class:`~lgtsm_tf.data.clip_spec.ClipSpec` for the clip (``ClipSampler(sources, spec)``, or
    the older ``ClipSampler(sources, T, H, W, masks=..., ...)``). ``mode`` is ``"train"`` (random
    clips, epochs of ``len(sources)`` elements in a seeded order when ``shuffle``) or ``"eval"``
    (``clips_per_video`` fixed clips per video in order, stride 1, no augmentation).
    """

    def __init__(
        self,
        sources: Sequence[sources_lib.VideoSource],
        spec: Union[ClipSpec, int],
        *size,
        seed: int = 0,
        shuffle: bool = True,
        mode: str = "train",
        clips_per_video: int = 1,
        skip_short_videos: bool = False,
        **clip_options,
    ):
        spec, _ = clip_spec_lib.resolve(spec, size, clip_options)
        self.clips_per_video = positive_int("clips_per_video", clips_per_video)
        if mode not in ("train", "eval"):
            raise ValueError(f"mode must be 'train' or 'eval', got {mode!r}")
        if mode == "eval":
            spec = spec.replace(augment=False, max_stride=1)
        self.spec, self.mode, self.shuffle = spec, mode, bool(shuffle)
        self.seed = resolve_seed(seed)
        self.sources = self._check_sources(sources, skip_short_videos)

    def _check_sources(self, sources, skip_short):
        sources = list(sources)
        if not sources:
            raise ValueError("no video sources given")
        for s in sources:
            if not isinstance(s, sources_lib.VideoSource):
                raise TypeError(f"sources must be VideoSource records (see discover_sources), "
                                f"got {type(s).__name__}")
        if self.spec.masks == "disk":
            missing = [s.path for s in sources if not s.has_masks]
            if missing:
                raise sources_lib.SourceError(
                    [f"{p}: masks='disk' but this video has no masks" for p in missing])
        short = [s for s in sources if s.num_frames < self.spec.clip_length]
        if short and skip_short:
            logging.warning("Skipping %d video(s) shorter than clip_length=%d (e.g. %s)",
                            len(short), self.spec.clip_length, short[0].path)
            sources = [s for s in sources if s.num_frames >= self.spec.clip_length]
            if not sources:
                raise ValueError(f"every video is shorter than clip_length="
                                 f"{self.spec.clip_length}")
        elif short:
            raise sources_lib.SourceError([
                f"{s.path}: has {s.num_frames} frame(s), fewer than clip_length="
                f"{self.spec.clip_length} (leave such videos out with skip_short_videos=True, or "
                f"--skip_short_videos in trainers/train.py)"
                for s in short])
        return sources

    def __len__(self) -> int:
        """Elements per epoch: one clip per video (train) or ``clips_per_video`` (eval)."""
        n = len(self.sources)
        return n if self.mode == "train" else n * self.clips_per_video

    @functools.lru_cache(maxsize=4)
    def _epoch_order(self, epoch: int) -> np.ndarray:
        return np.random.default_rng([self.seed, epoch, 2]).permutation(len(self.sources))

    def plan(self, index: int) -> ClipPlan:
        """Which frames of which video element ``index`` reads, and its geometric transform."""
        index = int(index)
        if index < 0:
            raise ValueError(f"element index must be >= 0, got {index}")
        rng = np.random.default_rng([self.seed, index, 0])
        length = self.spec.clip_length
        if self.mode == "train":
            epoch, pos = divmod(index, len(self.sources))
            src = int(self._epoch_order(epoch)[pos]) if self.shuffle else pos
            start, stride = self.spec.random_window(self.sources[src].num_frames, rng)
        else:
            if index >= len(self):
                raise IndexError(f"eval element {index} out of range [0, {len(self)})")
            src, j = divmod(index, self.clips_per_video)
            n = self.sources[src].num_frames
            stride = 1
            last = n - length
            start = 0 if self.clips_per_video == 1 else int(round(j * last / (self.clips_per_video - 1)))
        h, w = self.sources[src].size
        if self.spec.augment:
            transform = augment_lib.random_transform(h, w, rng, self.spec.zoom_range,
                                                     self.spec.flip_prob)
        else:
            transform = augment_lib.identity_transform(h, w)
        frames = tuple(range(start, start + (length - 1) * stride + 1, stride))
        return ClipPlan(index, src, frames, stride, transform)

    def _pool_masks(self, rng: np.random.Generator) -> np.ndarray:
        pool = self.spec.mask_pool[int(rng.integers(len(self.spec.mask_pool)))]
        length = self.spec.clip_length
        if pool.num_frames is None:
            idx = [0] * length
        elif pool.num_frames >= length:
            start = int(rng.integers(0, pool.num_frames - length + 1))
            idx = list(range(start, start + length))
        else:  # shorter mask video: repeat its last mask (as the reference does)
            idx = list(range(pool.num_frames)) + [pool.num_frames - 1] * (length - pool.num_frames)
        masks = pool.read(idx)
        if masks.shape[1:] != (self.spec.height, self.spec.width):
            size = (self.spec.width, self.spec.height)
            masks = np.stack([np.asarray(Image.fromarray(m).resize(size, Image.Resampling.NEAREST))
                              for m in masks])
        return masks

    def __call__(self, index) -> Tuple[np.ndarray, np.ndarray]:
        spec, plan = self.spec, self.plan(int(index))
        source = self.sources[plan.source_index]
        frames = source.read_frames(plan.frame_indices)
        disk = source.masks.read(plan.frame_indices) if spec.masks == "disk" else None
        frames, disk = augment_lib.apply_transform(frames, disk, plan.transform, spec.height,
                                                   spec.width)
        mask_rng = np.random.default_rng([self.seed, plan.index, 1])
        if spec.masks == "disk":
            masks = disk
        elif spec.masks == "pool":
            masks = self._pool_masks(mask_rng)
        else:
            masks = masks_lib.sample_masks(*spec.shape, mask_rng, spec.mask_presets,
                                           spec.mask_area_range)
        return frames, np.ascontiguousarray(masks, dtype=np.uint8)


def to_model_inputs(frames_uint8: tf.Tensor, masks_uint8: tf.Tensor) -> dict:
    """uint8 ``[..., T, H, W, 3]`` frames and ``[..., T, H, W]`` {0, 1} masks -> model dict
    ``{"frames": float32 in [0, 1], "masks": float32 [..., T, H, W, 1] in {0, 1}}``
    (`lgtsm_tf.contract.model_inputs_tf`)."""
    return contract.model_inputs_tf(frames_uint8, masks_uint8)


def _as_sources(sources):
    if isinstance(sources, (str, os.PathLike)) or (
            isinstance(sources, (list, tuple)) and sources
            and isinstance(sources[0], (str, os.PathLike))):
        return sources_lib.discover_sources(sources, mask_root="auto")
    return sources


def _clip_dataset(sampler: ClipSampler, indices: tf.data.Dataset, batch_size: int,
                  num_parallel_calls, deterministic: bool, sharded: bool) -> tf.data.Dataset:
    t, h, w = sampler.spec.shape

    def load(index):
        frames, masks = tf.numpy_function(sampler, [index], [tf.uint8, tf.uint8], stateful=False,
                                          name="read_clip")
        return tf.ensure_shape(frames, [t, h, w, 3]), tf.ensure_shape(masks, [t, h, w])

    ds = indices.map(load, num_parallel_calls=num_parallel_calls, deterministic=deterministic)
    ds = ds.batch(batch_size, drop_remainder=True)
    ds = ds.map(to_model_inputs, num_parallel_calls=tf.data.AUTOTUNE, deterministic=deterministic)
    ds = ds.prefetch(tf.data.AUTOTUNE)
    options = tf.data.Options()
    options.deterministic = deterministic
    if sharded:  # we shard ourselves: tf.distribute must not shard again
        options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.OFF
    return ds.with_options(options)


def build_dataset(
    sources,
    spec: Union[ClipSpec, int],
    *args,
    batch_size: Optional[int] = None,
    seed: Optional[int] = None,
    shuffle: bool = True,
    repeat: bool = True,
    num_parallel_calls: int = tf.data.AUTOTUNE,
    shard: Union[None, Tuple[int, int], tf.distribute.InputContext] = None,
    skip_short_videos: bool = False,
    **clip_options,
) -> tf.data.Dataset:
    """Training input pipeline: random clips as described by ``spec``.

    ``build_dataset(sources, spec, batch_size)``, or in the older form
    ``build_dataset(sources, clip_length, height, width, batch_size, masks=..., ...)`` with the
    :class:`~lgtsm_tf.data.clip_spec.ClipSpec` fields as keywords.

    Args:
      sources: ``list[VideoSource]`` (from :func:`~lgtsm_tf.data.sources.discover_sources`,
        :func:`~lgtsm_tf.data.embedded.embedded_sources`, ...) or path(s) to discover.
      spec: the clips: ``T`` frames at ``H x W``, masks, stride and augmentation; videos shorter
        than ``T`` are an error (or skipped).
      batch_size: clips per batch ``B`` (the global batch with an InputContext, see ``shard``);
        the last incomplete batch is dropped so shapes are static.
      seed: makes the sequence of clips and masks reproducible; ``None`` draws a seed.
      shuffle: visit videos in a seeded random order each epoch (else in the given order).
      repeat: endless stream of epochs; ``False`` gives one epoch (one clip per video).
      num_parallel_calls: parallel clip decoders.
      shard: ``(num_shards, index)`` or a ``tf.distribute.InputContext``; shards get disjoint
        elements (``g = index, index + num_shards, ...``) and tf.distribute auto-sharding is
        turned off.
      skip_short_videos: leave out videos shorter than ``T`` (logged) instead of raising.
      **clip_options: ClipSpec fields replacing the spec's (or making it, in the older form).

    Returns:
      ``tf.data.Dataset`` of ``{"frames": float32 [B, T, H, W, 3] in [0, 1],
      "masks": float32 [B, T, H, W, 1] in {0, 1} (1 = hole)}``.
    """
    spec, batch = spec_and_batch(spec, args, clip_options, batch_size, required=True)
    num_shards, shard_index, batch = resolve_shard(shard, batch)
    sampler = ClipSampler(_as_sources(sources), spec, seed=seed, shuffle=shuffle, mode="train",
                          skip_short_videos=skip_short_videos)
    if repeat:
        indices = tf.data.Dataset.counter(start=shard_index, step=num_shards)
    else:
        indices = tf.data.Dataset.range(shard_index, len(sampler), num_shards)
    return _clip_dataset(sampler, indices, batch, num_parallel_calls,
                         deterministic=seed is not None, sharded=shard is not None)


def build_eval_dataset(
    sources,
    spec: Union[ClipSpec, int],
    *args,
    batch_size: Optional[int] = None,
    clips_per_video: int = 1,
    seed: int = 0,
    num_parallel_calls: int = tf.data.AUTOTUNE,
    shard: Union[None, Tuple[int, int], tf.distribute.InputContext] = None,
    skip_short_videos: bool = False,
    **clip_options,
) -> tf.data.Dataset:
    """Validation pipeline: fixed clips and fixed masks, in order, one pass.

    Called like :func:`build_dataset` (``batch_size`` defaults to 1). Clip ``j`` of each video
    starts at ``round(j * (num_frames - T) / (clips_per_video - 1))`` (frame 0 when
    ``clips_per_video=1``), stride 1; frames are resized to ``(H, W)`` without augmentation
    (the spec's ``augment`` and ``max_stride`` are not used); generated / pool masks are drawn
    from ``(seed, element)``, so they are the same on every call with the same seed. Same
    element format as :func:`build_dataset`; with ``batch_size > 1`` a final partial batch is
    dropped (logged).
    """
    spec, batch = spec_and_batch(spec, args, clip_options, batch_size, required=False)
    num_shards, shard_index, batch = resolve_shard(shard, batch)
    sampler = ClipSampler(_as_sources(sources), spec, seed=seed, shuffle=False, mode="eval",
                          clips_per_video=clips_per_video, skip_short_videos=skip_short_videos)
    count = len(range(shard_index, len(sampler), num_shards))
    if count % batch:
        logging.warning("Validation: %d clip(s) do not fill a batch of %d and are dropped",
                        count % batch, batch)
    indices = tf.data.Dataset.range(shard_index, len(sampler), num_shards)
    return _clip_dataset(sampler, indices, batch, num_parallel_calls, deterministic=True,
                         sharded=shard is not None)


def spec_and_batch(spec, args, clip_options, batch_size, required: bool):
    """``(ClipSpec, batch size)`` of a reader's arguments in either form (see
    :func:`lgtsm_tf.data.clip_spec.resolve`); ``batch_size`` positional or keyword, given
    (``required``) or 1."""
    spec, rest = clip_spec_lib.resolve(spec, args, clip_options, rest=("batch_size",))
    if "batch_size" in rest:
        if batch_size is not None:
            raise TypeError("batch_size given twice, by position and by name")
        batch_size = rest["batch_size"]
    if batch_size is None:
        if required:
            raise TypeError("batch_size is required")
        batch_size = 1
    return spec, positive_int("batch_size", batch_size)
