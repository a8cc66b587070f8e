"""The streamed input of the inpainter (internal): frames and masks paired one at a time.

Frames arrive as ``uint8 [H, W, 3]`` (or float in [0, 1]) and masks as ``[H, W]`` /
``[H, W, 1]``; counts are checked against each other before any model work.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import warnings
from typing import Optional, Tuple

import numpy as np

from lgtsm_tf.inference.masks import _resize_nearest, binarize_mask, dilate_mask
from lgtsm_tf.inference.windows import Window

@dataclasses.dataclass
class _Frame:
    frame: np.ndarray  # uint8 [H, W, 3], the input
    hole: np.ndarray  # bool [H, W], the (dilated) hole at full resolution
    has_hole: bool
    model_input: Optional[Tuple[np.ndarray, np.ndarray]] = None  # padded float32 frame, mask


def _name(obj, default: str) -> str:
    path = getattr(obj, "path", None)
    return os.fspath(path) if path is not None else default


def _known_length(obj) -> Optional[int]:
    """The exact length of `obj` if it can be known before reading: array/list lengths, or a
    reader's `num_frames` (video files are decoded once to count the frames that decode)."""
    n = getattr(obj, "num_frames", None)
    if n is None and isinstance(obj, (np.ndarray, list, tuple)):
        n = len(obj)
    return n


def _count_note(obj, n: int) -> str:
    """How `n` was counted, for messages about a video file's frame count (else '')."""
    if getattr(obj, "kind", None) != "video":
        return ""
    header = getattr(obj, "estimated_frames", None)
    if header is None or header == n:
        return " (counted by decoding)"
    return f" (counted by decoding; its header says {header})"


class _Source:
    """Reads frames and masks in lock step, validates and prepares them, keeps them by index."""

    def __init__(self, inpainter: "VideoInpainter", frames, masks):
        self.inpainter = inpainter
        self.frames_name = _name(frames, "frames")
        self.masks_name = _name(masks, "masks")
        if isinstance(frames, np.ndarray) and (frames.ndim != 4 or frames.shape[-1] != 3):
            raise ValueError(f"{self.frames_name}: expected frames uint8 [T, H, W, 3], "
                             f"got an array of shape {frames.shape}")
        single = isinstance(masks, np.ndarray) and masks.ndim == 2
        self.repeat_masks = single or bool(getattr(masks, "repeats", False))
        n_frames = _known_length(frames)
        n_masks = None if self.repeat_masks else _known_length(masks)
        if n_frames is not None and n_masks is not None and n_frames != n_masks:
            raise ValueError(f"{self.masks_name}: has {n_masks} mask(s)"
                             f"{_count_note(masks, n_masks)} but {self.frames_name} has "
                             f"{n_frames} frame(s){_count_note(frames, n_frames)}; mask count "
                             "must equal frame count (or give one mask image for every frame)")
        self.num_frames_hint = n_frames
        self._frames = iter(frames)
        self._masks = itertools.repeat(masks) if single else iter(masks)
        self.records = {}
        self.read = 0
        self.length = None  # set when the frames run out
        self.size = None
        self.warned_nonbinary = False
        self.hole_frames = 0  # frames read so far whose (dilated) mask has a hole pixel

    def count(self, limit: int) -> int:
        """min(limit, number of frames), reading frames as needed."""
        while self.length is None and self.read < limit:
            self._read_one()
        return min(limit, self.read)

    def _read_one(self) -> None:
        i = self.read
        try:
            frame = next(self._frames)
        except StopIteration:
            self.length = i
            if i == 0:
                raise ValueError(f"{self.frames_name}: no frames (zero-length video)") from None
            if not self.repeat_masks:
                try:
                    next(self._masks)
                except StopIteration:
                    pass
                else:
                    raise ValueError(f"{self.masks_name}: has more masks than the {i} frame(s) of "
                                     f"{self.frames_name}; mask count must equal frame count")
            return
        try:
            mask = next(self._masks)
        except StopIteration:
            raise ValueError(f"{self.masks_name}: has only {i} mask(s) but {self.frames_name} has "
                             f"more frames; mask count must equal frame count") from None
        self.records[i] = self._prepare(i, frame, mask)
        self.read = i + 1

    def _prepare(self, i: int, frame, mask) -> _Frame:
        frame = np.asarray(frame)
        where = f"{self.frames_name} (frame {i})"
        if frame.dtype != np.uint8:
            raise ValueError(f"{where}: frames must be uint8 [H, W, 3] in 0..255, got dtype "
                             f"{frame.dtype}")
        if frame.ndim != 3 or frame.shape[-1] != 3 or 0 in frame.shape:
            raise ValueError(f"{where}: expected a frame of shape [H, W, 3], got {frame.shape}")
        size = frame.shape[:2]
        if self.size is None:
            self.size = size
        elif size != self.size:
            raise ValueError(f"{where}: has size {size}, expected {self.size} like frame 0")
        hole, nonbinary = binarize_mask(mask, f"{self.masks_name} (mask {i})")
        if nonbinary and not self.warned_nonbinary:
            self.warned_nonbinary = True
            rule = ("> 0.5 = hole" if np.issubdtype(np.asarray(mask).dtype, np.floating)
                    else "nonzero = hole")
            warnings.warn(f"{self.masks_name} (mask {i}): mask is not binary; thresholded "
                          f"({rule}). Further non-binary masks of this video are thresholded "
                          "the same way without another warning.", UserWarning, stacklevel=4)
        if hole.shape != size:
            if not self.inpainter.resize_masks:
                raise ValueError(f"{self.masks_name} (mask {i}): mask size {hole.shape} differs "
                                 f"from the frame size {size} of {self.frames_name}; pass "
                                 "resize_masks=True (--resize_masks) to resize masks (nearest)")
            hole = _resize_nearest(hole, size)
        hole = dilate_mask(hole, self.inpainter.dilate)
        has_hole = bool(hole.any())
        self.hole_frames += has_hole
        return _Frame(frame=frame, hole=hole, has_hole=has_hole)

    def any_hole(self, window: Window) -> bool:
        return any(self.records[f].has_hole for f in range(window.start, window.stop))
