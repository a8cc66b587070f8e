"""Whole-video inpainting: any length, any resolution, streamed, with smooth window blending.

`VideoInpainter` runs an inpainting generator (the contract of `lgtsm_tf.build_generator`:
{"frames": float [B, T, H, W, 3] in [0, 1], "masks": float [B, T, H, W, 1], 1 = hole} ->
composited float [B, T, H, W, 3]) over a whole video, one temporal window of `window` frames at
a time, and yields finished `uint8 [H, W, 3]` frames in order::

    inpainter = VideoInpainter.from_path("lgtsm.keras", window=16, overlap=6, dilate=4)
    for frame in inpainter.inpaint(open_video("in.mp4"), open_masks("masks/")):
        ...                                     # uint8 [H, W, 3], known pixels untouched
    inpainter.inpaint_files("in.mp4", "masks/", "out.mp4", compare=True)   # the CLI's core

**Windows.** Window k covers frames [s_k, s_k + T) with s_k = k * (T - overlap); the last window
is moved back to end exactly at the last frame (so it may overlap its predecessor by more than
`overlap`), and a video shorter than T is one window of all its frames. Every window therefore
has the same length and several windows run as one batch (`batch_windows`).

**Blending (no pops).** Over the L frames where consecutive windows k and k+1 cross-fade,
window k+1's weight rises linearly, 1/(L+1), 2/(L+1), ..., L/(L+1), and window k's falls as the
complement, so the weights of every frame sum to one (the sum is also divided out, against
rounding). Outside cross-fades a frame has one window and weight one. The cross-fade covers
the frames k and k+1 share that window k-1 does not, so no frame is blended from more than two
windows: L = overlap for overlap <= window / 2, and L = window - overlap for larger overlaps
(the extra shared frames are context only, with weight 0 in the later window; the same holds
for the first frames of a last window moved back). The output thus cross-fades from one window's
solution to the next over L frames; the largest frame-to-frame change of any weight is
1/(L+1), the smallest possible for a transition spread over L frames (a cosine ramp reaches
pi/2 times that at its midpoint). Peer tools (STTN, E2FGVI, ProPainter, FGT) instead update
`result = 0.5 * result + 0.5 * new` each time a window revisits a frame: a frame seen by n
windows gets weights 1/2^(n-1), ..., 1/4, 1/2 (unequal), and at the first and last frame of each
overlap the mix jumps from 100 % to 50 % of a window in a single frame -- the visible "pop" at
chunk borders. The blend is computed as base + sum_k w_k (y_k - base) / sum_k w_k (base = the
first window's output for the frame), so when the windows agree the result is bit-identical to
any one of them; a model whose output does not depend on the window gives the same video for
every `window` / `overlap` / `batch_windows`.

**Streaming.** Frames and masks are read lazily from the given iterators; at most the frames of
`batch_windows` windows (plus one stride of read-ahead to place the next window) are held, with
one float accumulator per frame in flight, and each frame is yielded as soon as no later window
covers it. Memory is O(window * batch_windows), flat in video length
(`benchmarks/inference_memory.py` measures it).

**Any size.** The model needs H and W to be multiples of 4. Frames and masks are padded at the
bottom and right to the next multiple of 4 by *reflection* (mirror without repeating the edge
pixel, like PyTorch's ReflectionPad2d; sides shorter than 4 px, where reflection is undefined,
replicate the edge instead) and the output is cropped back. Reflection continues the texture
at the border, where replicate or zero padding would show the network a flat or black band.
With `working_size` the model runs at a lower resolution: frames are resized with antialiased
bilinear filtering, a working pixel is a hole if any full-resolution hole pixel falls in its
area (so the hole is never shrunk), the output is resized back bilinearly, and only the
(dilated) full-resolution hole pixels are taken from it.

**Known pixels** are copied from the input frame outside the (dilated) hole, after the uint8
conversion, so they are bit-identical to the input whatever the model, precision or resizing.

**Masks** (1 = hole). Accepted as `[H, W]` or `[H, W, 1]` (or `[H, W, C]`: hole where any
channel is a hole) per frame. bool masks are used as is. Integer masks (uint8 from files): hole
= nonzero, the rule of the mask files (`lgtsm_tf.video_io.read_mask`). Float masks: hole =
value > 0.5, because float masks are soft (resampled or predicted) masks in [0, 1] where 0.5 is
the decision boundary and tiny non-zero values are numerical noise. A mask with more than one
non-zero value (integer) or with values other than 0 and 1 (float) is *non-binary*: it is
thresholded by that rule and a `UserWarning` says so (once per video); masks read from files
by `video_io` arrive already binarised by its rules, so this concerns arrays given to the API.
`dilate=N` grows every hole by N pixels in the square (Chebyshev) neighbourhood, i.e. like
`cv2.dilate` with a (2N+1) x (2N+1) rectangle. Frames whose (dilated) mask is empty are returned unchanged, and a
window without any hole pixel is not run through the model at all. A mask whose size differs
from the frames is an error unless `resize_masks=True` (nearest-neighbour resize). Mask count
different from the frame count is always an error (a single 2-D array, or a single mask image
opened with `open_masks`, applies to every frame). Both counts are the frames that *decode*
(`video_io.count_frames`: a video file is decoded once, pixels discarded, before any model
work; its header's count is only the progress bar's first guess), so a mismatch is reported
before the model runs, naming both numbers. Masks without a single hole pixel in the whole
video give a `UserWarning` at the end (the output then equals the input).
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import warnings
import weakref
from fractions import Fraction
from typing import Callable, Iterable, Iterator, Optional, Sequence, Tuple

import numpy as np
from absl import logging

from lgtsm_tf import atomic, video_io

__all__ = [
    "DEFAULT_WINDOW",
    "DEFAULT_OVERLAP",
    "PRECISIONS",
    "VIDEO_EXTENSIONS",
    "Window",
    "plan_windows",
    "blend_weights",
    "binarize_mask",
    "dilate_mask",
    "pad_to_multiple",
    "load_model",
    "model_path",
    "model_flag_path",
    "compare_path",
    "compare_frame",
    "check_outputs",
    "check_inputs",
    "VideoInpainter",
]

DEFAULT_WINDOW = 16
# Every LGTSM layer shifts features by one frame with zero padding at the clip ends, so frames
# near a window's ends are computed with less temporal context; on the seam test's static clip
# this edge effect reaches ~6 frames in. Cross-fading over 6 frames keeps border changes well
# below those inside windows; with 4 the mean border change exceeds the inside one (tests).
DEFAULT_OVERLAP = 6
#: Written by trainers/train.py beside generator.keras: {"window": clip length, "overlap": ...}.
WINDOWING_FILE = "inference.json"
#: Spatial size multiple the generator needs (two stride-2 stages, two x2 upsamplings).
SIZE_MULTIPLE = 4
#: `precision` values and the Keras dtype policy each runs the model under.
PRECISIONS = {"fp32": "float32", "bf16": "mixed_bfloat16"}
#: `--output` extensions written as a video (everything else must be a folder of PNGs).
VIDEO_EXTENSIONS = (".mp4", ".m4v", ".mov", ".mkv")
#: Frame rate written when the input (a frame folder or image) has none and none is given.
FALLBACK_FRAME_RATE = 25
#: Reference-checkpoint suffixes read through `lgtsm_tf.convert.load_reference_generator`.
REFERENCE_SUFFIXES = (".npz", ".pth", ".pt", ".tar", ".ckpt")
#: Overlay colour and opacity of the hole in `--compare` videos.
COMPARE_COLOR = (255, 0, 0)
COMPARE_ALPHA = 0.5


# ----------------------------------------------------------------------------- windows

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


# ----------------------------------------------------------------------------- masks and sizes

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
        hole, nonbinary = m, False
    elif np.issubdtype(m.dtype, np.integer):
        top = m.max() if m.size else 0
        nonbinary = bool(top != 0 and np.any((m != 0) & (m != top)))
        hole = m != 0
    elif np.issubdtype(m.dtype, np.floating):
        if np.isnan(m).any():
            raise ValueError(f"{where}: mask contains NaN")
        nonbinary = bool(np.any((m != 0) & (m != 1)))
        hole = m > 0.5
    else:
        raise ValueError(f"{where}: unsupported mask dtype {m.dtype} (use bool, integer or float)")
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


def pad_to_multiple(x: np.ndarray, multiple: int = SIZE_MULTIPLE) -> np.ndarray:
    """[H, W, C] -> [H', W', C] with H', W' the next multiples of `multiple`.

    Pads at the bottom and right by reflection (mirror without repeating the edge pixel); a
    side not longer than its padding (under 4 px) replicates its edge instead. Crop back with
    [:H, :W].
    """
    for axis in (0, 1):
        pad = (-x.shape[axis]) % multiple
        if pad:
            widths = [(0, 0)] * x.ndim
            widths[axis] = (0, pad)
            x = np.pad(x, widths, mode="reflect" if x.shape[axis] > pad else "edge")
    return x


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


# ----------------------------------------------------------------------------- model loading

def _set_policy(config, policy: str):
    """Copy of a model config with every layer's DTypePolicy set to `policy` (not Composite's,
    which keeps its float32 output, nor the inputs')."""
    if isinstance(config, dict):
        if config.get("class_name") in ("Composite", "InputLayer"):
            return config
        out = {}
        for key, value in config.items():
            if key == "dtype" and isinstance(value, dict) and value.get("class_name") in (
                    "DTypePolicy", "FloatDTypePolicy"):
                value = {**value, "config": {**value.get("config", {}), "name": policy}}
            else:
                value = _set_policy(value, policy)
            out[key] = value
        return out
    if isinstance(config, list):
        return [_set_policy(v, policy) for v in config]
    return config


def _choose_precision(model, precision: str):
    """(precision, why) for `VideoInpainter`: "auto" resolved for `model`."""
    import keras

    if precision != "auto":
        return precision, "asked for"
    if not isinstance(model, keras.Model):
        return "fp32", "a SavedModel runs at the precision it was exported with"
    from lgtsm_tf.cpu_features import auto_precision

    return auto_precision()


def _with_precision(model, precision: str):
    """The Keras `model` rebuilt under the dtype policy of `precision` (same weights)."""
    import keras

    policy = PRECISIONS[precision]
    layers = [layer for layer in model.layers if type(layer).__name__ not in
              ("Composite", "InputLayer")]
    if all(layer.dtype_policy.name == policy for layer in layers):
        return model
    try:
        clone = model.__class__.from_config(_set_policy(model.get_config(), policy))
        clone.set_weights(model.get_weights())
    except Exception as e:
        raise ValueError(f"cannot run model {model.name!r} at precision {precision!r}: rebuilding "
                         f"it under the {policy} policy failed: {type(e).__name__}: {e}") from e
    return clone


class _SavedModelFunction:
    """A loaded SavedModel called like a Keras model: fn({"frames", "masks"}) -> frames."""

    def __init__(self, loaded, path: str):
        self.path = path
        self._loaded = loaded
        if hasattr(loaded, "serve"):  # keras.Model.export()
            self._fn = lambda inputs: loaded.serve(inputs)
        elif "serving_default" in getattr(loaded, "signatures", {}):  # tf.saved_model.save()
            signature = loaded.signatures["serving_default"]
            names = self._signature_names(signature, path)

            def call(inputs):
                out = signature(**{names[k]: inputs[k] for k in ("frames", "masks")})
                if len(out) != 1:
                    raise ValueError(f"{path}: serving_default returns {sorted(out)}; expected "
                                     "one output (the inpainted frames)")
                return next(iter(out.values()))
            self._fn = call
        else:
            raise ValueError(f"{path}: SavedModel has neither a `serve` endpoint "
                             "(keras Model.export) nor a `serving_default` signature")

    @staticmethod
    def _signature_names(signature, path):
        """{"frames": arg name, "masks": arg name}: by name, else by channels (3 vs 1)."""
        specs = signature.structured_input_signature[1]
        if {"frames", "masks"} <= set(specs):
            return {"frames": "frames", "masks": "masks"}
        by_channels = {spec.shape[-1]: name for name, spec in specs.items()
                       if spec.shape.rank == 5}
        if len(specs) == 2 and set(by_channels) == {3, 1}:
            return {"frames": by_channels[3], "masks": by_channels[1]}
        raise ValueError(f"{path}: serving_default inputs {sorted(specs)} do not match the "
                         "generator's (frames [B, T, H, W, 3], masks [B, T, H, W, 1])")

    def __call__(self, inputs, training=False):
        del training
        return self._fn(inputs)


def _find_keras_file(folder: str) -> Optional[str]:
    names = sorted(n for n in os.listdir(folder) if n.endswith(".keras")
                   and not n.startswith(".") and ".partial" not in n)
    if "generator.keras" in names:
        return os.path.join(folder, "generator.keras")
    if len(names) == 1:
        return os.path.join(folder, names[0])
    if len(names) > 1:
        raise ValueError(f"{folder}: several .keras files ({', '.join(names)}) and no "
                         "generator.keras; pass the file to use")
    return None


def model_path(spec) -> str:
    """The file or directory a model argument names: `preset:NAME` -> the preset's verified
    weights file (`lgtsm_tf.presets.preset_file`: ValueError for an unknown name, listing the
    presets, or a damaged file); anything else is a path, returned as a string."""
    from lgtsm_tf import presets

    name = presets.preset_name(spec)
    return presets.preset_file(name) if name is not None else os.fspath(spec)


def model_flag_path(spec, flag: str = "--model") -> str:
    """`model_path(spec)` for a command-line flag, checked to exist: ValueError
    (`--model=preset:x: unknown preset ...`) or FileNotFoundError (`<path>: no such file or
    directory (--model)`), both naming the flag."""
    try:
        path = model_path(spec)
    except ValueError as e:
        raise ValueError(f"{flag}={spec}: {e}") from None
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: no such file or directory ({flag})")
    return path


def windowing(spec, window: Optional[int] = None, overlap: Optional[int] = None):
    """(window, overlap) to run the model `spec` with: the given values, else the model's own,
    else DEFAULT_WINDOW/OVERLAP. The model's own: a preset's (`Preset.window`/`overlap`), or for
    a training directory (or the `generator.keras` in it) the `WINDOWING_FILE` that
    trainers/train.py writes there: its training clip length (a model trained on 6-frame clips
    loses ~1 dB hole PSNR when run in 16-frame windows)."""
    from lgtsm_tf import presets

    own = None
    if isinstance(spec, (str, os.PathLike)):
        spec = os.fspath(spec)
        name = presets.preset_name(spec)
        if name is not None:
            preset = presets.get(name)
            own = (preset.window, preset.overlap)
        else:
            folder = spec if os.path.isdir(spec) else (
                os.path.dirname(spec) if os.path.basename(spec) == "generator.keras" else None)
            own = _read_windowing(os.path.join(folder, WINDOWING_FILE)) if folder else None
    own = own or (DEFAULT_WINDOW, DEFAULT_OVERLAP)
    window = own[0] if window is None else window
    return window, (min(own[1], window - 1) if overlap is None else overlap)


def _read_windowing(path):
    """(window, overlap) from a `WINDOWING_FILE`, None if there is none; ValueError if it is
    not {"window": int >= 1, "overlap": int >= 0}."""
    import json

    if not os.path.isfile(path):
        return None
    try:
        with open(path) as f:
            values = json.load(f)
        window, overlap = values["window"], values["overlap"]
        if not (isinstance(window, int) and isinstance(overlap, int) and window >= 1
                and 0 <= overlap):
            raise ValueError("window must be an integer >= 1 and overlap an integer >= 0")
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ValueError(f"{path}: not a windowing file ({{\"window\": N, \"overlap\": M}}): "
                         f"{type(e).__name__}: {e}") from None
    return window, overlap


def load_model(path, variant: str = "lgtsm"):
    """`_load_model`, refusing (ValueError) a Keras model whose weights are not all finite."""
    from lgtsm_tf.models import check_finite_weights

    return check_finite_weights(_load_model(path, variant), os.fspath(path))


def _load_model(path, variant: str = "lgtsm"):
    """Loads an inpainting generator from `path` (see `VideoInpainter.from_path` for the rules).

    Returns a `keras.Model`, or for a SavedModel a callable with the same dict -> frames
    contract.
    """
    import keras
    import tensorflow as tf

    import lgtsm_tf  # noqa: F401  (registers the layers for deserialisation)

    path = model_path(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: no such model file or directory")
    if os.path.isfile(path):
        lower = path.lower()
        if lower.endswith(".keras"):
            try:
                return keras.saving.load_model(path, compile=False)
            except Exception as e:
                raise ValueError(f"{path}: cannot load Keras model: {type(e).__name__}: {e}") from e
        if lower.endswith(REFERENCE_SUFFIXES):
            from lgtsm_tf.convert import load_reference_generator
            return load_reference_generator(path, variant=variant)
        raise ValueError(f"{path}: unknown model file type; expected .keras, a SavedModel "
                         f"directory, a training directory or a reference checkpoint "
                         f"({', '.join(REFERENCE_SUFFIXES)})")
    if os.path.exists(os.path.join(path, "saved_model.pb")):
        try:
            loaded = tf.saved_model.load(path)
        except Exception as e:
            raise ValueError(f"{path}: cannot load SavedModel: {type(e).__name__}: {e}") from e
        return _SavedModelFunction(loaded, path)
    keras_file = _find_keras_file(path)
    latest = tf.train.latest_checkpoint(path)
    if latest is None and os.path.isdir(os.path.join(path, "checkpoints")):
        latest = tf.train.latest_checkpoint(os.path.join(path, "checkpoints"))
    if keras_file is None:
        what = "TF checkpoint files but no .keras file to rebuild the architecture from" if latest \
            else "no saved_model.pb, .keras file or TF checkpoint"
        raise ValueError(f"{path}: not a model directory: it has {what} (a training directory "
                         "holds generator.keras, optionally with TF checkpoints in it or in "
                         "checkpoints/)")
    try:
        model = keras.saving.load_model(keras_file, compile=False)
    except Exception as e:
        raise ValueError(f"{keras_file}: cannot load Keras model: {type(e).__name__}: {e}") from e
    if latest:
        status = tf.train.Checkpoint(generator=model).restore(latest).expect_partial()
        try:
            status.assert_existing_objects_matched()
        except AssertionError as e:
            raise ValueError(f"{latest}: checkpoint does not hold the weights of {keras_file} "
                             f"under `generator` (tf.train.Checkpoint(generator=...)): {e}") from e
        logging.info("Loaded %s with weights from %s", keras_file, latest)
    return model


# ----------------------------------------------------------------------------- streaming source

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


# ----------------------------------------------------------------------------- the inpainter

# model -> its traced predict function, so inpainters sharing a model share one trace.
_PREDICT_CACHE = weakref.WeakKeyDictionary()


class VideoInpainter:
    """Inpaints whole videos with a generator, streaming, in blended temporal windows.

    See the module docstring for the window, blending, padding and mask rules.

    Args:
      model: a `keras.Model` (or any callable) with the generator contract: {"frames": float32
        [B, T, H, W, 3] in [0, 1], "masks": float32 [B, T, H, W, 1], 1 = hole} -> float
        [B, T, H, W, 3] (values outside [0, 1] are clipped). H, W are multiples of 4 here.
      window: frames per window T (>= 1).
      overlap: frames shared by consecutive windows, in [0, window); they cross-fade over
        min(overlap, window - overlap) frames. 0 = hard cuts (except before a last window moved
        back to end at the last frame, which always cross-fades over the frames it shares).
      dilate: grow holes by this many pixels before inpainting (>= 0).
      batch_windows: windows run per model call (>= 1).
      working_size: None (full resolution) or (height, width) to run the model at; either side
        may be None to keep the aspect ratio (rounded to a multiple of 4).
      precision: "fp32", "bf16" (Keras models are rebuilt under the mixed_bfloat16 policy,
        same weights; a SavedModel runs as exported and accepts only "fp32") or "auto" (bf16
        for a Keras model on a CPU with native bf16, else fp32: `cpu_features.auto_precision`;
        `self.precision` and `self.precision_reason` say what was chosen and why).
      resize_masks: nearest-resize masks whose size differs from the frames (else an error).
      progress: show a `keras.utils.Progbar` while inpainting.
    """

    def __init__(self, model, window: int = DEFAULT_WINDOW, overlap: int = DEFAULT_OVERLAP,
                 dilate: int = 0, batch_windows: int = 1,
                 working_size: Optional[Tuple[Optional[int], Optional[int]]] = None,
                 precision: str = "fp32", resize_masks: bool = False, progress: bool = False):
        _check_window_args(window, overlap)
        if int(dilate) != dilate or dilate < 0:
            raise ValueError(f"dilate must be an integer >= 0, got {dilate!r}")
        if int(batch_windows) != batch_windows or batch_windows < 1:
            raise ValueError(f"batch_windows must be an integer >= 1, got {batch_windows!r}")
        if precision != "auto" and precision not in PRECISIONS:
            raise ValueError(f"precision must be 'auto' or one of {sorted(PRECISIONS)}, got "
                             f"{precision!r}")
        if working_size is not None:
            if len(working_size) != 2 or any(
                    s is not None and (int(s) != s or s < SIZE_MULTIPLE) for s in working_size):
                raise ValueError(f"working_size must be (height, width) with sides >= "
                                 f"{SIZE_MULTIPLE} or None, got {working_size!r}")
        self.window = int(window)
        self.overlap = int(overlap)
        self.dilate = int(dilate)
        self.batch_windows = int(batch_windows)
        self.working_size = None if working_size is None else tuple(working_size)
        self.precision, self.precision_reason = _choose_precision(model, precision)
        self.resize_masks = bool(resize_masks)
        self.progress = bool(progress)
        self.model = self._prepare_model(model, self.precision)
        self._predict = self._make_predict(self.model)
        self.model_calls = 0  # number of batches run (for tests and logging)

    @staticmethod
    def _prepare_model(model, precision):
        import keras

        if isinstance(model, keras.Model):
            return _with_precision(model, precision)
        if precision != "fp32":
            raise ValueError(f"precision {precision!r} needs a Keras model; "
                             f"{_name(model, type(model).__name__)} runs as it was exported")
        return model

    @staticmethod
    def _make_predict(model):
        """One traced function per model (cached), with fully dynamic [B, T, H, W]."""
        import tensorflow as tf

        try:
            return _PREDICT_CACHE[model]
        except (KeyError, TypeError):
            pass
        try:
            model_ref = weakref.ref(model)  # the cache must not keep the model alive
        except TypeError:  # not weak-referenceable: no caching
            model_ref = lambda: model  # noqa: E731
        specs = [tf.TensorSpec([None, None, None, None, 3], tf.float32),
                 tf.TensorSpec([None, None, None, None, 1], tf.float32)]

        @tf.function(input_signature=specs)
        def predict(frames, masks):
            out = model_ref()({"frames": frames, "masks": masks}, training=False)
            return tf.cast(out, tf.float32)

        try:
            _PREDICT_CACHE[model] = predict
        except TypeError:
            pass
        return predict

    @classmethod
    def from_path(cls, path, variant: str = "lgtsm", **kwargs) -> "VideoInpainter":
        """A `VideoInpainter` for the generator stored at `path`.

        What `path` is decides how it is read:

        * `preset:NAME`: a generator shipped with the package (`lgtsm_tf.presets`);
        * a `.keras` file: `keras.saving.load_model` (the lgtsm_tf layers are registered);
        * a reference checkpoint, `.pth`/`.pt`/`.tar`/`.ckpt` (needs torch) or `.npz`:
          `lgtsm_tf.convert.load_reference_generator(path, variant)` (nf read from the file);
        * a directory with `saved_model.pb`: a SavedModel (`keras.Model.export` -> its `serve`
          endpoint, or `tf.saved_model.save` -> `serving_default` with inputs `frames`,
          `masks` and one output);
        * any other directory is a *training directory* (`trainers/train.py --model_dir`):
          the architecture (and weights) come from `generator.keras` in it, or from its only
          `.keras` file (`*.partial*` leftovers are ignored); if TF checkpoint files
          (`checkpoint` + `ckpt-N.*`) are in it or in its `checkpoints/` sub-directory, the
          weights of the latest checkpoint are restored into that model from the `generator`
          attribute of a `tf.train.Checkpoint(generator=..., ...)` and win over the `.keras`
          weights (so an interrupted run gives its newest weights); optimizer, discriminator
          and step entries are ignored; a checkpoint without all generator weights is an
          error.

        Args:
          path: see above.
          variant: network variant for reference checkpoints ("lgtsm", "gtsm", "2d", "3d").
          **kwargs: `VideoInpainter` arguments (window, overlap, ...); window and overlap
            default to a preset's own (`windowing`).
        """
        window, overlap = windowing(path, kwargs.pop("window", None),
                                    kwargs.pop("overlap", None))
        return cls(load_model(path, variant=variant), window=window, overlap=overlap, **kwargs)

    # -------------------------------------------------------------------------- per frame

    def _model_input(self, record: _Frame, working: Optional[Tuple[int, int]]):
        if record.model_input is None:
            import tensorflow as tf

            frame = record.frame.astype(np.float32) / np.float32(255.0)
            mask = record.hole[..., None].astype(np.float32)
            if working is not None:
                frame = tf.image.resize(frame, working, method="bilinear", antialias=True).numpy()
                # "area": a working pixel is a hole if any full-resolution hole pixel overlaps it.
                mask = (tf.image.resize(mask, working, method="area").numpy() > 0)
                mask = mask.astype(np.float32)
            record.model_input = (pad_to_multiple(frame), pad_to_multiple(mask))
        return record.model_input

    def _finish(self, record: _Frame, entry, working) -> np.ndarray:
        """The output uint8 [H, W, 3]: model output in the hole, the input elsewhere."""
        if entry is None:  # no hole in this frame
            return record.frame
        base, delta, weight = entry
        out = base if delta is None else base + delta / np.float32(weight)
        if working is not None:
            import tensorflow as tf

            out = tf.image.resize(out, record.frame.shape[:2], method="bilinear").numpy()
        out = np.clip(np.rint(out * np.float32(255.0)), 0, 255).astype(np.uint8)
        result = record.frame.copy()
        result[record.hole] = out[record.hole]
        return result

    # -------------------------------------------------------------------------- whole videos

    def inpaint(self, frames: Iterable, masks) -> Iterator[np.ndarray]:
        """Inpaints a video, streaming: yields the output frames, uint8 [H, W, 3], in order.

        Args:
          frames: iterable of uint8 [H, W, 3] RGB frames (a `video_io.VideoReader`, a list, or
            a uint8 [T, H, W, 3] array).
          masks: iterable of per-frame masks [H, W] / [H, W, 1] (1 = hole; dtype rules in the
            module docstring), e.g. a `video_io.MaskReader` (a single mask image repeats), or a
            single 2-D array used for every frame. Must have as many masks as frames.

        Frame/mask problems raise ValueError naming the file (readers' `path`) or "frames" /
        "masks" and the index; checks that need the counts happen now when both counts are
        known (`num_frames` of the readers, which decodes a video file once to count its
        frames, or array lengths), otherwise when the shorter stream ends. Call parameters are
        checked now; reading starts at the first `next()`. If no mask has a hole pixel, a
        `UserWarning` says so once the last frame is yielded.
        """
        source = _Source(self, frames, masks)
        return (out for _, out in self._run(source))

    def inpaint_array(self, frames: np.ndarray, masks) -> np.ndarray:
        """In-memory convenience: uint8 [T, H, W, 3] (+ masks) -> uint8 [T, H, W, 3]."""
        return np.stack(list(self.inpaint(frames, masks)))

    def _run(self, source: _Source) -> Iterator[Tuple[_Frame, np.ndarray]]:
        """Yields (input record, output frame) in order. See `inpaint`."""
        import keras

        source.count(1)  # fails on zero frames / bad first frame before anything else
        working = _resolve_working_size(self.working_size, source.size)
        height, width = working or source.size
        bar = keras.utils.Progbar(source.num_frames_hint, unit_name="frame") \
            if self.progress else None
        accum = {}  # frame -> [base, delta or None, weight sum]
        done = 0  # frames yielded so far
        planner = _window_planner(source.count, self.window, self.overlap)
        while True:
            batch = list(itertools.islice(planner, self.batch_windows))
            if not batch:
                break
            for f in [f for f in source.records if f < min(done, batch[0].start)]:
                del source.records[f]  # yielded, and no longer a model input
            todo = [w for w in batch if source.any_hole(w)]
            if todo:
                inputs = [[self._model_input(source.records[f], working)
                           for f in range(w.start, w.stop)] for w in todo]
                frames = np.stack([np.stack([x for x, _ in win]) for win in inputs])
                masks = np.stack([np.stack([m for _, m in win]) for win in inputs])
                outputs = self._predict(frames, masks).numpy()[:, :, :height, :width]
                self.model_calls += 1
                for w, out in zip(todo, outputs):
                    for j, (f, weight) in enumerate(zip(range(w.start, w.stop), w.weights())):
                        if weight == 0 or not source.records[f].has_hole:
                            continue
                        entry = accum.get(f)
                        if entry is None:
                            accum[f] = [out[j].copy(), None, weight]
                        else:
                            change = np.float32(weight) * (out[j] - entry[0])
                            entry[1] = change if entry[1] is None else entry[1] + change
                            entry[2] += weight
            complete = batch[-1].complete_before
            for f in range(done, complete):
                record = source.records[f]
                yield record, self._finish(record, accum.pop(f, None), working)
                if bar is not None:
                    bar.update(f + 1)
            done = complete
        if source.length is None:  # the last window ended exactly at the last frame
            source.count(done + 1)
        if done != source.length or accum:  # pragma: no cover - planner invariant
            raise AssertionError(f"internal error: {done} of {source.length} frames produced")
        source.records.clear()
        if bar is not None and source.num_frames_hint != done:
            bar.update(done, finalize=True)
        if source.hole_frames == 0:
            warnings.warn(f"{source.masks_name}: has no hole pixel in any of the {done} frame(s); "
                          "the output equals the input", UserWarning, stacklevel=2)

    # -------------------------------------------------------------------------- files

    def inpaint_files(self, video, masks, output, *, overwrite: bool = False,
                      lossless: bool = False, compare: bool = False,
                      frame_rate=None, invert_masks: bool = False) -> dict:
        """Inpaints a video file/folder and writes the result; the core of `lgtsm-inpaint`.

        Args:
          video: video file, frame folder or image (`video_io.open_video`).
          masks: mask folder, mask video or ONE mask image for every frame
            (`video_io.open_masks`; any nonzero pixel = hole, > 127 for mask videos).
          output: a video path (.mp4/.m4v/.mov/.mkv, H.264, the source frame rate) or a folder
            of PNGs (any other path without an extension).
          overwrite: replace existing output (else FileExistsError before any work).
          lossless: lossless RGB H.264 (bit-exact frames) instead of crf 18 yuv420p.
          compare: also write `compare_path(output)`: input with the hole in translucent red |
            output, side by side (lossy H.264).
          frame_rate: frame rate for inputs without one (folders, images); default 25.
          invert_masks: masks drawn with 0 = hole.

        Checked before any model work: the outputs (`check_outputs`: not existing, folder
        writable) and the mask count against the frames that decode. Nothing is left at
        `output` (or the compare path) if anything fails, KeyboardInterrupt included: the
        writers work on hidden temporary names and are aborted on error (temporaries of a
        killed earlier run for the same output are deleted when the writers start).

        Returns:
          {"frames": count, "output": path, "compare": path or None, "frame_rate": Fraction,
           "model_calls": batches run, "hole_frames": frames with a hole pixel}.
        """
        output = os.fspath(output)
        is_video = _is_video_path(output)
        cmp_path = compare_path(output) if compare else None
        check_outputs([output] + ([cmp_path] if cmp_path else []), [video, masks], overwrite)
        calls_before = self.model_calls
        with video_io.open_video(video, frame_rate=frame_rate) as reader, \
                video_io.open_masks(masks, invert=invert_masks) as mask_reader:
            source = _Source(self, reader, mask_reader)  # counts and compares, before any output
            rate = reader.frame_rate
            if rate is None:
                rate = Fraction(FALLBACK_FRAME_RATE)
                if is_video or compare:
                    logging.warning("%s has no frame rate (frame folder or image); writing at %s "
                                    "fps (set frame_rate / --frame_rate)", reader.path, rate)
            if is_video:
                writer = video_io.VideoWriter(output, rate, lossless=lossless, overwrite=overwrite)
            else:
                writer = video_io.FrameFolderWriter(output, overwrite=overwrite)
            cmp_writer = None
            count = 0
            try:
                if cmp_path:
                    cmp_writer = video_io.VideoWriter(cmp_path, rate, overwrite=overwrite)
                for record, out in self._run(source):
                    writer.write(out)
                    if cmp_writer is not None:
                        cmp_writer.write(compare_frame(record.frame, record.hole, out))
                    count += 1
                if cmp_writer is not None:
                    cmp_writer.close()
                writer.close()
            except BaseException:
                writer.abort()
                if cmp_writer is not None:
                    committed = cmp_writer._state == "closed"
                    cmp_writer.abort()
                    if committed:  # the main output failed after the compare video was moved
                        try:
                            os.remove(cmp_path)
                        except OSError:
                            pass
                raise
        return {"frames": count, "output": output, "compare": cmp_path, "frame_rate": rate,
                "model_calls": self.model_calls - calls_before, "hole_frames": source.hole_frames}


# ----------------------------------------------------------------------------- file helpers

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

