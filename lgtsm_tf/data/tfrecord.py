"""Sharded TFRecord clip datasets: write once from any sources, stream at scale.

Each ``tf.train.Example`` holds one clip:

=============== ======================= ================================================
feature         type                    content
=============== ======================= ================================================
``frames``      bytes list, T entries   encoded frames (PNG, lossless, or JPEG), RGB
``masks``       bytes list, 0 or T      8-bit grey PNG masks, 255 = hole, 0 = known
``num_frames``  int64                   T
``height``      int64                   frame height
``width``       int64                   frame width
``start``       int64                   first frame index in the source video
``stride``      int64                   temporal stride in the source video
``name``        bytes                   source video name
=============== ======================= ================================================

Files are ``OUTPUT_DIR/clips-00000-of-00004.tfrecord`` ... plus ``metadata.json`` (clip
length, counts, format, whether masks are stored). :func:`read_tfrecords` yields the same
``{"frames": float32 [B, T, H, W, 3] in [0, 1], "masks": float32 [B, T, H, W, 1]}`` dicts as
:func:`lgtsm_tf.data.pipeline.build_dataset`, with the same augmentation code (a random
window and stride within each stored clip, random resized crop + flip applied to frames and
stored masks alike) and the same generated-mask option.
"""

from __future__ import annotations

import io
import json
import os
import time
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import tensorflow as tf
from absl import logging
from PIL import Image

from lgtsm_tf import atomic
from lgtsm_tf import masks as masks_lib
from lgtsm_tf.data import augment as augment_lib
from lgtsm_tf.data import clip_spec as clip_spec_lib
from lgtsm_tf.data import pipeline as pipeline_lib
from lgtsm_tf.data import sources as sources_lib

__all__ = [
    "IMAGE_FORMATS",
    "shard_paths",
    "write_tfrecords",
    "tfrecord_files",
    "parse_clip",
    "read_tfrecords",
]

IMAGE_FORMATS = ("png", "jpeg")
METADATA_FILE = "metadata.json"


def shard_paths(output_dir: str, num_shards: int, prefix: str = "clips") -> List[str]:
    """``[output_dir/clips-00000-of-0000N.tfrecord, ...]``."""
    return [os.path.join(output_dir, f"{prefix}-{i:05d}-of-{num_shards:05d}.tfrecord")
            for i in range(num_shards)]


def _encode(image: np.ndarray, image_format: str, jpeg_quality: int) -> bytes:
    buf = io.BytesIO()
    if image_format == "png":
        Image.fromarray(image).save(buf, format="PNG", compress_level=1)
    else:
        Image.fromarray(image).save(buf, format="JPEG", quality=jpeg_quality)
    return buf.getvalue()


def _clip_starts(num_frames: int, span: int, clips_per_video: Optional[int]) -> List[int]:
    if num_frames < span:
        return []
    if clips_per_video is None:  # every non-overlapping window
        return list(range(0, num_frames - span + 1, span))
    if clips_per_video == 1:
        return [0]
    last = num_frames - span
    return sorted({int(round(j * last / (clips_per_video - 1))) for j in range(clips_per_video)})


def _example(frames: List[bytes], masks: Optional[List[bytes]], height: int, width: int,
             start: int, stride: int, name: str) -> bytes:
    def ints(v):
        return tf.train.Feature(int64_list=tf.train.Int64List(value=[int(v)]))

    feature = {
        "frames": tf.train.Feature(bytes_list=tf.train.BytesList(value=frames)),
        "masks": tf.train.Feature(bytes_list=tf.train.BytesList(value=masks or [])),
        "num_frames": ints(len(frames)),
        "height": ints(height),
        "width": ints(width),
        "start": ints(start),
        "stride": ints(stride),
        "name": tf.train.Feature(bytes_list=tf.train.BytesList(value=[name.encode("utf-8")])),
    }
    return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()


def write_tfrecords(
    sources,
    output_dir: str,
    num_shards: int,
    clip_length: int,
    *,
    clips_per_video: Optional[int] = None,
    stride: int = 1,
    height: Optional[int] = None,
    width: Optional[int] = None,
    image_format: str = "png",
    jpeg_quality: int = 95,
    include_masks: Union[bool, str] = "auto",
    overwrite: bool = False,
    log_every: int = 100,
) -> Dict:
    """Write clips of ``sources`` into ``num_shards`` TFRecord files.

    Args:
      sources: ``list[VideoSource]`` or path(s) for :func:`~lgtsm_tf.data.sources.discover_sources`.
      output_dir: created if needed.
      num_shards: number of files; clip ``c`` (counted over all videos in order) goes to shard
        ``c % num_shards``, so shards are balanced and each mixes all videos.
      clip_length: frames per stored clip (store longer clips than you train on to let the
        reader pick random windows and strides).
      clips_per_video: ``None`` = every non-overlapping clip of each video; ``k`` = ``k``
        evenly spaced clips (the first at frame 0). Videos shorter than one clip are skipped
        and logged.
      stride: temporal stride of the stored frames.
      height, width: resize frames (bilinear) and masks (nearest) to this size before encoding;
        ``None`` keeps each video's size.
      image_format: ``"png"`` (lossless) or ``"jpeg"`` (``jpeg_quality``). Masks are always PNG.
      include_masks: ``True`` (every source must have masks), ``False``, or ``"auto"`` (store
        masks when every source has them).
      overwrite: replace existing shard files; otherwise ``FileExistsError`` before writing.
      log_every: log progress every this many clips.

    Returns:
      ``{"files": [paths], "clips_per_shard": [ints], "num_clips": int, "has_masks": bool,
      "skipped_videos": [paths]}`` (also written to ``metadata.json``).

    Raises:
      FileExistsError, ValueError naming the offending file. Files are written under temporary
      names and renamed only when every shard is complete, so a failure leaves no shard files.
    """
    if isinstance(sources, (str, os.PathLike)) or (
            isinstance(sources, (list, tuple)) and sources
            and isinstance(sources[0], (str, os.PathLike))):
        sources = sources_lib.discover_sources(sources)
    sources = list(sources)
    if not sources:
        raise ValueError("write_tfrecords: no sources")
    for name, value in (("num_shards", num_shards), ("clip_length", clip_length),
                        ("stride", stride), ("log_every", log_every)):
        clip_spec_lib.positive_int(name, value)
    if clips_per_video is not None:
        clip_spec_lib.positive_int("clips_per_video", clips_per_video)
    if (height is None) != (width is None):
        raise ValueError("give both height and width, or neither")
    if image_format not in IMAGE_FORMATS:
        raise ValueError(f"image_format must be one of {IMAGE_FORMATS}, got {image_format!r}")
    if include_masks == "auto":
        include_masks = all(s.has_masks for s in sources)
    elif include_masks is True:
        missing = [s.path for s in sources if not s.has_masks]
        if missing:
            raise sources_lib.SourceError(
                [f"{p}: include_masks=True but this video has no masks" for p in missing])
    include_masks = bool(include_masks)

    output_dir = os.fspath(output_dir)
    os.makedirs(output_dir, exist_ok=True)
    paths = shard_paths(output_dir, num_shards)
    meta_path = os.path.join(output_dir, METADATA_FILE)
    # Shards and metadata.json are written under hidden names and renamed together at the end.
    with atomic.atomic_outputs(
            paths + [meta_path], overwrite, keep_ext=False, empty_dir_ok=False,
            message="{first}: already exists (pass overwrite=True to replace the {count} "
                    "existing file(s))") as tmp_paths:
        meta_tmp = tmp_paths.pop()
        writers = [tf.io.TFRecordWriter(p) for p in tmp_paths]
        counts = [0] * num_shards
        skipped = []
        span = (clip_length - 1) * stride + 1
        clip_no = 0
        began = time.time()
        try:
            for source in sources:
                starts = _clip_starts(source.num_frames, span, clips_per_video)
                if not starts:
                    logging.warning("%s: %d frame(s), shorter than one clip of %d (stride %d); "
                                    "skipped", source.path, source.num_frames, clip_length, stride)
                    skipped.append(source.path)
                    continue
                # One streaming pass per video: frame index -> the clips (and positions) using it.
                users: Dict[int, List[Tuple[int, int]]] = {}
                for c, start in enumerate(starts):
                    for pos in range(clip_length):
                        users.setdefault(start + pos * stride, []).append((c, pos))
                pending: Dict[int, List] = {c: [None] * clip_length for c in range(len(starts))}
                remaining = {c: clip_length for c in range(len(starts))}
                for index, frame in source.iter_frames(sorted(users)):
                    for c, pos in users[index]:
                        pending[c][pos] = frame
                        remaining[c] -= 1
                        if remaining[c]:
                            continue
                        frames = np.stack(pending.pop(c))
                        indices = [starts[c] + p * stride for p in range(clip_length)]
                        masks = source.masks.read(indices) if include_masks else None
                        if height is not None:
                            transform = augment_lib.identity_transform(*frames.shape[1:3])
                            frames, masks = augment_lib.apply_transform(frames, masks, transform,
                                                                        height, width)
                        encoded = [_encode(f, image_format, jpeg_quality) for f in frames]
                        encoded_masks = None if masks is None else [
                            _encode((m > 0).astype(np.uint8) * 255, "png", 0) for m in masks]
                        shard = clip_no % num_shards
                        writers[shard].write(_example(
                            encoded, encoded_masks, frames.shape[1], frames.shape[2], starts[c],
                            stride, source.name or os.path.basename(source.path)))
                        counts[shard] += 1
                        clip_no += 1
                        if clip_no % log_every == 0:
                            logging.info("write_tfrecords: %d clips (%.1f clips/s)", clip_no,
                                         clip_no / max(time.time() - began, 1e-9))
            for w in writers:
                w.close()
            if clip_no == 0:
                raise ValueError(f"{output_dir}: no clips written: every video is shorter than "
                                 f"{span} frames")
            summary = {
                "files": paths, "clips_per_shard": counts, "num_clips": clip_no,
                "clip_length": clip_length, "stride": stride, "image_format": image_format,
                "has_masks": include_masks, "skipped_videos": skipped,
                "num_videos": len(sources) - len(skipped),
            }
            with open(meta_tmp, "w") as f:
                json.dump({**summary, "files": [os.path.basename(p) for p in paths]}, f, indent=2)
        except BaseException:
            for w in writers:
                try:
                    w.close()
                except Exception:  # pylint: disable=broad-except
                    pass
            raise
    logging.info("write_tfrecords: wrote %d clips to %d shard(s) in %s (%.1f s)", clip_no,
                 num_shards, output_dir, time.time() - began)
    return summary


def tfrecord_files(path: Union[str, Sequence[str]]) -> List[str]:
    """TFRecord files from a directory (``*.tfrecord``), a glob pattern, a file or a list.

    Raises ``FileNotFoundError`` naming the path if nothing matches.
    """
    if not isinstance(path, (str, os.PathLike)):
        files = []
        for p in path:
            files.extend(tfrecord_files(p))
        return files
    path = os.fspath(path)
    if os.path.isdir(path):
        files = sorted(tf.io.gfile.glob(os.path.join(path, "*.tfrecord")))
    elif tf.io.gfile.exists(path):
        files = [path]
    else:
        files = sorted(tf.io.gfile.glob(path))
    if not files:
        raise FileNotFoundError(f"{path}: no TFRecord files (*.tfrecord) found")
    return files


_FEATURES = {
    "frames": tf.io.RaggedFeature(tf.string),
    "masks": tf.io.RaggedFeature(tf.string),
    "num_frames": tf.io.FixedLenFeature([], tf.int64),
    "height": tf.io.FixedLenFeature([], tf.int64),
    "width": tf.io.FixedLenFeature([], tf.int64),
    "start": tf.io.FixedLenFeature([], tf.int64, default_value=0),
    "stride": tf.io.FixedLenFeature([], tf.int64, default_value=1),
    "name": tf.io.FixedLenFeature([], tf.string, default_value=""),
}


def parse_clip(serialized: tf.Tensor) -> Dict[str, tf.Tensor]:
    """Decode one serialized clip (graph or eager).

    Returns ``{"frames": uint8 [T, h, w, 3], "masks": uint8 [T', h, w] in {0, 1}`` (``T' = 0``
    when no masks are stored), ``"name"``: string, ``"start"``, ``"stride"``: int64}``. A clip
    whose decoded frames disagree with its stored ``num_frames``/``height``/``width`` raises
    ``InvalidArgumentError``.
    """
    ex = tf.io.parse_single_example(serialized, _FEATURES)
    frames = tf.map_fn(
        lambda b: tf.io.decode_image(b, channels=3, expand_animations=False),
        ex["frames"], fn_output_signature=tf.TensorSpec([None, None, 3], tf.uint8))
    masks = tf.cond(  # (map_fn cannot run eagerly over zero elements)
        tf.size(ex["masks"]) > 0,
        lambda: tf.map_fn(lambda b: tf.io.decode_png(b, channels=1)[..., 0], ex["masks"],
                          fn_output_signature=tf.TensorSpec([None, None], tf.uint8)),
        lambda: tf.zeros(tf.cast(tf.stack([0, ex["height"], ex["width"]]), tf.int32), tf.uint8))
    expected = tf.stack([ex["num_frames"], ex["height"], ex["width"]])
    got = tf.cast(tf.shape(frames)[:3], tf.int64)
    check = tf.debugging.Assert(
        tf.reduce_all(tf.equal(got, expected)),
        ["TFRecord clip", ex["name"], "decodes to [T, h, w] =", got, "but stores",
         expected, "(corrupt record?)"])
    with tf.control_dependencies([check]):
        frames = tf.identity(frames)
    masks = tf.cast(masks > 0, tf.uint8)
    return {"frames": frames, "masks": masks, "name": ex["name"], "start": ex["start"],
            "stride": ex["stride"]}


class _RecordProcessor:
    """numpy: decoded stored clip -> (frames uint8 [T, H, W, 3], masks uint8 [T, H, W])."""

    def __init__(self, spec: clip_spec_lib.ClipSpec, seed, random_window: bool):
        self.spec, self.seed, self.random_window = spec, seed, random_window

    def __call__(self, index, frames, masks, name):
        index = int(index)
        where = f"TFRecord clip {name.decode('utf-8', 'replace')!r} (element {index})"
        spec, n = self.spec, frames.shape[0]
        length = spec.clip_length
        if n < length:
            raise ValueError(f"{where}: has {n} frame(s), fewer than clip_length={length}")
        if spec.masks == "disk" and masks.shape[0] != n:
            raise ValueError(f"{where}: masks='disk' but the record stores {masks.shape[0]} "
                             f"mask(s) for {n} frame(s)")
        if spec.masks == "disk" and masks.shape[1:] != frames.shape[1:3]:
            raise ValueError(f"{where}: stored masks are {masks.shape[1:]}, frames "
                             f"{frames.shape[1:3]}")
        rng = np.random.default_rng([*self.seed, index, 0])
        if self.random_window:
            start, stride = spec.random_window(n, rng)
        else:
            stride, start = 1, 0
        idx = np.arange(start, start + (length - 1) * stride + 1, stride)
        clip = frames[idx]
        disk = masks[idx] if spec.masks == "disk" else None
        h, w = clip.shape[1:3]
        if spec.augment:
            transform = augment_lib.random_transform(h, w, rng, spec.zoom_range, spec.flip_prob)
        else:
            transform = augment_lib.identity_transform(h, w)
        clip, disk = augment_lib.apply_transform(clip, disk, transform, spec.height, spec.width)
        if disk is None:
            disk = masks_lib.sample_masks(length, spec.height, spec.width,
                                          np.random.default_rng([*self.seed, index, 1]),
                                          spec.mask_presets, spec.mask_area_range)
        return clip, np.ascontiguousarray(disk, dtype=np.uint8)


def read_tfrecords(
    files,
    spec: Union[clip_spec_lib.ClipSpec, int],
    *args,
    batch_size: Optional[int] = None,
    seed: Optional[int] = None,
    shuffle: bool = True,
    repeat: bool = True,
    shuffle_buffer: int = 256,
    cycle_length: int = 4,
    num_parallel_calls: int = tf.data.AUTOTUNE,
    shard=None,
    **clip_options,
) -> tf.data.Dataset:
    """Stream clips from TFRecords written by :func:`write_tfrecords`.

    Called like :func:`lgtsm_tf.data.pipeline.build_dataset`: ``read_tfrecords(files, spec,
    batch_size)`` or ``read_tfrecords(files, clip_length, height, width, batch_size, ...)``;
    the spec's masks are ``"disk"`` (the stored masks, transformed with the frames) or
    ``"generated"`` (moving strokes per clip). In addition:
      files: directory, glob pattern, file or list (see :func:`tfrecord_files`).
      shuffle: shuffle the file order each epoch and clips in a ``shuffle_buffer``; with
        ``shuffle=False`` clips come in file order (``augment=False``, ``repeat=False`` and a
        fixed ``seed`` give a deterministic validation set).
      cycle_length: files read in parallel (interleaved).
      shard: ``(num_shards, index)`` or a ``tf.distribute.InputContext``: whole files are
        assigned to shards when there are at least as many files as shards, else records.

    Each stored clip gives one element: a window of ``T`` frames at a random start and stride
    in ``[1, max_stride]`` when ``shuffle`` (else the first frames, stride 1).

    Returns:
      ``tf.data.Dataset`` of ``{"frames": float32 [B, T, H, W, 3] in [0, 1],
      "masks": float32 [B, T, H, W, 1] in {0, 1}}``, static shapes, remainder dropped.
    """
    spec, batch_size = pipeline_lib.spec_and_batch(spec, args, clip_options, batch_size,
                                                   required=True)
    if spec.masks not in ("generated", "disk"):
        raise ValueError(f"masks must be 'generated' or 'disk' for TFRecords, got {spec.masks!r}")
    for name, value in (("shuffle_buffer", shuffle_buffer), ("cycle_length", cycle_length)):
        clip_spec_lib.positive_int(name, value)
    files = tfrecord_files(files)
    seed = pipeline_lib.resolve_seed(seed)
    num_shards, shard_index, batch_size = pipeline_lib.resolve_shard(shard, batch_size)
    deterministic = True
    processor = _RecordProcessor(spec, (seed, shard_index), random_window=shuffle)

    ds = tf.data.Dataset.from_tensor_slices(files)
    by_file = len(files) >= num_shards
    if by_file and num_shards > 1:
        ds = ds.shard(num_shards, shard_index)
    if shuffle:
        ds = ds.shuffle(len(files), seed=seed, reshuffle_each_iteration=True)
    if repeat:
        ds = ds.repeat()
    ds = ds.interleave(tf.data.TFRecordDataset, cycle_length=min(cycle_length, len(files)),
                       num_parallel_calls=tf.data.AUTOTUNE, deterministic=deterministic)
    if not by_file and num_shards > 1:
        ds = ds.shard(num_shards, shard_index)
    if shuffle:
        ds = ds.shuffle(shuffle_buffer, seed=seed + 1, reshuffle_each_iteration=True)
    ds = ds.map(parse_clip, num_parallel_calls=num_parallel_calls, deterministic=deterministic)
    ds = ds.enumerate()
    t, height, width = spec.shape

    def process(index, ex):
        frames, clip_masks = tf.numpy_function(
            processor, [index, ex["frames"], ex["masks"], ex["name"]], [tf.uint8, tf.uint8],
            stateful=False, name="process_clip")
        return (tf.ensure_shape(frames, [t, height, width, 3]),
                tf.ensure_shape(clip_masks, [t, height, width]))

    ds = ds.map(process, num_parallel_calls=num_parallel_calls, deterministic=deterministic)
    ds = ds.batch(batch_size, drop_remainder=True)
    ds = ds.map(pipeline_lib.to_model_inputs, num_parallel_calls=tf.data.AUTOTUNE)
    ds = ds.prefetch(tf.data.AUTOTUNE)
    options = tf.data.Options()
    options.deterministic = deterministic
    if shard is not None:
        options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.OFF
    return ds.with_options(options)
