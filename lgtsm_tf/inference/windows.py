"""Temporal windows of whole-video inpainting: where each window starts, and blend weights.

Window k covers frames ``[s_k, s_k + window)``; the last one is moved back to end at the last
frame. Blend weights are float32 in (0, 1] and sum to one per frame (see
:mod:`lgtsm_tf.inference` for the cross-fade rule).
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Iterator

import numpy as np

DEFAULT_WINDOW = 16
# Every LGTSM layer shifts features by one frame with zero padding at the clip ends, so frames
# near a window's ends are computed with less temporal context; on the seam test's static clip
# this edge effect reaches ~6 frames in. Cross-fading over 6 frames keeps border changes well
# below those inside windows; with 4 the mean border change exceeds the inside one (tests).
DEFAULT_OVERLAP = 6


@dataclasses.dataclass(frozen=True)
class Window:
    """Frames [start, stop) of one window and its blending ramps.

    The first `lead` frames get weight 0 (they are context only: frames the two previous
    windows already cross-fade, which happens only to a last window moved back); the next
    `fade_in` frames are the cross-fade with the previous window, the last `fade_out` frames
    the cross-fade with the next one (0 at the start / end of the video).
    """

    start: int
    stop: int
    fade_in: int = 0
    fade_out: int = 0
    lead: int = 0

    def __len__(self) -> int:
        return self.stop - self.start

    def weights(self) -> np.ndarray:
        """float64 [len(self)]: 0 on the lead, linear ramps in (0, 1) on the fades, else 1.

        Over an L-frame cross-fade the incoming window has (j + 1) / (L + 1), j = 0..L-1, and
        the outgoing one the complement (L - j) / (L + 1), so the two weights sum to one.
        """
        n = len(self)
        j = np.arange(n, dtype=np.float64) - self.lead
        ramp_in = np.where(j < self.fade_in, (j + 1) / (self.fade_in + 1), 1.0)
        back = n - 1 - np.arange(n, dtype=np.float64)
        ramp_out = np.where(back < self.fade_out, (back + 1) / (self.fade_out + 1), 1.0)
        return np.where(j < 0, 0.0, ramp_in * ramp_out)

    @property
    def complete_before(self) -> int:
        """Frames before this index get no weight from any later window."""
        return self.stop - self.fade_out


def _check_window_args(window: int, overlap: int) -> None:
    if int(window) != window or window < 1:
        raise ValueError(f"window must be an integer >= 1, got {window!r}")
    if int(overlap) != overlap or not 0 <= overlap < window:
        raise ValueError(f"overlap must be an integer in [0, window) = [0, {window}), "
                         f"got {overlap!r}")


def _window_planner(count: Callable[[int], int], window: int, overlap: int) -> Iterator[Window]:
    """Yields the windows in order, reading ahead only as far as needed.

    count(n) returns min(n, number of frames), reading frames until it knows. Window k is
    yielded once window k+1's start is known (its `fade_out` depends on it), which needs frames
    up to s_{k+1} + window: one stride of read-ahead. The cross-fade of windows k and k+1 covers
    the frames both hold that window k-1 does not, [max(s_{k+1}, e_{k-1}), e_k), so at most two
    windows weigh on any frame.
    """
    stride = window - overlap
    pending = None  # [start, stop, fade_in, lead] of the window waiting for its successor
    s = 0
    while True:
        n = count(s + window)
        if n < s + window:  # a window from s would run past the end: end it at the last frame
            start, stop = max(0, n - window), n
        else:
            start, stop = s, s + window
        fade_in = lead = 0
        if pending is not None:
            p_start, p_stop, p_fade_in, p_lead = pending
            fade_from = max(start, p_start + p_lead + p_fade_in)
            fade_in, lead = p_stop - fade_from, fade_from - start
            yield Window(p_start, p_stop, p_fade_in, fade_in, p_lead)
        pending = (start, stop, fade_in, lead)
        if count(stop + 1) == stop:  # no frame after this window
            break
        s = start + stride
    yield Window(pending[0], pending[1], pending[2], 0, pending[3])


def plan_windows(num_frames: int, window: int = DEFAULT_WINDOW,
                 overlap: int = DEFAULT_OVERLAP) -> list:
    """The windows `VideoInpainter` uses for a video of `num_frames` frames (list of `Window`)."""
    _check_window_args(window, overlap)
    if num_frames < 1:
        raise ValueError(f"num_frames must be >= 1, got {num_frames}")
    return list(_window_planner(lambda n: min(n, num_frames), window, overlap))


def blend_weights(num_frames: int, window: int = DEFAULT_WINDOW,
                  overlap: int = DEFAULT_OVERLAP) -> np.ndarray:
    """float64 [num_windows, num_frames]: the normalised weight of each window on each frame.

    Columns sum to one; a window's weight is 0 on frames it does not cover.
    """
    windows = plan_windows(num_frames, window, overlap)
    out = np.zeros((len(windows), num_frames))
    for k, w in enumerate(windows):
        out[k, w.start:w.stop] = w.weights()
    return out / out.sum(axis=0, keepdims=True)
