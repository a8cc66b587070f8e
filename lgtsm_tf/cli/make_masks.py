r"""lgtsm-make-masks: writes a set of free-form moving video masks to disk.

Layout: ``OUTPUT_DIR/<video_id>/00000.png, 00001.png, ...`` (8-bit grayscale PNG, 255 = hole,
0 = known), with ``<video_id>`` = ``00000``, ``00001``, ... With ``--cluster_by_area`` each video
goes to ``OUTPUT_DIR/<bin>/<video_id>/`` where ``<bin>`` is its mean hole ratio in percent,
``00-10``, ``10-20``, ..., ``90-100`` (`lgtsm_tf.mask_sets.write_mask_set` does the work).

Existing non-empty video folders are never written into unless ``--overwrite`` is given; with
``--overwrite`` only the old frame files (``NNNNN.png``) of the regenerated videos are removed.

Example:
  lgtsm-make-masks --output_dir masks/object_like_middle --num_videos 100 \
      --num_frames 32 --height 180 --width 320 --preset object_like_middle --seed 0
"""

from absl import app, flags

from lgtsm_tf import masks as masks_lib
from lgtsm_tf.cli import define_program_flags, run_command
from lgtsm_tf.mask_sets import BOX_PRESET, write_mask_set

PROG = "lgtsm-make-masks"


def define_flags(flag_values=flags.FLAGS):
    """Defines the CLI's flags on `flag_values` (the global FLAGS when run as a program)."""
    fv = flag_values
    flags.DEFINE_string("output_dir", None, "Directory to write the mask videos to.",
                        flag_values=fv)
    flags.DEFINE_integer("num_videos", 100, "Number of mask videos.", lower_bound=1,
                         flag_values=fv)
    flags.DEFINE_integer("num_frames", 32, "Frames per mask video.", lower_bound=1,
                         flag_values=fv)
    flags.DEFINE_integer("height", 180, "Mask height in pixels.", lower_bound=1, flag_values=fv)
    flags.DEFINE_integer("width", 320, "Mask width in pixels.", lower_bound=1, flag_values=fv)
    flags.DEFINE_string(
        "preset", "object_like_middle",
        f"Stroke preset ({', '.join(sorted(masks_lib.PRESETS))}), a comma-separated list of them "
        f"(one is picked at random per video), or '{BOX_PRESET}' for static square masks.",
        flag_values=fv)
    flags.DEFINE_integer("seed", 0, "Random seed; the set is deterministic for a given seed.",
                         flag_values=fv)
    flags.DEFINE_float("area_min", None, "Minimum mean hole ratio in [0, 1] (rejection "
                       "sampling).", flag_values=fv)
    flags.DEFINE_float("area_max", None, "Maximum mean hole ratio in [0, 1] (rejection "
                       "sampling).", flag_values=fv)
    flags.DEFINE_integer("min_strokes", 1, "Minimum number of strokes per video.", lower_bound=1,
                         flag_values=fv)
    flags.DEFINE_integer("max_strokes", 20, "Maximum number of strokes per video.",
                         lower_bound=1, flag_values=fv)
    flags.DEFINE_integer("max_tries", 200, "Rejection-sampling tries per video.", lower_bound=1,
                         flag_values=fv)
    flags.DEFINE_bool("cluster_by_area", False, "Put each video in a sub-folder by mean hole "
                      "ratio (00-10, 10-20, ...).", flag_values=fv)
    flags.DEFINE_bool("overwrite", False, "Allow replacing the frames of existing video folders.",
                      flag_values=fv)


def make_masks_from_flags(fv) -> dict:
    """Writes the mask set of parsed flags `fv`; app.UsageError for invalid flags, ValueError /
    FileExistsError for a refused output. Returns `write_mask_set`'s summary."""
    if not fv.output_dir:
        raise app.UsageError("--output_dir is required")
    if fv.min_strokes > fv.max_strokes:
        raise app.UsageError("--min_strokes must be <= --max_strokes")
    area_range = None
    if fv.area_min is not None or fv.area_max is not None:
        area_range = (0.0 if fv.area_min is None else fv.area_min,
                      1.0 if fv.area_max is None else fv.area_max)
    summary = write_mask_set(
        fv.output_dir, fv.num_videos, fv.num_frames, fv.height, fv.width,
        presets=fv.preset, seed=fv.seed, area_range=area_range,
        num_strokes=(fv.min_strokes, fv.max_strokes), max_tries=fv.max_tries,
        cluster_by_area=fv.cluster_by_area, overwrite=fv.overwrite)
    print(f"Wrote {summary['num_videos']} mask videos ({fv.num_frames} frames, "
          f"{fv.height}x{fv.width}) to {fv.output_dir}; mean hole ratio "
          f"{summary['mean_hole_ratio']:.3f}")
    return summary


def main(argv, flag_values=flags.FLAGS):
    """Writes the mask set; invalid flags and refused outputs print one
    `lgtsm-make-masks: error: <message>` line and return exit status 1 (`run_command`)."""
    return run_command(PROG, argv, make_masks_from_flags, flag_values,
                       errors=(app.UsageError,))


def run():
    define_program_flags(define_flags, __name__)
    app.run(main)


if __name__ == "__main__":
    run()
