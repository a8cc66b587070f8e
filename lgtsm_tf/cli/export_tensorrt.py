r"""Build a TensorRT engine from the exported ONNX model, or run one on a clip.

Build (TensorRT's Python builder, one optimization profile for both inputs):

  python export/export_tensorrt.py --onnx lgtsm.onnx --output lgtsm.engine \
      --min 1x1x64x64 --opt 1x8x240x432 --max 1x16x480x864 [--fp16] [--workspace_gib 4]

Shapes are BxTxHxW of frames [B,T,H,W,3] and masks [B,T,H,W,1]; H and W need not be multiples
of 4. After building, the engine is run on a random clip at the --opt shape and compared with
onnxruntime (--check, needs onnxruntime and cuda-python); the max abs difference is printed
and must be <= --tolerance (default 1e-3, 2e-2 with --fp16). The engine file is written
atomically and never replaces an existing one without --overwrite.

Run (the small runner, `lgtsm_tf.export.tensorrt_engine.TensorRTRunner`):

  python export/export_tensorrt.py --engine lgtsm.engine --video clip.mp4 --masks masks/ \
      --output out_frames/ [--max_frames 16]

reads at most --max_frames frames (default: the engine's maximum T) and their masks, runs
the engine once and writes the frames as PNGs (a folder) or an .mp4.

Where `tensorrt` cannot be imported (e.g. the CPU-only machines this project is developed
on) the script prints why and exits with status 3 without doing anything; other errors exit
with status 1.
"""

import os
import sys

from absl import app, flags

from lgtsm_tf.cli import define_program_flags, run_command

PROG = "lgtsm-export-tensorrt"
EXIT_NO_TENSORRT = 3


def define_flags(flag_values=flags.FLAGS):
    fv = flag_values
    flags.DEFINE_string("onnx", None, "ONNX file from export_onnx.py (build mode).",
                        flag_values=fv)
    flags.DEFINE_string("output", None, "Engine file to write (build mode), or the output "
                        "video/PNG folder (run mode).", flag_values=fv)
    flags.DEFINE_string("min", None, "Smallest BxTxHxW of the optimization profile.",
                        flag_values=fv)
    flags.DEFINE_string("opt", None, "BxTxHxW TensorRT optimizes for.", flag_values=fv)
    flags.DEFINE_string("max", None, "Largest BxTxHxW of the optimization profile.",
                        flag_values=fv)
    flags.DEFINE_bool("fp16", False, "Allow FP16 kernels (I/O stays float32).", flag_values=fv)
    flags.DEFINE_float("workspace_gib", 4.0, "Builder workspace limit in GiB.",
                       lower_bound=0.0, flag_values=fv)
    flags.DEFINE_bool("check", True, "After building, compare the engine with onnxruntime on a "
                      "random clip at the --opt shape.", flag_values=fv)
    flags.DEFINE_float("tolerance", None, "Allowed max abs difference of --check (default "
                       "1e-3, or 2e-2 with --fp16).", lower_bound=0.0, flag_values=fv)
    flags.DEFINE_bool("overwrite", False, "Replace an existing --output.", flag_values=fv)
    flags.DEFINE_string("engine", None, "Run mode: the engine to run.", flag_values=fv)
    flags.DEFINE_string("video", None, "Run mode: video file, frame folder or image.",
                        flag_values=fv)
    flags.DEFINE_string("masks", None, "Run mode: mask folder, mask video or one mask image "
                        "(nonzero = hole).", flag_values=fv)
    flags.DEFINE_integer("max_frames", None, "Run mode: frames to read (default: the engine's "
                         "largest T).", lower_bound=1, flag_values=fv)


class TensorRTUnavailable(Exception):
    pass


def _require(fv, names):
    missing = [n for n in names if not fv[n].value]
    if missing:
        raise app.UsageError(f"missing required flag(s): {', '.join('--' + m for m in missing)}")


def build_from_flags(fv) -> dict:
    from lgtsm_tf.export import files, tensorrt_engine as te

    _require(fv, ("onnx", "output", "min", "opt", "max"))
    te.check_profile(fv.min, fv.opt, fv.max)  # argument errors first
    reason = te.tensorrt_unavailable_reason()
    if reason:
        raise TensorRTUnavailable(reason)
    if not os.path.isfile(fv.onnx):
        raise FileNotFoundError(f"{fv.onnx}: no such file (--onnx)")
    files.check_output(fv.output, fv.overwrite)
    result = te.write_engine(fv.onnx, fv.output, overwrite=fv.overwrite, min_shape=fv.min,
                             opt_shape=fv.opt, max_shape=fv.max, fp16=fv.fp16,
                             workspace_gib=fv.workspace_gib)
    print(f"wrote {result['path']} ({result['bytes'] / 1e6:.1f} MB; profile min {fv.min}, "
          f"opt {fv.opt}, max {fv.max}{', fp16' if fv.fp16 else ''})")
    if fv.check:
        tolerance = fv.tolerance if fv.tolerance is not None else (2e-2 if fv.fp16 else 1e-3)
        try:
            with te.TensorRTRunner(result["path"]) as runner:
                diff = te.compare_with_onnx(runner, fv.onnx, fv.opt)
        except Exception as e:
            os.remove(result["path"])
            raise te.TensorRTError(f"checking the engine failed, removed {result['path']}: "
                                   f"{e} (--nocheck skips the check)") from e
        print(f"engine vs onnxruntime at {fv.opt}: max abs diff {diff:.3g} "
              f"(tolerance {tolerance:g})")
        if not diff <= tolerance:
            os.remove(result["path"])
            raise ValueError(f"the engine differs from onnxruntime by {diff:.3g} > {tolerance:g}; "
                             f"removed {result['path']}")
        result["check_max_abs_diff"] = diff
    return result


def run_from_flags(fv) -> dict:
    from lgtsm_tf import video_io
    from lgtsm_tf.export import files, tensorrt_engine as te

    _require(fv, ("engine", "video", "masks", "output"))
    reason = te.tensorrt_unavailable_reason()
    if reason:
        raise TensorRTUnavailable(reason)
    files.check_output(fv.output, fv.overwrite)
    with te.TensorRTRunner(fv.engine) as runner:
        max_t = runner.profile["frames"][2][1]
        frames, rate = video_io.read_video(fv.video, max_frames=fv.max_frames or max_t)
        masks = video_io.read_masks(fv.masks, num_frames=len(frames))
        out = runner.inpaint_clip(frames, masks)
    if os.path.splitext(fv.output)[1].lower() in (".mp4", ".m4v", ".mov", ".mkv"):
        video_io.write_video(fv.output, out, rate or 25, overwrite=fv.overwrite)
    else:
        video_io.write_frame_folder(fv.output, out, overwrite=fv.overwrite)
    print(f"wrote {len(out)} frames to {fv.output}")
    return {"frames": len(out), "output": fv.output}


def _build_or_run(fv) -> dict:
    """Run mode with --engine, else build mode."""
    return run_from_flags(fv) if fv.engine else build_from_flags(fv)


def main(argv, flag_values=flags.FLAGS):
    from lgtsm_tf.export.tensorrt_engine import TensorRTError

    try:
        return run_command(PROG, argv, _build_or_run, flag_values, errors=(TensorRTError,))
    except TensorRTUnavailable as e:
        print(f"{PROG}: {e}", file=sys.stderr)
        return EXIT_NO_TENSORRT


def run():
    define_program_flags(define_flags, __name__)
    app.run(main)


if __name__ == "__main__":
    run()
