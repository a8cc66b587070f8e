"""Evaluating inpainted videos against ground truth (the pieces behind `lgtsm-evaluate`).

* `inputs`: one video or folders of videos matched by name; streaming frame triples with checks.
* `video`: per-frame MSE / PSNR / SSIM (whole frame, hole only), the field's SSIM settings,
  built on `lgtsm_tf.metrics`.
* `temporal`: flow warping error (TV-L1 flow on the ground truth, forward-backward occlusion).
* `lpips`, `i3d` (PyTorch, optional, imported only when their weights are given) and `frechet`.
* `evaluator`: `evaluate(...)` -> report dict; `report`: JSON / CSV / PNG writers; `plot`.

This package does not import PyTorch; `lpips` and `i3d` do.
"""

from lgtsm_tf.evaluation.evaluator import evaluate, load_networks
from lgtsm_tf.evaluation.inputs import VideoInputs, pair_inputs
from lgtsm_tf.evaluation.report import check_output_dir, write_report

__all__ = ["evaluate", "load_networks", "pair_inputs", "VideoInputs", "check_output_dir",
           "write_report"]
