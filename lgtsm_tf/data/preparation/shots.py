"""Cutting footage into shots and fitting frames to the training size.

Frames are ``uint8 [T, H, W, 3]`` RGB in 0..255; differences are float mean absolute
differences (0..255) between consecutive frames.
"""

from __future__ import annotations

from typing import List, Sequence, Tuple

import numpy as np
from PIL import Image

def frame_differences(frames: np.ndarray) -> np.ndarray:
    """Mean absolute difference (0..255) between consecutive frames: ``float64 [T - 1]``.

    Computed on frames box-reduced to about 80 pixels across (fast, insensitive to noise).
    """
    frames = np.asarray(frames)
    if len(frames) < 2:
        return np.zeros(0)
    factor = max(1, frames.shape[2] // 80)
    small = np.stack([np.asarray(Image.fromarray(f).reduce(factor), np.float32) for f in frames])
    return np.abs(np.diff(small, axis=0)).mean(axis=(1, 2, 3)).astype(np.float64)


def detect_cuts(differences: Sequence[float], ratio: float = 2.0, min_difference: float = 20.0,
                window: int = 4) -> List[int]:
    """Frames that start a new shot: ``i + 1`` for every difference ``i`` that is at least
    ``min_difference`` and at least ``ratio`` times the median of the ``window`` differences on
    each side of it (fast motion raises its neighbours too; a cut stands out alone)."""
    d = np.asarray(differences, np.float64)
    cuts = []
    for i, value in enumerate(d):
        neighbours = np.concatenate([d[max(0, i - window):i], d[i + 1:i + 1 + window]])
        base = float(np.median(neighbours)) if neighbours.size else 0.0
        if value >= min_difference and value >= ratio * base:
            cuts.append(i + 1)
    return cuts


def split_shots(num_frames: int, cuts: Sequence[int]) -> List[Tuple[int, int]]:
    """``[(start, end), ...]`` half-open frame ranges of the shots between ``cuts``."""
    bounds = [0] + [int(c) for c in cuts] + [int(num_frames)]
    return [(a, b) for a, b in zip(bounds[:-1], bounds[1:]) if b > a]


def fit_frame(frame: np.ndarray, height: int, width: int) -> np.ndarray:
    """Centre-crop ``frame`` to the aspect ratio ``width / height`` and resize (bicubic)."""
    h, w = frame.shape[:2]
    if (h, w) == (height, width):
        return frame
    if w * height > h * width:  # too wide: crop the sides
        crop_w, crop_h = h * width / height, float(h)
    else:
        crop_w, crop_h = float(w), w * height / width
    left, top = (w - crop_w) / 2, (h - crop_h) / 2
    out = Image.fromarray(frame).resize((width, height), Image.Resampling.BICUBIC,
                                        box=(left, top, left + crop_w, top + crop_h),
                                        reducing_gap=2.0)
    return np.asarray(out)
