"""Files of the inpainting CLI: output paths, the checks before any work, `--compare` frames.

Compare frames are ``uint8 [H, 2W, 3]``: the input with the hole tinted red | the output.
"""

from __future__ import annotations

import os
from typing import Sequence

import numpy as np

from lgtsm_tf import atomic, video_io
from lgtsm_tf.inference.streaming import _Source

#: `--output` extensions written as a video (everything else must be a folder of PNGs).
VIDEO_EXTENSIONS = (".mp4", ".m4v", ".mov", ".mkv")


#: Overlay colour and opacity of the hole in `--compare` videos.
COMPARE_COLOR = (255, 0, 0)
COMPARE_ALPHA = 0.5


def _is_video_path(path: str) -> bool:
    ext = os.path.splitext(path)[1].lower()
    if ext in VIDEO_EXTENSIONS:
        return True
    if ext and not os.path.isdir(path):
        raise ValueError(f"{path}: unsupported output extension {ext!r}; use a video "
                         f"({', '.join(VIDEO_EXTENSIONS)}) or a folder path without extension")
    return False


def compare_path(output) -> str:
    """Where `--compare` writes: `<output without extension>_compare.mp4` beside `output`."""
    output = os.fspath(output).rstrip("/\\") or os.fspath(output)
    stem = os.path.splitext(output)[0] if _is_video_path(output) else output
    return f"{stem}_compare.mp4"


def check_outputs(outputs: Sequence[str], inputs: Sequence, overwrite: bool) -> None:
    """Before any work: every output path must not be an input, must not exist (unless
    `overwrite`, or it is an empty folder), and its folder must exist and be writable.

    Raises ValueError / FileExistsError / FileNotFoundError / PermissionError naming the path.
    """
    inputs = {os.path.realpath(os.fspath(p)) for p in inputs}
    for out in outputs:
        if os.path.realpath(out) in inputs:
            raise ValueError(f"{out}: output would replace an input file")
        atomic.check_can_write(out, overwrite)  # "{out}: already exists (pass overwrite=...)"
        video_io.check_output_path(out)


def check_inputs(video, masks, *, frame_rate=None, invert_masks: bool = False) -> int:
    """Before loading a model: opens `video` and `masks` as `inpaint_files` does and checks the
    mask count against the frames that decode (the counts are cached, so `inpaint_files` does
    not decode to count again). Returns the number of frames.

    Raises FileNotFoundError / ValueError naming the file (unreadable input, count mismatch).
    """
    with video_io.open_video(video, frame_rate=frame_rate) as reader, \
            video_io.open_masks(masks, invert=invert_masks) as mask_reader:
        return _Source(None, reader, mask_reader).num_frames_hint


def compare_frame(frame: np.ndarray, hole: np.ndarray, output: np.ndarray) -> np.ndarray:
    """uint8 [H, 2W, 3]: input with the hole tinted red (50 %) | output."""
    shown = frame.copy()
    tint = (1 - COMPARE_ALPHA) * frame[hole].astype(np.float32) + \
        COMPARE_ALPHA * np.asarray(COMPARE_COLOR, np.float32)
    shown[hole] = np.rint(tint).astype(np.uint8)
    return np.concatenate([shown, output], axis=1)
