"""What a training or validation clip is: its size, its masks and its augmentation.

One :class:`ClipSpec` is taken by every clip reader: :class:`~lgtsm_tf.data.pipeline.ClipSampler`,
:func:`~lgtsm_tf.data.pipeline.build_dataset`, :func:`~lgtsm_tf.data.pipeline.build_eval_dataset`
and :func:`~lgtsm_tf.data.tfrecord.read_tfrecords`. Those also still take the older form, the
clip length, height and width followed by the spec's fields as keywords
(``build_dataset(sources, 7, 180, 320, batch_size=5, masks="disk")``); :func:`resolve` turns
either form into a spec. Pure Python + numpy (no TensorFlow).
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any, Dict, Optional, Sequence, Tuple, Union

import numpy as np

from lgtsm_tf import masks as masks_lib
from lgtsm_tf.data import augment as augment_lib
from lgtsm_tf.data import sources as sources_lib

__all__ = ["MASK_MODES", "DEFAULT_ZOOM_RANGE", "ClipSpec", "resolve", "positive_int"]

MASK_MODES = ("generated", "disk", "pool")
DEFAULT_ZOOM_RANGE = (1.0, 1.25)


def positive_int(name: str, value) -> int:
    """``value`` as an int >= 1 (ValueError naming ``name`` otherwise; bools are refused)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


@dataclasses.dataclass(frozen=True)
class ClipSpec:
    """One clip: ``clip_length`` frames at ``height x width``, its masks and augmentation.

    Attributes:
      clip_length: frames per clip ``T`` (>= 1).
      height, width: output frame size ``H x W`` (>= 1).
      masks: ``"generated"`` (moving strokes drawn per clip from ``mask_presets`` with a mean
        hole ratio in ``mask_area_range``, see :func:`lgtsm_tf.masks.sample_masks`), ``"disk"``
        (each video's own masks, transformed with the frames) or ``"pool"`` (random windows of
        the mask videos in ``mask_pool``, resized to ``H x W``, not augmented).
      mask_presets: preset names or :class:`~lgtsm_tf.masks.MaskPreset`; with ``"generated"``
        they become a tuple of ``MaskPreset``.
      mask_area_range: ``(lo, hi)`` with ``0 <= lo < hi <= 1``.
      mask_pool: with ``"pool"``: mask folders / videos (paths, discovered once) or
        ``MaskSource`` records; a tuple of ``MaskSource`` afterwards.
      max_stride: temporal stride drawn in ``[1, max_stride]`` per training clip (capped so the
        clip fits in its video); validation clips use stride 1.
      augment: one random resized crop (zoom in ``zoom_range``, ``1 <= lo <= hi``) and a
        horizontal flip with probability ``flip_prob`` for all frames and disk masks of a
        training clip; without it frames are resized to ``H x W`` (aspect not kept).

    Every field is checked when the spec is made (ValueError naming the field).
    """

    clip_length: int
    height: int
    width: int
    masks: str = "generated"
    mask_presets: Sequence[Union[str, masks_lib.MaskPreset]] = tuple(masks_lib.PRESETS)
    mask_area_range: Tuple[float, float] = (0.0, 1.0)
    mask_pool: Any = None
    max_stride: int = 1
    augment: bool = True
    zoom_range: Tuple[float, float] = DEFAULT_ZOOM_RANGE
    flip_prob: float = 0.5

    def __post_init__(self):
        put = lambda name, value: object.__setattr__(self, name, value)  # noqa: E731 (frozen)
        for name in ("clip_length", "height", "width", "max_stride"):
            put(name, positive_int(name, getattr(self, name)))
        if self.masks not in MASK_MODES:
            raise ValueError(f"masks must be one of {MASK_MODES}, got {self.masks!r}")
        put("augment", bool(self.augment))
        put("zoom_range", tuple(float(v) for v in self.zoom_range))
        put("flip_prob", float(self.flip_prob))
        augment_lib.random_transform(8, 8, np.random.default_rng(0), self.zoom_range,
                                     self.flip_prob)  # validates both
        if self.masks == "generated":
            presets = self.mask_presets
            if isinstance(presets, (str, masks_lib.MaskPreset)):
                presets = [presets]
            put("mask_presets", tuple(masks_lib.get_preset(p) for p in presets))
            if not self.mask_presets:
                raise ValueError("mask_presets must not be empty")
            put("mask_area_range", masks_lib._check_area_range(self.mask_area_range))  # pylint: disable=protected-access
        if self.masks == "pool":
            put("mask_pool", _mask_pool(self.mask_pool))

    @property
    def shape(self) -> Tuple[int, int, int]:
        """``(T, H, W)``."""
        return self.clip_length, self.height, self.width

    def random_window(self, num_frames: int, rng: np.random.Generator) -> Tuple[int, int]:
        """``(start, stride)`` of a random training window in a video of ``num_frames`` >= T
        frames: stride uniform in ``[1, max_stride]`` (capped so the clip fits), then a uniform
        start."""
        length = self.clip_length
        max_fit = (num_frames - 1) // (length - 1) if length > 1 else self.max_stride
        stride = int(rng.integers(1, min(self.max_stride, max_fit) + 1))
        start = int(rng.integers(0, num_frames - (length - 1) * stride))
        return start, stride

    def replace(self, **changes) -> "ClipSpec":
        """A copy with ``changes`` (checked again)."""
        return dataclasses.replace(self, **changes)


def _mask_pool(pool) -> Tuple[sources_lib.MaskSource, ...]:
    if pool is None:
        raise ValueError("masks='pool' needs mask_pool (mask folders/videos or MaskSources)")
    if isinstance(pool, (str, os.PathLike)) or (
            pool and not isinstance(pool[0], sources_lib.MaskSource)):
        pool = sources_lib.discover_mask_sources(pool)
    pool = tuple(pool)
    if not pool:
        raise ValueError("mask_pool is empty")
    return pool


def resolve(spec, args: Sequence = (), options: Optional[Dict[str, Any]] = None,
            rest: Sequence[str] = ()) -> Tuple[ClipSpec, Dict[str, Any]]:
    """``(ClipSpec, {name: value})`` from a reader's arguments, in either form.

    ``spec`` is a :class:`ClipSpec` (``options`` then replace its fields) or, in the older form,
    the clip length, with height and width as the first two ``args`` and the spec's fields in
    ``options``. The remaining positional ``args`` are the reader's own parameters named
    ``rest`` (e.g. ``batch_size``), returned by name. TypeError for a wrong call.
    """
    options = dict(options or {})
    if isinstance(spec, ClipSpec):
        spec = spec.replace(**options) if options else spec
    else:
        if len(args) < 2:
            raise TypeError("give a ClipSpec, or clip_length, height and width")
        spec, args = ClipSpec(spec, *args[:2], **options), args[2:]
    if len(args) > len(rest):
        raise TypeError(f"too many positional arguments: {len(args) - len(rest)} more than "
                        f"the ClipSpec and {', '.join(rest) or 'nothing else'}")
    return spec, dict(zip(rest, args))
