"""Per-video evaluation: every per-frame metric of one (ground truth, result, masks) triple.

Frames are decoded to uint8 and mapped to [0, 1] by x / 255 in float32 **before** any
subtraction (no uint8 wrap-around), then scored with `lgtsm_tf.metrics` in chunks of frames, so
memory does not grow with the video length (except for I3D, which needs the whole video).

Per-frame metrics (NaN where a value does not exist, e.g. hole metrics of a frame without hole):

* ``mse``, ``psnr``: whole frame, `metrics.mse_per_frame` / `metrics.psnr_from_mse`: PSNR =
  10 log10(1 / MSE) on [0, 1] values, +inf for identical frames unless ``max_psnr`` caps it.
  The same value as E2FGVI/ProPainter's 20 log10(255 / sqrt(MSE_255)) on float64 [0, 255].
* ``ssim``: whole frame, `metrics.ssim_per_frame`: Gaussian window 11x11, sigma 1.5, population
  covariance, per channel then averaged, border of 5 pixels excluded (= skimage
  ``structural_similarity(gaussian_weights=True, sigma=1.5, use_sample_covariance=False)`` and
  ``tf.image.ssim``).
* ``ssim_field``: whole frame with the E2FGVI/ProPainter settings (`FIELD_SSIM`): skimage
  ``structural_similarity`` on float64 [0, 255] frames, ``data_range=255``, ``win_size=65``
  **uniform** window, sample covariance, per channel then averaged, border of 32 pixels
  excluded (their ``compare_ssim(..., data_range=255, multichannel=True, win_size=65)``). Needs
  frames of at least 65x65 (else skipped with the reason). Use this column to compare with
  their tables; ``ssim`` is the usual Gaussian SSIM and can read higher or lower.
* ``mse_hole``, ``psnr_hole``: hole pixels only (masks given), `metrics.mse_per_frame(...,
  masks)`; ``ssim_hole``: the full-size Gaussian SSIM map averaged over hole pixels.
* ``mse_known``: MSE over the known pixels (mask 0) of the result **as given**: ~0 for a
  composited, losslessly stored result (it tells whether compositing happened).
* ``hole_fraction``: fraction of hole pixels in the frame.
* ``lpips``: whole frame, `lgtsm_tf.evaluation.lpips` (only with weights).
* ``warp_error``, ``warp_error_hole``, ``warp_error_ground_truth``: pair (t, t+1) stored at
  frame t, `lgtsm_tf.evaluation.temporal`; the last frame has none.

``composite=True`` replaces the result's known pixels (mask 0) by the ground truth's before
scoring, as the field's evaluations composite the network output; by default the result is
scored as given (lgtsm-inpaint already writes composited frames).
"""

import dataclasses
import math
from typing import Dict, List, Optional

import numpy as np
import tensorflow as tf
from skimage.metrics import structural_similarity

from lgtsm_tf import metrics
from lgtsm_tf.evaluation import temporal
from lgtsm_tf.evaluation.inputs import VideoInputs, iter_frames

#: Keyword arguments of skimage.metrics.structural_similarity for `ssim_field`.
FIELD_SSIM = {"win_size": 65, "data_range": 255, "gaussian_weights": False,
              "use_sample_covariance": True, "channel_axis": -1}
#: Smallest frame side `metrics.ssim_per_frame` accepts (its 11x11 window).
MIN_SIZE = 11
#: Frames scored per TensorFlow call: at most 16, fewer for large frames (SSIM holds about
#: 15 float32 maps per frame), at least 1.
MAX_CHUNK_FRAMES, CHUNK_PIXELS = 16, 2_000_000

#: Per-frame metric names in report order (only those computed appear in a report).
METRICS = ("mse", "psnr", "ssim", "ssim_field", "lpips", "mse_hole", "psnr_hole", "ssim_hole",
           "mse_known", "hole_fraction", "warp_error", "warp_error_hole",
           "warp_error_ground_truth")
WARP_METRICS = ("warp_error", "warp_error_hole", "warp_error_ground_truth")


@dataclasses.dataclass
class Options:
    """What to compute. See the module docstring."""

    max_psnr: Optional[float] = None
    composite: bool = False
    invert_masks: bool = False
    warp_error: bool = True
    field_ssim: bool = True


@dataclasses.dataclass
class VideoResult:
    """Per-frame values of one video, plus I3D features when asked for."""

    inputs: VideoInputs
    frames: int
    height: int
    width: int
    per_frame: Dict[str, List[float]]
    skipped: Dict[str, str]
    i3d_truth: Optional[np.ndarray] = None
    i3d_result: Optional[np.ndarray] = None


def field_ssim(truth: np.ndarray, result: np.ndarray) -> float:
    """SSIM with the E2FGVI/ProPainter settings (`FIELD_SSIM`) of uint8 frames [H, W, 3]."""
    return float(structural_similarity(np.asarray(truth, np.float64),
                                       np.asarray(result, np.float64), **FIELD_SSIM))


def _tf_chunk(truth, result, masks, max_psnr) -> Dict[str, np.ndarray]:
    """uint8 [n, H, W, 3] (+ masks [n, H, W] in {0, 1}) -> {metric: float64 [n]}."""
    t = tf.constant(truth[None], tf.float32) / 255.0
    r = tf.constant(result[None], tf.float32) / 255.0
    mse = metrics.mse_per_frame(t, r)
    out = {"mse": mse, "psnr": metrics.psnr_from_mse(mse, max_psnr),
           "ssim": metrics.ssim_per_frame(t, r)}
    if masks is not None:
        m = tf.constant(masks[None, ..., None], tf.float32)
        mse_hole = metrics.mse_per_frame(t, r, m)
        out.update(mse_hole=mse_hole, psnr_hole=metrics.psnr_from_mse(mse_hole, max_psnr),
                   ssim_hole=metrics.ssim_per_frame(t, r, m))
    return {k: v.numpy()[0].astype(np.float64) for k, v in out.items()}


def _known_mse(truth, result, masks) -> np.ndarray:
    t = tf.constant(truth[None], tf.float32) / 255.0
    r = tf.constant(result[None], tf.float32) / 255.0
    known = tf.constant(1.0 - masks[None, ..., None].astype(np.float32))
    return metrics.mse_per_frame(t, r, known).numpy()[0].astype(np.float64)


def evaluate_video(video: VideoInputs, options: Options, lpips=None, i3d=None) -> VideoResult:
    """Scores one video. lpips: an `LPIPSMetric` or None; i3d: an `I3DFeatures` or None.

    Raises ValueError (naming the files) on size or count mismatches and too-small frames.
    """
    has_masks = video.masks is not None
    values: Dict[str, List[float]] = {}
    skipped: Dict[str, str] = {}
    keep_all = i3d is not None
    all_truth, all_result = [], []
    chunk_t, chunk_r, chunk_m = [], [], []
    previous = None
    size = None

    def add(name, vals):
        values.setdefault(name, []).extend(float(v) for v in vals)

    def flush():
        if not chunk_t:
            return
        truth, result = np.stack(chunk_t), np.stack(chunk_r)
        masks = np.stack(chunk_m) if has_masks else None
        if has_masks:
            add("mse_known", _known_mse(truth, result, masks))
            add("hole_fraction", masks.reshape(len(masks), -1).mean(axis=1))
            if options.composite:
                result = np.where(masks[..., None] > 0, result, truth)
        for name, vals in _tf_chunk(truth, result, masks, options.max_psnr).items():
            add(name, vals)
        if options.field_ssim and "ssim_field" not in skipped:
            add("ssim_field", [field_ssim(a, b) for a, b in zip(truth, result)])
        if lpips is not None:
            add("lpips", lpips(truth, result))
        chunk_t.clear(), chunk_r.clear(), chunk_m.clear()

    for gt, res, mask in iter_frames(video, invert_masks=options.invert_masks):
        if size is None:
            size = gt.shape[:2]
            if min(size) < MIN_SIZE:
                raise ValueError(f"{video.ground_truth}: frames are {size[1]}x{size[0]}; the "
                                 f"metrics need at least {MIN_SIZE}x{MIN_SIZE}")
            if options.field_ssim and min(size) < FIELD_SSIM["win_size"]:
                skipped["ssim_field"] = (
                    f"frames are {size[1]}x{size[0]}, smaller than the {FIELD_SSIM['win_size']}"
                    "x65 window of the E2FGVI/ProPainter SSIM settings")
        scored = res
        if has_masks and options.composite:
            scored = np.where(mask[..., None] > 0, res, gt)
        if options.warp_error and previous is not None:
            p_gt, p_res, p_mask = previous
            for name, v in temporal.pair_errors(p_gt, gt, p_res, scored, p_mask, mask).items():
                add(name, [v])
        if options.warp_error:
            previous = (gt, scored, mask)
        chunk_t.append(gt), chunk_r.append(res), chunk_m.append(mask)
        if keep_all:
            all_truth.append(gt), all_result.append(scored)
        if len(chunk_t) >= max(1, min(MAX_CHUNK_FRAMES, CHUNK_PIXELS // (size[0] * size[1]))):
            flush()
    flush()
    n = len(values["mse"])
    if options.warp_error:
        for name in WARP_METRICS:
            if name == "warp_error_hole" and not has_masks:
                continue
            values[name] = values.get(name, []) + [math.nan]  # the last frame has no pair
    result = VideoResult(video, n, size[0], size[1], values, skipped)
    if keep_all:
        result.i3d_truth = i3d(np.stack(all_truth))
        result.i3d_result = i3d(np.stack(all_result))
    return result
