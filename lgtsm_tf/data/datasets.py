"""From the training CLI's data flags to the training and validation datasets.

``--data`` / ``--val_data`` entries are ``"embedded"`` (the bundled photographs with synthetic
camera motion, :mod:`lgtsm_tf.data.embedded`, train / validation split by photograph) or paths
understood by :func:`lgtsm_tf.data.sources.discover_sources` (video files, frame folders,
YouTube-VOS / DAVIS roots, folders of them); a directory of TFRecords written by
:func:`lgtsm_tf.data.tfrecord.write_tfrecords` (it holds ``metadata.json``) is streamed with
:func:`lgtsm_tf.data.tfrecord.read_tfrecords`.
"""

from __future__ import annotations

import math
import os
from typing import List, Optional, Sequence, Tuple, Union

import tensorflow as tf

from lgtsm_tf import masks as masks_lib
from lgtsm_tf.data import clip_spec as clip_spec_lib
from lgtsm_tf.data import embedded as embedded_lib
from lgtsm_tf.data import pipeline as pipeline_lib
from lgtsm_tf.data import sources as sources_lib
from lgtsm_tf.data import tfrecord as tfrecord_lib

__all__ = ["EMBEDDED", "resolve_sources", "make_training_datasets"]

EMBEDDED = "embedded"
#: Virtual videos per training photograph of the embedded set, and frames per virtual video.
EMBEDDED_TRAIN_VIDEOS_PER_PHOTO = 8
EMBEDDED_MIN_FRAMES = 32


def _is_tfrecord_dir(path: str) -> bool:
    return os.path.isfile(os.path.join(path, tfrecord_lib.METADATA_FILE))


def _mask_mode(masks: str):
    """(pipeline masks mode, discover_sources mask_root) for the CLI's --masks value."""
    if masks == "generated":
        return "generated", None
    if masks == "disk":
        return "disk", "auto"
    if not os.path.exists(masks):
        raise FileNotFoundError(f"{masks}: --masks must be 'generated', 'disk' (masks next to "
                                "the videos, e.g. YouTube-VOS Annotations) or an existing "
                                "folder of per-video mask folders / mask videos")
    return "disk", masks


def resolve_sources(
    entries: Sequence[str],
    split: str,
    *,
    clip_length: int,
    height: int,
    width: int,
    max_stride: int = 1,
    mask_root=None,
    invert_masks: bool = False,
    seed: int = 0,
    videos_per_photo: int = EMBEDDED_TRAIN_VIDEOS_PER_PHOTO,
) -> List[sources_lib.VideoSource]:
    """``VideoSource`` list for data-flag entries (``"embedded"`` and/or paths).

    ``split`` picks the embedded photographs (``"train"`` / ``"validation"``); embedded videos
    are rendered at ``height x width`` with at least enough frames for the longest strided clip.
    """
    out: List[sources_lib.VideoSource] = []
    paths = []
    for entry in entries:
        if entry == EMBEDDED:
            if mask_root is not None:
                raise ValueError("the embedded dataset has no masks on disk; use --masks=generated")
            span = (clip_length - 1) * max_stride + 1
            out += embedded_lib.embedded_sources(
                split, videos_per_photo=videos_per_photo,
                num_frames=max(EMBEDDED_MIN_FRAMES, 2 * span), height=height, width=width,
                seed=seed)
        else:
            paths.append(entry)
    if paths:
        out += sources_lib.discover_sources(paths, mask_root=mask_root, invert_masks=invert_masks)
    return out


def make_training_datasets(
    data: Sequence[str],
    val_data: Sequence[str] = (EMBEDDED,),
    *,
    masks: str = "generated",
    mask_presets: Sequence[str] = tuple(masks_lib.PRESETS),
    mask_scale: Union[float, str] = 1.0,
    mask_area_range: Tuple[float, float] = (0.0, 1.0),
    invert_masks: bool = False,
    clip_length: int = 7,
    height: int = 180,
    width: int = 320,
    max_stride: int = 1,
    batch_size: int = 5,
    eval_steps: int = 8,
    seed: int = 0,
    strategy: Optional[tf.distribute.Strategy] = None,
    skip_short_videos: bool = False,
) -> Tuple[tf.data.Dataset, Optional[tf.data.Dataset]]:
    """The training CLI's datasets.

    Args:
      data: training entries: ``"embedded"``, paths, or a single TFRecord directory.
      val_data: validation entries (the embedded set uses its validation photographs); empty
        for no validation.
      masks: ``"generated"``, ``"disk"`` (each video's own masks, e.g. YouTube-VOS
        ``Annotations``) or a folder holding ``<video name>`` mask folders / mask videos.
      mask_presets: presets of generated masks.
      mask_scale: the presets' pixel lengths times this factor, or ``"auto"``
        (``masks.frame_size_factor(height, width)``: holes cover the same fraction of the frame
        as the presets do at 320x180).
      mask_area_range: (lo, hi) bounds of a generated clip's mean hole ratio (rejection
        sampling, `lgtsm_tf.masks.sample_masks`).
      invert_masks: masks on disk use 0 = hole.
      clip_length, height, width, max_stride: clip geometry (see ``build_dataset``).
      batch_size: the **global** batch size; it must divide by the strategy's replica count.
      eval_steps: validation batches; the validation set is that many fixed batches (clips
        evenly spaced in each video, masks fixed by ``seed``), the same at every evaluation.
      seed: data order, augmentation and masks.
      strategy: the ``tf.distribute`` strategy the datasets will be used under (only its
        replica count is checked; Keras splits each global batch across replicas).
      skip_short_videos: leave out training videos shorter than ``clip_length`` (logged)
        instead of raising; validation always leaves them out.

    Returns:
      ``(train, validation or None)``: ``train`` is endless, ``validation`` finite; both yield
      ``{"frames": float32 [B, T, H, W, 3] in [0, 1], "masks": float32 [B, T, H, W, 1]}``.
    """
    replicas = strategy.num_replicas_in_sync if strategy is not None else 1
    if batch_size % replicas:
        raise ValueError(f"--batch_size={batch_size} must be a multiple of the "
                         f"{replicas} replicas in sync")
    mode, mask_root = _mask_mode(masks)
    data, val_data = list(data), list(val_data or [])
    generated = {}
    if mode == "generated":
        factor = (masks_lib.frame_size_factor(height, width) if mask_scale == "auto"
                  else float(mask_scale))
        generated = dict(mask_presets=[masks_lib.get_preset(p).scaled(factor)
                                       for p in mask_presets],
                         mask_area_range=tuple(mask_area_range))
    spec = clip_spec_lib.ClipSpec(clip_length, height, width, masks=mode, max_stride=max_stride,
                                  **generated)

    if len(data) == 1 and os.path.isdir(data[0]) and _is_tfrecord_dir(data[0]):
        train = tfrecord_lib.read_tfrecords(data[0], spec, batch_size, seed=seed)
    else:
        train_sources = resolve_sources(data, "train", clip_length=clip_length, height=height,
                                        width=width, max_stride=max_stride, mask_root=mask_root,
                                        invert_masks=invert_masks, seed=seed)
        train = pipeline_lib.build_dataset(train_sources, spec, batch_size, seed=seed,
                                           skip_short_videos=skip_short_videos)

    if not val_data:
        return train, None
    wanted = eval_steps * batch_size
    if len(val_data) == 1 and os.path.isdir(val_data[0]) and _is_tfrecord_dir(val_data[0]):
        val = tfrecord_lib.read_tfrecords(
            val_data[0], spec.replace(augment=False), batch_size, shuffle=False, repeat=False,
            seed=seed).take(eval_steps)
        return train, val
    n_embedded = sum(1 for e in val_data if e == EMBEDDED)
    photos = len(embedded_lib.photo_names("validation"))
    val_sources = resolve_sources(
        val_data, "validation", clip_length=clip_length, height=height, width=width,
        mask_root=mask_root, invert_masks=invert_masks, seed=seed + 1,
        videos_per_photo=max(1, math.ceil(wanted / max(1, photos * max(1, n_embedded)))))
    clips_per_video = max(1, math.ceil(wanted / len(val_sources)))
    val = pipeline_lib.build_eval_dataset(
        val_sources, spec, batch_size, seed=seed, clips_per_video=clips_per_video,
        skip_short_videos=True).take(eval_steps)
    return train, val
