"""Classical video inpainting baselines, the yardstick a learned model has to beat.

Every method takes ``frames`` uint8 ``[T, H, W, 3]`` and ``holes`` bool ``[T, H, W]`` (True =
hole) and returns the composited result, uint8 ``[T, H, W, 3]``: known pixels are copied from
the input, only hole pixels are filled.

============== ===============================================================================
``black``      holes set to 0 (what an untrained network's masked input looks like)
``mean``       each frame's holes get the mean colour of that frame's known pixels
``telea``      OpenCV's fast marching inpainting (Telea 2004), frame by frame
``ns``         OpenCV's Navier-Stokes inpainting (Bertalmio et al. 2001), frame by frame
``temporal``   each hole pixel copied from the nearest frame in time where that pixel is known
               (ties: the earlier frame); pixels never known in the clip fall back to ``telea``
============== ===============================================================================

``telea``, ``ns`` and the fallback of ``temporal`` need OpenCV (``pip install
opencv-python-headless``, the ``quality`` extra); the others need only numpy. ``temporal`` is
strong on static cameras (the hidden background is usually seen in another frame) and weak
where the camera moves, where it copies misaligned content.
"""

from typing import Callable, Dict

import numpy as np

#: OpenCV's inpainting radius (the value of OpenCV's own inpainting sample).
INPAINT_RADIUS = 3


def _check(frames, holes):
    frames = np.asarray(frames)
    holes = np.asarray(holes).astype(bool)
    if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[-1] != 3:
        raise ValueError(f"frames must be uint8 [T, H, W, 3], got {frames.dtype} {frames.shape}")
    if holes.shape != frames.shape[:3]:
        raise ValueError(f"holes must be [T, H, W] = {frames.shape[:3]}, got {holes.shape}")
    return frames, holes


def _cv2():
    try:
        import cv2  # pylint: disable=import-outside-toplevel
    except ImportError as e:
        raise ImportError("the OpenCV baselines need opencv-python-headless "
                          "(pip install -e '.[quality]')") from e
    return cv2


def black(frames, holes):
    frames, holes = _check(frames, holes)
    out = frames.copy()
    out[holes] = 0
    return out


def mean_colour(frames, holes):
    frames, holes = _check(frames, holes)
    out = frames.copy()
    for t in range(len(frames)):
        known = frames[t][~holes[t]]
        colour = known.mean(axis=0) if len(known) else np.full(3, 127.5)
        out[t][holes[t]] = np.round(colour).astype(np.uint8)
    return out


def _opencv(flag_name):
    def inpaint(frames, holes):
        frames, holes = _check(frames, holes)
        cv2 = _cv2()
        flag = getattr(cv2, flag_name)
        out = frames.copy()
        for t in range(len(frames)):
            if holes[t].any():
                # The algorithms treat the channels alike, so RGB order needs no conversion.
                out[t] = cv2.inpaint(np.ascontiguousarray(frames[t]),
                                     holes[t].astype(np.uint8) * 255, INPAINT_RADIUS, flag)
        return out
    return inpaint


telea = _opencv("INPAINT_TELEA")
navier_stokes = _opencv("INPAINT_NS")


def nearest_known_index(holes):
    """int [T, H, W]: for each pixel the nearest frame index where it is known (ties: earlier);
    -1 where it is a hole in every frame."""
    holes = np.asarray(holes).astype(bool)
    num = len(holes)
    big = np.iinfo(np.int64).max // 4
    before = np.full(holes.shape, -big, np.int64)  # latest known frame <= t
    after = np.full(holes.shape, big, np.int64)  # earliest known frame >= t
    last = np.full(holes.shape[1:], -big, np.int64)
    for t in range(num):
        last = np.where(~holes[t], t, last)
        before[t] = last
    nxt = np.full(holes.shape[1:], big, np.int64)
    for t in range(num - 1, -1, -1):
        nxt = np.where(~holes[t], t, nxt)
        after[t] = nxt
    t_index = np.arange(num)[:, None, None]
    use_before = (t_index - before) <= (after - t_index)
    index = np.where(use_before, before, after)
    return np.where((before < 0) & (after >= num), -1, index)


def temporal_copy(frames, holes):
    frames, holes = _check(frames, holes)
    index = nearest_known_index(holes)
    never = index < 0
    rows, cols = np.indices(holes.shape[1:])
    out = frames[np.clip(index, 0, None), rows[None], cols[None]]
    out[~holes] = frames[~holes]
    if never.any():
        filled = telea(out, never)
        out[never] = filled[never]
    return out


METHODS: Dict[str, Callable] = {
    "black": black,
    "mean": mean_colour,
    "telea": telea,
    "ns": navier_stokes,
    "temporal": temporal_copy,
}
