"""Clip geometry shared by the tf.data pipelines: resize, random resized crop, horizontal flip.

Pure numpy + Pillow, applied per clip in ``uint8`` so that every frame of a clip (and its masks)
gets exactly the same transform:

* frames ``uint8 [T, h, w, 3]`` are resampled with Pillow's bilinear filter (antialiased when
  shrinking);
* masks ``uint8 [T, h, w]`` in ``{0, 1}`` (1 = hole) are resampled with nearest neighbour, so they
  stay binary.

A transform is described by a crop box in source pixels and a flip flag (:class:`ClipTransform`),
drawn once per clip by :func:`random_transform` and applied by :func:`apply_transform`.
"""

from __future__ import annotations

import dataclasses
from typing import Optional, Tuple

import numpy as np
from PIL import Image

__all__ = ["ClipTransform", "identity_transform", "random_transform", "apply_transform"]


@dataclasses.dataclass(frozen=True)
class ClipTransform:
    """Crop ``box = (left, top, right, bottom)`` (float source pixels), resize to ``(H, W)``,
    then mirror left-right if ``flip``."""

    box: Tuple[float, float, float, float]
    flip: bool = False


def identity_transform(height: int, width: int) -> ClipTransform:
    """The whole frame, no flip (a plain resize when the output size differs)."""
    return ClipTransform((0.0, 0.0, float(width), float(height)), False)


def random_transform(
    height: int,
    width: int,
    rng: np.random.Generator,
    zoom_range: Tuple[float, float] = (1.0, 1.25),
    flip_prob: float = 0.5,
) -> ClipTransform:
    """Random resized crop + flip for a source of size ``(height, width)``.

    A zoom ``z ~ U(zoom_range)`` picks a box of ``(height / z, width / z)`` source pixels at a
    uniform random position (the reference resizes to 1.2x and crops, i.e. ``z = 1.2``); the box
    is then resized to the output size (so the aspect ratio follows the output, as in the
    reference). ``zoom_range=(1, 1)`` keeps the whole frame.
    """
    lo, hi = (float(v) for v in zoom_range)
    if not 1.0 <= lo <= hi:
        raise ValueError(f"zoom_range must satisfy 1 <= lo <= hi, got {zoom_range!r}")
    if not 0.0 <= flip_prob <= 1.0:
        raise ValueError(f"flip_prob must be in [0, 1], got {flip_prob!r}")
    zoom = rng.uniform(lo, hi) if hi > lo else lo
    box_h, box_w = height / zoom, width / zoom
    top = rng.uniform(0.0, height - box_h) if height > box_h else 0.0
    left = rng.uniform(0.0, width - box_w) if width > box_w else 0.0
    flip = bool(rng.random() < flip_prob)
    return ClipTransform((float(left), float(top), float(left + box_w), float(top + box_h)), flip)


def _is_identity(transform: ClipTransform, shape, height: int, width: int) -> bool:
    h, w = shape
    return (h, w) == (height, width) and transform.box == (0.0, 0.0, float(w), float(h))


def apply_transform(
    frames: np.ndarray,
    masks: Optional[np.ndarray],
    transform: ClipTransform,
    height: int,
    width: int,
) -> Tuple[np.ndarray, Optional[np.ndarray]]:
    """Apply one transform to every frame (bilinear) and mask (nearest) of a clip.

    Args:
      frames: ``uint8 [T, h, w, 3]``.
      masks: ``uint8 [T, h, w]`` in {0, 1}, or ``None``.
      transform: from :func:`random_transform` / :func:`identity_transform` for ``(h, w)``.
      height, width: output size.

    Returns:
      ``(uint8 [T, height, width, 3], uint8 [T, height, width] or None)``; a full-frame box at
      the output size is an exact copy.
    """
    src = frames.shape[1:3]
    if _is_identity(transform, src, height, width):
        out_f = frames.copy()
        out_m = None if masks is None else masks.copy()
    else:
        size = (int(width), int(height))
        out_f = np.stack([
            np.asarray(Image.fromarray(f).resize(size, Image.Resampling.BILINEAR, box=transform.box))
            for f in frames])
        out_m = None
        if masks is not None:
            out_m = np.stack([
                np.asarray(Image.fromarray(m).resize(size, Image.Resampling.NEAREST, box=transform.box))
                for m in masks])
    if transform.flip:
        out_f = out_f[:, :, ::-1]
        out_m = None if out_m is None else out_m[:, :, ::-1]
    out_f = np.ascontiguousarray(out_f, dtype=np.uint8)
    out_m = None if out_m is None else np.ascontiguousarray(out_m, dtype=np.uint8)
    return out_f, out_m
