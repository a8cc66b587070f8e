r"""lgtsm-evaluate: score inpainted videos against the ground truth.

  lgtsm-evaluate --ground_truth gt/ --results out/ [--masks masks/] --output_dir report/ \
      [--lpips_weights lpips.pth] [--i3d_weights rgb_imagenet.pt] [--max_psnr 100] \
      [--composite] [--nowarp_error] [--overwrite]

--ground_truth, --results  one video each (mp4/avi/... file or a folder of frames), or folders of
                           videos matched by name (bear.mp4 or bear/ <-> bear); unmatched names
                           are an error that lists them.
--masks                    optional, 1 = hole (any nonzero pixel; > 127 in mask videos): a mask
                           folder, mask video or one image (or, for folders of videos, one such
                           entry per video name). Adds the hole-only metrics.
--output_dir               gets metrics.json (settings, per video, per frame, overall),
                           metrics.csv (one row per frame) and psnr_per_frame.png. Existing files
                           are never replaced without --overwrite; the three are written under
                           temporary names and renamed only when all succeeded.

Metrics (see `lgtsm_tf.evaluation`): MSE, PSNR, SSIM (Gaussian 11x11, and `ssim_field` with the
E2FGVI/ProPainter settings) per frame over whole frames and, with masks, over holes only; overall
numbers averaged over all frames of all videos as those papers do; a flow warping error
(TV-L1 flow on the ground truth); LPIPS (AlexNet-lin v0.1) and VFID (I3D) only when their weights
are given (PyTorch needed), otherwise reported as skipped with the reason.

Comparing with published tables (E2FGVI, ProPainter; read from their evaluation code): they
score the composited output (network output in the hole, ground truth elsewhere), on frames
resized to 432x240, with PSNR = 20 log10(255 / sqrt(MSE)) on float64 [0, 255] frames (the same
value as ours) and SSIM = skimage compare_ssim(data_range=255, multichannel=True, win_size=65)
(our `ssim_field`, not `ssim`), each averaged over all frames of all videos, and VFID from I3D
rgb_imagenet.pt Mixed_5c features. So: give results and ground truth at 432x240, composited
(or pass --masks and --composite), and read psnr / ssim_field. Their warping errors use FlowNet2
flow; ours uses TV-L1 (see `lgtsm_tf.evaluation.temporal`) and is not comparable to those
numbers. LPIPS and VFID here have only been run with generated (random) weights.

Errors print one line naming the file and the problem and exit with status 1; nothing is written.
"""

import math

from absl import app, flags

from lgtsm_tf.cli import define_program_flags, run_command
from lgtsm_tf.evaluation import evaluator, report


def define_flags(flag_values=flags.FLAGS):
    """Defines the CLI's flags on `flag_values` (the global FLAGS when run as a program)."""
    fv = flag_values
    flags.DEFINE_string("ground_truth", None, "Ground-truth video (file or frame folder) or "
                        "folder of videos.", flag_values=fv)
    flags.DEFINE_string("results", None, "Result video or folder of videos (matched to the "
                        "ground truth by name).", flag_values=fv)
    flags.DEFINE_string("masks", None, "Optional masks (1 = hole): mask folder, mask video or "
                        "one image, or a folder with one per video name.", flag_values=fv)
    flags.DEFINE_string("output_dir", None, "Directory for metrics.json, metrics.csv and "
                        "psnr_per_frame.png (created if missing).", flag_values=fv)
    flags.DEFINE_string("lpips_weights", None, "LPIPS v0.1 AlexNet weights: a full LPIPS "
                        "state_dict, or the lpips alex.pth linear layers and torchvision's "
                        "alexnet-owt-7be5be79.pth separated by a comma. Needs PyTorch.",
                        flag_values=fv)
    flags.DEFINE_string("i3d_weights", None, "I3D weights (pytorch_i3d rgb_imagenet.pt) for "
                        "VFID. Needs PyTorch.", flag_values=fv)
    flags.DEFINE_float("max_psnr", None, "Cap per-frame PSNR at this value in dB (e.g. 100); "
                       "by default identical frames give inf.", flag_values=fv)
    flags.DEFINE_bool("composite", False, "Paste the ground truth's known pixels (mask 0) into "
                      "the result before scoring, as the field's evaluations do. Needs --masks.",
                      flag_values=fv)
    flags.DEFINE_bool("warp_error", True, "Compute the flow warping error (TV-L1 flow, about "
                      "2 s per frame pair at 432x240).", flag_values=fv)
    flags.DEFINE_bool("field_ssim", True, "Also compute SSIM with the E2FGVI/ProPainter "
                      "settings (ssim_field: 65x65 uniform window).", flag_values=fv)
    flags.DEFINE_bool("invert_masks", False, "Masks are drawn with 0 = hole.", flag_values=fv)
    flags.DEFINE_bool("overwrite", False, "Replace existing report files.", flag_values=fv)


def _fmt(value) -> str:
    if isinstance(value, float):
        return "nan" if math.isnan(value) else ("inf" if math.isinf(value) else f"{value:.6g}")
    return str(value)


def evaluate_from_flags(fv) -> dict:
    """Runs the CLI's work with parsed flags `fv`; raises on error. Returns the report."""
    missing = [n for n in ("ground_truth", "results", "output_dir") if not fv[n].value]
    if missing:
        raise app.UsageError(f"missing required flag(s): {', '.join('--' + m for m in missing)}")
    if fv.composite and not fv.masks:
        raise ValueError("--composite needs --masks")
    # Cheap checks first: inputs pair up, outputs are free, networks load; then the work.
    evaluator.pair_inputs(fv.ground_truth, fv.results, fv.masks)
    report.check_output_dir(fv.output_dir, [fv.ground_truth, fv.results, fv.masks],
                            fv.overwrite)
    networks = evaluator.load_networks(fv.lpips_weights, fv.i3d_weights)
    result = evaluator.evaluate(
        fv.ground_truth, fv.results, fv.masks, lpips_weights=fv.lpips_weights,
        i3d_weights=fv.i3d_weights, max_psnr=fv.max_psnr, composite=fv.composite,
        warp_error=fv.warp_error, field_ssim=fv.field_ssim, invert_masks=fv.invert_masks,
        networks=networks, log=print)
    paths = report.write_report(result, fv.output_dir, overwrite=fv.overwrite)
    overall = result["overall"]
    print("overall: " + ", ".join(f"{k} {_fmt(v)}" for k, v in overall.items()))
    for metric, reason in result["skipped"].items():
        print(f"skipped {metric}: {reason}")
    print(f"wrote {paths['json']}, {paths['csv']} and {paths['plot']}")
    return result


def main(argv, flag_values=flags.FLAGS):
    return run_command("lgtsm-evaluate", argv, evaluate_from_flags, flag_values)


def run():
    define_program_flags(define_flags, __name__)
    app.run(main)


if __name__ == "__main__":
    run()
