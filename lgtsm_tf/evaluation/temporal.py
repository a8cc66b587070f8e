"""Temporal consistency: the flow warping error between consecutive result frames.

Definition (Lai et al., "Learning Blind Video Temporal Consistency", ECCV 2018, the measure
video-inpainting papers report as E_warp): for each pair of consecutive frames (t, t+1),

    E(t) = sum_x M_t(x) * ||R_t(x) - R_{t+1}(x + F_t(x))||^2 / (3 * sum_x M_t(x))

where R are result frames (uint8 / 255, so [0, 1]), F_t is the optical flow from frame t to
frame t+1, the warp samples R_{t+1} bilinearly, and M_t is 1 on pixels that are **not occluded**.
A video's value is the mean over its pairs; the overall value is the mean over videos (Lai et
al.'s average; the report also gives the mean over all pairs).

Choices, and why:

* **Flow on the ground truth, not on the result.** The flow says where each pixel of frame t
  should be in frame t+1; computed on the result, it would follow the result's own flicker and
  artifacts and partly explain them away, and it would differ from one method to the next.
  Computed on the ground truth, every method is warped with the same, artifact-free motion (Lai
  et al. likewise compute flow and occlusion once, on the input video, and reuse them for every
  method). The price: flow is estimated on clean frames only, so evaluating a result against
  the wrong ground truth gives meaningless numbers.
* **Flow method: TV-L1** (`skimage.registration.optical_flow_tvl1`, Zach, Pock and Bischof 2007
  with Wedel et al.'s improvements), on grey frames (`skimage.color.rgb2gray`, ITU-R 709 luma
  weights, [0, 1]), with scikit-image's defaults: attachment 15, tightness 0.3, 5 warps,
  10 iterations, tolerance 1e-4, no prefilter (`TVL1_PARAMETERS`). Lai et al. use FlowNet2,
  which needs a GPU and downloaded weights; TV-L1 is classical, deterministic and available
  everywhere, but its numbers are **not** comparable to FlowNet2-based values in papers.
  It costs about 1 s per flow at 432x240 on one CPU core, two flows per frame pair.
* **Occlusion by forward-backward consistency** (Sundaram et al. 2010 / Ruder et al. 2016, the
  rule and thresholds of Lai et al.'s `detect_occlusion`): with forward flow F (t -> t+1) and
  backward flow B (t+1 -> t), B sampled at x + F(x) is B', and x is occluded where
      |F + B'|^2 > 0.01 (|F|^2 + |B'|^2) + 0.5,
  or on a motion boundary, where |grad F_x|^2 + |grad F_y|^2 > 0.01 |F|^2 + 0.002 (forward
  differences). Also excluded here (not in Lai et al.): pixels whose target x + F(x) falls
  outside frame t+1, since a clamped sample there means nothing. A pair without any valid pixel
  has no value (NaN, skipped in the means; Lai et al. count it as 0).

Besides the whole-frame value the evaluator reports `warp_error_hole` (the same sum over valid
pixels inside the hole of frame t or the warped hole of frame t+1; NaN for pairs without holes)
and `warp_error_ground_truth` (the ground truth's own warping error with the same flows and
masks: the floor a perfect result would reach, non-zero where the flow is imperfect or the
scene's brightness changes).
"""

import math
from typing import Optional, Tuple

import numpy as np
from scipy import ndimage
from skimage.color import rgb2gray
from skimage.registration import optical_flow_tvl1

#: Parameters passed to `skimage.registration.optical_flow_tvl1` (its defaults, pinned).
TVL1_PARAMETERS = {"attachment": 15.0, "tightness": 0.3, "num_warp": 5, "num_iter": 10,
                   "tol": 1e-4, "prefilter": False}
#: Forward-backward consistency: occluded if |F + B'|^2 > ALPHA (|F|^2 + |B'|^2) + BETA.
OCCLUSION_ALPHA, OCCLUSION_BETA = 0.01, 0.5
#: Motion boundary: |grad F_x|^2 + |grad F_y|^2 > ALPHA |F|^2 + BETA.
BOUNDARY_ALPHA, BOUNDARY_BETA = 0.01, 0.002

SETTINGS = {
    "definition": "mean over consecutive pairs of sum(M*(R_t - warp(R_t+1))^2)/(3*sum(M)), "
                  "frames uint8/255; per video the mean over pairs, overall the mean over videos",
    "flow": "skimage.registration.optical_flow_tvl1 on the ground truth (rgb2gray), frame t -> "
            "t+1 and t+1 -> t",
    "flow_parameters": TVL1_PARAMETERS,
    "warp": "bilinear (scipy.ndimage.map_coordinates order 1)",
    "occlusion": f"forward-backward: |F+B'|^2 > {OCCLUSION_ALPHA}(|F|^2+|B'|^2)+{OCCLUSION_BETA}; "
                 f"motion boundary: |grad F|^2 > {BOUNDARY_ALPHA}|F|^2+{BOUNDARY_BETA}; "
                 "targets outside the frame",
    "comparable_to_published": False,
}


def to_gray(frame: np.ndarray) -> np.ndarray:
    """uint8 [H, W, 3] -> float64 [H, W] luma in [0, 1] (skimage's rgb2gray)."""
    return rgb2gray(np.asarray(frame))


def optical_flow(reference: np.ndarray, moving: np.ndarray) -> np.ndarray:
    """TV-L1 flow F (float32 [H, W, 2], (dx, dy)) with reference(x) ~ moving(x + F(x)).

    reference, moving: grey float images [H, W] (see `to_gray`).
    """
    v, u = optical_flow_tvl1(reference, moving, **TVL1_PARAMETERS)  # rows, columns
    return np.stack([u, v], axis=-1).astype(np.float32)


def warp(image: np.ndarray, flow: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Backward warp: out(x) = image(x + flow(x)), bilinear. Returns (out, inside).

    image: [H, W] or [H, W, C] float; flow [H, W, 2] (dx, dy). Samples outside the frame take
    the nearest border value; `inside` (bool [H, W]) marks targets within the frame.
    """
    h, w = flow.shape[:2]
    rows, cols = np.meshgrid(np.arange(h, dtype=np.float64), np.arange(w, dtype=np.float64),
                             indexing="ij")
    rows = rows + flow[..., 1]
    cols = cols + flow[..., 0]
    inside = (rows >= 0) & (rows <= h - 1) & (cols >= 0) & (cols <= w - 1)
    coords = np.stack([rows, cols])
    image = np.asarray(image, np.float64)
    if image.ndim == 2:
        out = ndimage.map_coordinates(image, coords, order=1, mode="nearest")
    else:
        out = np.stack([ndimage.map_coordinates(image[..., c], coords, order=1, mode="nearest")
                        for c in range(image.shape[-1])], axis=-1)
    return out, inside


def _squared_norm(flow: np.ndarray) -> np.ndarray:
    return flow[..., 0] ** 2 + flow[..., 1] ** 2


def occlusion_mask(forward: np.ndarray, backward: np.ndarray) -> np.ndarray:
    """bool [H, W] in frame t: True where occluded or on a motion boundary (Lai et al.'s rule).

    forward: flow t -> t+1, backward: flow t+1 -> t, both [H, W, 2] (dx, dy).
    """
    backward_at_target, _ = warp(backward, forward)
    inconsistent = _squared_norm(forward + backward_at_target) > (
        OCCLUSION_ALPHA * (_squared_norm(forward) + _squared_norm(backward_at_target))
        + OCCLUSION_BETA)
    grad = np.zeros(forward.shape[:2], np.float64)
    for c in range(2):
        component = forward[..., c].astype(np.float64)
        d_col = np.zeros_like(component)
        d_row = np.zeros_like(component)
        d_col[:, :-1] = component[:, :-1] - component[:, 1:]
        d_row[:-1, :] = component[:-1, :] - component[1:, :]
        grad += d_col ** 2 + d_row ** 2
    boundary = grad > BOUNDARY_ALPHA * _squared_norm(forward) + BOUNDARY_BETA
    return inconsistent | boundary


class PairFlow:
    """Flow from ground-truth frame t to t+1 and the valid (non-occluded, inside) pixel mask."""

    def __init__(self, truth_t: np.ndarray, truth_next: np.ndarray):
        gray_t, gray_next = to_gray(truth_t), to_gray(truth_next)
        self.forward = optical_flow(gray_t, gray_next)
        backward = optical_flow(gray_next, gray_t)
        _, inside = warp(gray_next, self.forward)
        self.valid = inside & ~occlusion_mask(self.forward, backward)

    def error(self, frame_t: np.ndarray, frame_next: np.ndarray,
              region: Optional[np.ndarray] = None) -> float:
        """Warping error of uint8 frames t, t+1 over valid pixels (and `region`); NaN if none."""
        mask = self.valid if region is None else self.valid & region
        count = int(mask.sum())
        if count == 0:
            return math.nan
        warped, _ = warp(np.asarray(frame_next, np.float64) / 255.0, self.forward)
        diff = warped - np.asarray(frame_t, np.float64) / 255.0
        return float(np.sum(np.square(diff)[mask]) / (diff.shape[-1] * count))

    def hole_region(self, mask_t: np.ndarray, mask_next: np.ndarray) -> np.ndarray:
        """bool [H, W]: hole of frame t, or where the warp samples the hole of frame t+1."""
        warped, _ = warp(np.asarray(mask_next, np.float64), self.forward)
        return (np.asarray(mask_t) > 0) | (warped > 0)


def pair_errors(truth_t, truth_next, result_t, result_next, mask_t=None, mask_next=None) -> dict:
    """The warping errors of one pair of consecutive frames (uint8 [H, W, 3]; masks 1 = hole).

    Returns {"warp_error", "warp_error_ground_truth"} and, with masks, "warp_error_hole".
    """
    flow = PairFlow(truth_t, truth_next)
    out = {"warp_error": flow.error(result_t, result_next),
           "warp_error_ground_truth": flow.error(truth_t, truth_next)}
    if mask_t is not None:
        out["warp_error_hole"] = flow.error(result_t, result_next,
                                            flow.hole_region(mask_t, mask_next))
    return out
