"""Evaluating result videos against ground truth: the report `lgtsm-evaluate` writes.

``evaluate(ground_truth, results, masks=None, ...)`` pairs the inputs
(`lgtsm_tf.evaluation.inputs`), scores every video (`lgtsm_tf.evaluation.video`), computes VFID
over the set when I3D weights are given, and returns a JSON-ready report dict:

* ``settings``: inputs, options and how every metric is computed (windows, flow, networks);
* ``skipped``: {metric: reason} for metrics not computed (LPIPS/VFID without weights, ...);
* ``overall``: the headline numbers, computed as the field does: per-frame metrics (PSNR, SSIM,
  LPIPS, hole metrics) are **averaged over all frames of all videos** (E2FGVI/ProPainter's
  "Average Frame PSNR/SSIM"); the warping errors are the **mean over videos** of each video's
  mean over frame pairs (Lai et al.); VFID is one number for the whole set;
* ``frame_mean`` / ``video_mean``: both averages for every per-frame metric;
* ``videos``: per video its paths, size, frame count, means and per-frame lists.

Non-finite numbers: per-frame values that do not exist (hole metrics of frames without holes,
the warping error of the last frame) are NaN, skipped by the averages, and written as ``null`` in
JSON and as an empty cell in CSV; +inf (PSNR of identical frames without ``max_psnr``) is written
as the string ``"inf"`` in JSON and ``inf`` in CSV, and makes the averages it enters +inf.
"""

import math
import os
from typing import Callable, Optional

import numpy as np

from lgtsm_tf import metrics as tensor_metrics
from lgtsm_tf.evaluation import frechet, temporal
from lgtsm_tf.evaluation.inputs import pair_inputs
from lgtsm_tf.evaluation.video import FIELD_SSIM, METRICS, WARP_METRICS, Options, evaluate_video

REPORT_FORMAT = "lgtsm-evaluate/1"
NO_LPIPS = ("--lpips_weights not given: LPIPS needs the AlexNet backbone and the LPIPS v0.1 "
            "linear-layer weights, which this tool never downloads")
NO_VFID = ("--i3d_weights not given: VFID needs the I3D (rgb_imagenet.pt) weights, which this "
           "tool never downloads")


def mean(values) -> float:
    """Mean of the non-NaN values (NaN if none); +inf values give +inf."""
    kept = [float(v) for v in values if not math.isnan(float(v))]
    if not kept:
        return math.nan
    if any(math.isinf(v) for v in kept):
        return sum(kept) / len(kept)
    return math.fsum(kept) / len(kept)


def _count(values) -> int:
    return sum(1 for v in values if not math.isnan(float(v)))


def load_networks(lpips_weights: Optional[str], i3d_weights: Optional[str]):
    """(LPIPSMetric or None, I3DFeatures or None); imports torch only when a path is given."""
    lpips_metric = i3d_features = None
    if lpips_weights:
        from lgtsm_tf.evaluation.torch_weights import import_torch  # noqa: PLC0415
        import_torch("LPIPS", "--lpips_weights")
        from lgtsm_tf.evaluation import lpips  # noqa: PLC0415
        lpips_metric = lpips.LPIPSMetric(lpips.load(lpips_weights))
    if i3d_weights:
        from lgtsm_tf.evaluation.torch_weights import import_torch  # noqa: PLC0415
        import_torch("VFID", "--i3d_weights")
        from lgtsm_tf.evaluation import i3d  # noqa: PLC0415
        i3d_features = i3d.I3DFeatures(i3d.load(i3d_weights))
    return lpips_metric, i3d_features


def _settings(paired, options, ground_truth, results, masks, lpips_weights, i3d_weights,
              has_lpips, has_i3d):
    settings = {
        "ground_truth": os.fspath(ground_truth),
        "results": os.fspath(results),
        "masks": None if masks is None else os.fspath(masks),
        "collection": paired.collection,
        "frames": "decoded to uint8 RGB, compared as x / 255 in [0, 1] (float32)",
        "max_psnr": options.max_psnr,
        "composite": options.composite,
        "invert_masks": options.invert_masks,
        "psnr": "10*log10(1/MSE) per frame on [0, 1] values; +inf for identical frames unless "
                "max_psnr",
        "ssim": {"window": "gaussian", "size": tensor_metrics.SSIM_WINDOW,
                 "sigma": tensor_metrics.SSIM_SIGMA, "k1": tensor_metrics.SSIM_K1,
                 "k2": tensor_metrics.SSIM_K2, "covariance": "population",
                 "channels": "per channel, averaged", "border": "excluded (5 px)",
                 "equivalent": "skimage structural_similarity(gaussian_weights=True, sigma=1.5, "
                               "use_sample_covariance=False, data_range=1)"},
        "ssim_field": dict(FIELD_SSIM, function="skimage.metrics.structural_similarity on "
                           "float64 [0, 255] frames (E2FGVI/ProPainter's compare_ssim settings)"),
        "hole_metrics": "pixels with mask 1, weighted means; frames without holes skipped",
        "averages": {"overall": "per-frame metrics: mean over all frames of all videos; "
                                "warping errors: mean over videos; vfid: over the set",
                     "frame_mean": "mean over all frames (frame pairs) of all videos",
                     "video_mean": "mean over videos of the per-video means"},
    }
    if options.warp_error:
        settings["warp_error"] = temporal.SETTINGS
    if has_lpips:
        from lgtsm_tf.evaluation import lpips  # noqa: PLC0415
        settings["lpips"] = dict(lpips.SETTINGS, weights=lpips_weights)
    if has_i3d:
        from lgtsm_tf.evaluation import i3d  # noqa: PLC0415
        settings["vfid"] = dict(i3d.SETTINGS, weights=i3d_weights)
    if paired.unused_masks:
        settings["unused_masks"] = list(paired.unused_masks)
    return settings


def evaluate(ground_truth, results, masks=None, *, lpips_weights: Optional[str] = None,
             i3d_weights: Optional[str] = None, max_psnr: Optional[float] = None,
             composite: bool = False, warp_error: bool = True, field_ssim: bool = True,
             invert_masks: bool = False, networks=None,
             log: Optional[Callable[[str], None]] = None) -> dict:
    """Scores result videos against ground truth; returns the report dict (module docstring).

    ground_truth, results, masks: one video each (file, frame folder) or folders of videos
    matched by name (`lgtsm_tf.evaluation.inputs`). lpips_weights / i3d_weights: paths of the
    networks' weights (LPIPS / VFID are skipped, with the reason in ``skipped``, without them;
    PyTorch is needed with them). networks: already loaded (lpips, i3d) from `load_networks`.
    log: called with one line per video. Raises FileNotFoundError / ValueError / ImportError.
    """
    if composite and masks is None:
        raise ValueError("composite=True (--composite) needs masks (--masks)")
    paired = pair_inputs(ground_truth, results, masks)
    lpips_metric, i3d_features = networks or load_networks(lpips_weights, i3d_weights)
    options = Options(max_psnr=max_psnr, composite=composite, invert_masks=invert_masks,
                      warp_error=warp_error, field_ssim=field_ssim)
    results_per_video = []
    for i, video in enumerate(paired.videos):
        res = evaluate_video(video, options, lpips=lpips_metric, i3d=i3d_features)
        results_per_video.append(res)
        if log is not None:
            parts = [f"PSNR {mean(res.per_frame['psnr']):.4f}",
                     f"SSIM {mean(res.per_frame['ssim']):.4f}"]
            if "psnr_hole" in res.per_frame:
                parts.append(f"hole PSNR {mean(res.per_frame['psnr_hole']):.4f}")
            if "warp_error" in res.per_frame:
                parts.append(f"E_warp {mean(res.per_frame['warp_error']):.6f}")
            log(f"[{i + 1}/{len(paired.videos)}] {video.name}: {res.frames} frames, "
                + ", ".join(parts))

    skipped = {}
    for res in results_per_video:
        for metric, reason in res.skipped.items():
            skipped.setdefault(metric, f"{res.inputs.name}: {reason}")
    if lpips_metric is None:
        skipped["lpips"] = NO_LPIPS
    if not field_ssim:
        skipped["ssim_field"] = "disabled (field_ssim=False / --nofield_ssim)"
    if not warp_error:
        skipped["warp_error"] = "disabled (warp_error=False / --nowarp_error)"
    names = [m for m in METRICS
             if any(m in r.per_frame for r in results_per_video) and m not in skipped]
    if "ssim_field" in skipped:  # skipped for some video: drop the column everywhere
        for r in results_per_video:
            r.per_frame.pop("ssim_field", None)

    videos, frame_mean, video_mean = [], {}, {}
    for m in names:
        everything = [v for r in results_per_video for v in r.per_frame[m]]
        frame_mean[m] = mean(everything)
        video_mean[m] = mean([mean(r.per_frame[m]) for r in results_per_video])
    for r in results_per_video:
        entry = {"name": r.inputs.name, "ground_truth": r.inputs.ground_truth,
                 "result": r.inputs.result, "masks": r.inputs.masks, "frames": r.frames,
                 "height": r.height, "width": r.width,
                 "mean": {m: mean(r.per_frame[m]) for m in names},
                 "counted_frames": {m: _count(r.per_frame[m]) for m in names},
                 "per_frame": {m: r.per_frame[m] for m in names}}
        videos.append(entry)

    overall = {m: (video_mean[m] if m in WARP_METRICS else frame_mean[m]) for m in names}
    if i3d_features is None:
        skipped["vfid"] = NO_VFID
    elif len(results_per_video) < 2:
        skipped["vfid"] = (f"VFID needs at least 2 videos (a covariance over videos); got "
                           f"{len(results_per_video)}")
    else:
        real = np.stack([r.i3d_truth for r in results_per_video])
        fake = np.stack([r.i3d_result for r in results_per_video])
        overall["vfid"] = frechet.feature_distance(real, fake)
    overall["videos"] = len(results_per_video)
    overall["frames"] = sum(r.frames for r in results_per_video)
    return {
        "format": REPORT_FORMAT,
        "settings": _settings(paired, options, ground_truth, results, masks, lpips_weights,
                              i3d_weights, lpips_metric is not None, i3d_features is not None),
        "skipped": skipped,
        "metrics": names,
        "overall": overall,
        "frame_mean": frame_mean,
        "video_mean": video_mean,
        "videos": videos,
    }
