r"""lgtsm-inpaint: inpaint a whole video (any length, any size) with a trained generator.

  lgtsm-inpaint --video clip.mp4 --masks masks/ --output out.mp4 [--model lgtsm.keras] \
      [--window 16 --overlap 6 --dilate 4 --batch_windows 1 --working_height 240 \
       --resize_masks --lossless --compare --overwrite --precision auto|fp32|bf16 --nopropagate]

--video   a video file, a folder of frames or one image.
--masks   a folder of mask images, a mask video, or ONE mask image used for every frame; any
          nonzero pixel is a hole (> 127 for mask videos, which lossy codecs blur); --invert_masks
          for masks drawn with 0 = hole.
--output  a video (.mp4/.m4v/.mov/.mkv: H.264 at the source frame rate; --lossless for
          bit-exact RGB) or a folder of PNGs (a path without extension).
--compare also writes <output stem>_compare.mp4: the input with the hole in translucent red |
          the output, side by side.
--model   preset:NAME (a generator shipped with the package, `lgtsm_tf.presets`; the default
          is preset:lgtsm_nf16), a .keras file, a SavedModel directory, a training directory
          (generator.keras [+ TF checkpoints]) or an authors' checkpoint
          (.pth/.pt/.tar/.ckpt/.npz, --variant).
--precision auto (the default): bf16 on a CPU with native bf16 (AMX or AVX512-BF16), fp32
          elsewhere; the choice is printed.
--propagate (the default) copies each hole pixel from the nearest frame of its window where
          its scene point is known (following the camera's translation), if the two frames agree
          around it; the model fills what no frame shows. --nopropagate lets the model fill
          every hole pixel.

Checked before the model is loaded: the paths, that the output folder is writable, --frame_rate,
and that the mask count equals the number of frames that decode (the video is decoded once to
count them; container headers are often wrong, e.g. OpenCV's tree.avi declares 444 frames and
holds 68). Existing output is never replaced without --overwrite, and on any error nothing is
left at --output (or the compare path): frames are written under hidden temporary names and
moved into place only when everything succeeded; temporaries left by a killed earlier run for
the same output are deleted. Errors print one line naming the file and the problem and exit
with status 1. Ctrl-C (SIGINT) and SIGTERM (timeout, docker stop, job schedulers) clean up the
same way, print `lgtsm-inpaint: interrupted (SIGINT|SIGTERM); no output written` and exit with
130 / 143. Warnings print as `lgtsm-inpaint: warning: ...`, e.g. when no mask has a hole pixel
(the output then equals the input). The windowing, blending and mask rules are in
`lgtsm_tf.inference`.
"""

import contextlib
import math
import os
import signal
import sys
import threading
import warnings

from absl import app, flags

from lgtsm_tf import inference, presets
from lgtsm_tf.cli import define_program_flags, run_command


def define_flags(flag_values=flags.FLAGS):
    """Defines the CLI's flags on `flag_values` (the global FLAGS when run as a program)."""
    fv = flag_values
    flags.DEFINE_string("video", None, "Input video file, frame folder or image.", flag_values=fv)
    flags.DEFINE_string("masks", None, "Mask folder, mask video, or one mask image for all "
                        "frames (nonzero = hole).", flag_values=fv)
    flags.DEFINE_string("output", None, "Output video (.mp4/.m4v/.mov/.mkv) or PNG folder.",
                        flag_values=fv)
    flags.DEFINE_string("model", presets.PREFIX + presets.DEFAULT, "preset:NAME (presets: "
                        f"{', '.join(presets.names())}), .keras file, SavedModel dir, training "
                        "dir, or reference checkpoint (.pth/.pt/.tar/.ckpt/.npz).",
                        flag_values=fv)
    flags.DEFINE_enum("variant", "lgtsm", ["lgtsm", "gtsm", "2d", "3d"],
                      "Network variant of a reference checkpoint (--model .pth/.npz).",
                      flag_values=fv)
    flags.DEFINE_integer("window", None, "Frames per temporal window (default: a preset's own, "
                         f"its training clip length; else {inference.DEFAULT_WINDOW}).",
                         lower_bound=1, flag_values=fv)
    flags.DEFINE_integer("overlap", None, "Frames shared by consecutive windows (cross-faded), "
                         f"< window (default: a preset's own; else {inference.DEFAULT_OVERLAP}).",
                         lower_bound=0, flag_values=fv)
    flags.DEFINE_integer("dilate", 0, "Grow the holes by this many pixels.", lower_bound=0,
                         flag_values=fv)
    flags.DEFINE_integer("batch_windows", 1, "Windows per model call.", lower_bound=1,
                         flag_values=fv)
    flags.DEFINE_integer("working_height", None, "Run the model at this height (the width "
                         "follows the aspect ratio unless --working_width is set).",
                         lower_bound=inference.SIZE_MULTIPLE, flag_values=fv)
    flags.DEFINE_integer("working_width", None, "Run the model at this width.",
                         lower_bound=inference.SIZE_MULTIPLE, flag_values=fv)
    flags.DEFINE_bool("resize_masks", False, "Resize masks whose size differs from the frames "
                      "(nearest neighbour) instead of failing.", flag_values=fv)
    flags.DEFINE_bool("invert_masks", False, "Masks are drawn with 0 = hole.", flag_values=fv)
    flags.DEFINE_bool("lossless", False, "Lossless RGB H.264 output video (bit-exact frames).",
                      flag_values=fv)
    flags.DEFINE_bool("compare", False, "Also write <output stem>_compare.mp4 (input with the "
                      "hole in red | output).", flag_values=fv)
    flags.DEFINE_bool("overwrite", False, "Replace existing output.", flag_values=fv)
    flags.DEFINE_enum("precision", "auto", ["auto"] + sorted(inference.PRECISIONS),
                      "Model precision (bf16: Keras mixed_bfloat16 policy; auto: bf16 where the "
                      "CPU has native bf16, else fp32).", flag_values=fv)
    flags.DEFINE_float("frame_rate", None, "Frame rate for inputs without one (frame folders, "
                       f"images); default {inference.FALLBACK_FRAME_RATE}.", flag_values=fv)
    flags.DEFINE_bool("propagate", True, "Before the model, copy each hole pixel from the "
                      "nearest frame of its window where it is known (following the camera's "
                      "translation) and the frames agree around it; the model fills the rest (--nopropagate: the model fills "
                      "every hole pixel).", flag_values=fv)
    flags.DEFINE_bool("progress", True, "Show a progress bar.", flag_values=fv)


def inpaint_from_flags(fv) -> dict:
    """Runs the CLI's work with parsed flags `fv`; raises on error. Returns the summary."""
    missing = [name for name in ("video", "masks", "output", "model") if not fv[name].value]
    if missing:
        raise app.UsageError(f"missing required flag(s): {', '.join('--' + m for m in missing)}")
    try:
        model = inference.model_path(fv.model)
        window, overlap = inference.windowing(fv.model, fv.window, fv.overlap)
    except ValueError as e:
        raise ValueError(f"--model={fv.model}: {e}") from None
    if overlap >= window:
        raise ValueError(f"--overlap ({overlap}) must be smaller than --window ({window})")
    if fv.frame_rate is not None and not (math.isfinite(fv.frame_rate) and fv.frame_rate > 0):
        raise ValueError(f"--frame_rate={fv.frame_rate}: must be a positive, finite number of "
                         "frames per second (e.g. 25 or 29.97)")
    output = fv.output
    # Cheap checks first, so a wrong path fails before the model is loaded.
    for what, path in (("--video", fv.video), ("--masks", fv.masks), ("--model", model)):
        if not os.path.exists(path):
            raise FileNotFoundError(f"{path}: no such file or directory ({what})")
    outputs = [output] + ([inference.compare_path(output)] if fv.compare else [])
    inference.check_outputs(outputs, [fv.video, fv.masks], fv.overwrite)
    inference.check_inputs(fv.video, fv.masks, frame_rate=fv.frame_rate,
                           invert_masks=fv.invert_masks)
    working = None
    if fv.working_height or fv.working_width:
        working = (fv.working_height, fv.working_width)
    inpainter = inference.VideoInpainter.from_path(
        fv.model, variant=fv.variant, window=window, overlap=overlap, dilate=fv.dilate,
        batch_windows=fv.batch_windows, working_size=working, precision=fv.precision,
        resize_masks=fv.resize_masks, progress=fv.progress, propagate=fv.propagate)
    print(f"model {fv.model}, windows of {window} frames (overlap {overlap}), precision "
          f"{inpainter.precision} ({inpainter.precision_reason}), temporal propagation "
          f"{'on' if inpainter.propagation is not None else 'off'}")
    summary = inpainter.inpaint_files(
        fv.video, fv.masks, output, overwrite=fv.overwrite, lossless=fv.lossless,
        compare=fv.compare, frame_rate=fv.frame_rate, invert_masks=fv.invert_masks)
    print(f"wrote {summary['frames']} frames to {summary['output']}"
          + (f" and {summary['compare']}" if summary["compare"] else ""))
    return summary


class Terminated(KeyboardInterrupt):
    """Raised in the main thread on SIGTERM, so it unwinds (and cleans up) like Ctrl-C."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


@contextlib.contextmanager
def sigterm_as_interrupt():
    """Within the block SIGTERM raises `Terminated` (a KeyboardInterrupt) in the main thread.

    The first SIGTERM puts the previous handler back, so a second one acts as before (by
    default: the process ends at once). Outside the main thread this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGTERM)
    previous = signal.SIG_DFL if previous is None else previous

    def handler(signum, frame):
        del frame
        signal.signal(signal.SIGTERM, previous)
        raise Terminated(signum)

    signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def warnings_as_lines(prog: str):
    """Within the block a UserWarning prints as one line `<prog>: warning: <message>`."""
    with warnings.catch_warnings():
        show = warnings.showwarning

        def one_line(message, category, filename, lineno, file=None, line=None):
            if not issubclass(category, UserWarning):
                return show(message, category, filename, lineno, file, line)
            print(f"{prog}: warning: {message}", file=file or sys.stderr)

        warnings.showwarning = one_line
        yield


def main(argv, flag_values=flags.FLAGS):
    prog = "lgtsm-inpaint"
    try:
        with sigterm_as_interrupt(), warnings_as_lines(prog):
            return run_command(prog, argv, inpaint_from_flags, flag_values)
    except KeyboardInterrupt as e:  # Ctrl-C or SIGTERM: the writers have cleaned up
        signum = getattr(e, "signum", signal.SIGINT)
        if sys.stdout.isatty():  # end a progress bar's line first
            print(flush=True)
        print(f"{prog}: interrupted ({signal.Signals(signum).name}); no output written",
              file=sys.stderr)
        return 128 + signum


def run():
    define_program_flags(define_flags, __name__)
    app.run(main)


if __name__ == "__main__":
    run()
