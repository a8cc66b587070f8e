"""Masks and frame sizes for inference: binarising, dilating, padding, working size.

Masks are ``[H, W]`` (or ``[H, W, 1]``) arrays, 1 = hole, returned as bool ``[H, W]``; frames
are padded at the bottom/right to a multiple of :data:`SIZE_MULTIPLE` by reflection.
"""

from __future__ import annotations

from typing import Optional, Tuple

import numpy as np

from lgtsm_tf import contract
# The size rule and padding of the model's contract, as this module's names.
from lgtsm_tf.contract import SIZE_MULTIPLE, pad_to_multiple  # noqa: F401


def binarize_mask(mask, where: str = "mask") -> Tuple[np.ndarray, bool]:
    """One frame's mask -> (bool [H, W], 1 = hole; True if the input was non-binary).

    Accepts [H, W], [H, W, 1] or [H, W, C] (hole where any channel is a hole). bool: as is;
    integer: nonzero = hole (non-binary = more than one distinct nonzero value); float: > 0.5
    = hole (non-binary = any value other than 0 and 1). Raises ValueError naming `where` for
    other shapes or dtypes.
    """
    m = np.asarray(mask)
    if m.ndim == 3:
        channel_axis = -1
    elif m.ndim == 2:
        channel_axis = None
    else:
        raise ValueError(f"{where}: expected a mask of shape [H, W] or [H, W, 1], got {m.shape}")
    if m.dtype == np.bool_:
        nonbinary = False
    elif np.issubdtype(m.dtype, np.integer):
        top = m.max() if m.size else 0
        nonbinary = bool(top != 0 and np.any((m != 0) & (m != top)))
    elif np.issubdtype(m.dtype, np.floating):
        if np.isnan(m).any():
            raise ValueError(f"{where}: mask contains NaN")
        nonbinary = bool(np.any((m != 0) & (m != 1)))
    else:
        raise ValueError(f"{where}: unsupported mask dtype {m.dtype} (use bool, integer or float)")
    hole = contract.holes(m)
    if channel_axis is not None:
        hole = hole.any(axis=channel_axis)
    if 0 in hole.shape:
        raise ValueError(f"{where}: empty mask of shape {m.shape}")
    return hole, nonbinary


def _dilate_axis(mask: np.ndarray, radius: int, axis: int) -> np.ndarray:
    """OR over offsets -radius..radius along `axis`, in O(log radius) shifted ORs."""
    out = mask
    reach = 0  # `out` is the OR over offsets [-reach, reach]
    n = mask.shape[axis]
    while reach < radius:
        step = min(reach + 1, radius - reach)
        grown = out.copy()
        if step < n:
            hi = [slice(None)] * mask.ndim
            lo = [slice(None)] * mask.ndim
            hi[axis], lo[axis] = slice(step, None), slice(None, -step)
            grown[tuple(hi)] |= out[tuple(lo)]
            grown[tuple(lo)] |= out[tuple(hi)]
        out = grown
        reach += step
    return out


def dilate_mask(hole: np.ndarray, radius: int) -> np.ndarray:
    """bool [..., H, W] -> bool [..., H, W]: holes grown by `radius` px (a (2r+1)^2 square)."""
    hole = np.asarray(hole, dtype=bool)
    if radius <= 0:
        return hole
    return _dilate_axis(_dilate_axis(hole, radius, -1), radius, -2)


def _resize_nearest(mask: np.ndarray, size: Tuple[int, int]) -> np.ndarray:
    """bool [h, w] -> bool [H, W], nearest neighbour (pixel centres)."""
    h, w = mask.shape
    rows = np.minimum(((np.arange(size[0]) + 0.5) * h / size[0]).astype(np.int64), h - 1)
    cols = np.minimum(((np.arange(size[1]) + 0.5) * w / size[1]).astype(np.int64), w - 1)
    return mask[rows][:, cols]


def _resolve_working_size(working_size, frame_size: Tuple[int, int]) -> Optional[Tuple[int, int]]:
    """(h or None, w or None) -> (h, w), a missing side keeping the aspect ratio (multiple of 4)."""
    if working_size is None:
        return None
    h, w = working_size
    height, width = frame_size
    if h is None and w is None:
        return None
    if h is None:
        h = max(SIZE_MULTIPLE, SIZE_MULTIPLE * round(height * w / width / SIZE_MULTIPLE))
    if w is None:
        w = max(SIZE_MULTIPLE, SIZE_MULTIPLE * round(width * h / height / SIZE_MULTIPLE))
    if (h, w) == (height, width):
        return None
    return int(h), int(w)
