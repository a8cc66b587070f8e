"""lgtsm-train: train an LGTSM inpainting model.

  lgtsm-train --flagfile=trainers/configs/demo.flags --model_dir=runs/demo
  lgtsm-train --config=recipe --nf=32 --model_dir=runs/nf32
  python trainers/train.py --flagfile=trainers/configs/demo.flags ...  (a source checkout)

A thin shell over `lgtsm_tf.training.run(config, model_dir)`: the flags make an
`lgtsm_tf.configs.ExperimentConfig` (`--config` names a factory to start from; every flag given,
directly or in a --flagfile, overrides its field), which is checked before any work and written
to `model_dir/config.json` once training starts; a resumed run must repeat the architecture
(variant, nf, d_nf, stage, adversarial loss) and prints the other settings that changed. See
`lgtsm_tf.training.run` for what a run does and writes.

Invalid flags, unreadable data or checkpoints and a diverged model (its NaN/inf weights are
never exported) end with one `train.py: error: <message>` line and exit status 1 (--traceback
shows the full trace instead). A run that fails to start leaves model_dir as it was.
"""

import sys

from absl import app, flags

from lgtsm_tf.cli import define_program_flags, run_command
from lgtsm_tf.configs import ARCHITECTURE as ARCHITECTURE_FLAGS  # noqa: F401
from lgtsm_tf.configs import FACTORIES, SIZE_MULTIPLE, VGG_MIN_SIZE  # noqa: F401
from lgtsm_tf.training.runner import StartGuard, export_generator  # noqa: F401

PROG = "train.py"


def define_flags(flag_values=flags.FLAGS):
    """Defines the CLI's flags on `flag_values` (the global FLAGS when run as a program)."""
    fv = flag_values
    flags.DEFINE_enum("config", None, list(FACTORIES), "A named experiment config "
                      "(lgtsm_tf.configs) to start from; the other flags given override its "
                      "fields. Without it every flag's value (given or default) is used.",
                      flag_values=fv)
    # Data.
    flags.DEFINE_list("data", ["embedded"], "Training videos: 'embedded' (built-in clips made "
                      "from scikit-image photographs), or video files, frame folders, "
                      "YouTube-VOS/DAVIS roots, or folders of them.", flag_values=fv)
    flags.DEFINE_list("val_data", ["embedded"], "Validation videos (same forms as --data); "
                      "empty to skip validation.", flag_values=fv)
    flags.DEFINE_string("masks", "generated", "'generated' (free-form moving strokes on the "
                        "fly), 'disk' (each video's own masks) or a folder of mask folders / "
                        "mask videos paired with the videos.", flag_values=fv)
    flags.DEFINE_list("mask_presets", ["object_like_middle", "rand_curve"],
                      "Presets of generated masks (lgtsm_tf.masks.PRESETS).", flag_values=fv)
    flags.DEFINE_string("mask_scale", "auto", "'auto': the presets' pixel lengths (brush width, "
                        "speeds) scaled by sqrt(H * W / (180 * 320)), so holes cover the same "
                        "share of the frame as at 320x180, where the reference tuned them (at "
                        "64x96 unscaled presets hide 40-90 % of the frame); or a factor > 0 "
                        "(1: the reference's pixel sizes at any frame size).", flag_values=fv)
    flags.DEFINE_list("mask_area_range", ["0", "1"], "lo,hi: bounds of a generated clip's mean "
                      "hole ratio (masks outside are redrawn).", flag_values=fv)
    flags.DEFINE_bool("invert_masks", False, "Masks on disk use 0 = hole.", flag_values=fv)
    flags.DEFINE_integer("clip_length", 7, "Frames per training clip (the FVI setting uses 7).",
                         flag_values=fv)
    flags.DEFINE_bool("skip_short_videos", False, "Leave out training videos shorter than "
                      "--clip_length (logged) instead of stopping with an error.", flag_values=fv)
    flags.DEFINE_integer("height", 180, "Training frame height (a positive multiple of 4).",
                         flag_values=fv)
    flags.DEFINE_integer("width", 320, "Training frame width (a positive multiple of 4).",
                         flag_values=fv)
    flags.DEFINE_integer("max_stride", 1, "Random temporal sampling stride in [1, max_stride].",
                         flag_values=fv)
    flags.DEFINE_integer("batch_size", 5, "Global batch size (split over replicas).",
                         flag_values=fv)
    flags.DEFINE_integer("seed", 0, "Seed for data order, masks and initial weights.",
                         flag_values=fv)
    # Model.
    flags.DEFINE_enum("variant", "lgtsm", ["lgtsm", "gtsm", "2d", "3d"], "Network variant.",
                      flag_values=fv)
    flags.DEFINE_integer("nf", 64, "Generator base channels.", flag_values=fv)
    flags.DEFINE_enum("init", "scaled", ["scaled", "reference"], "Initial weights of a run "
                      "from scratch (lgtsm_tf.models.initialization): 'scaled' is "
                      "variance-preserving for the gated layers, so every layer gets gradient; "
                      "'reference' is PyTorch's default, under which the first 11 of 17 layers "
                      "get gradients below Adam's epsilon and training stalls at a flat fill. "
                      "Ignored with --init_from or when resuming.", flag_values=fv)
    flags.DEFINE_integer("d_nf", 64, "Discriminator base channels.", flag_values=fv)
    flags.DEFINE_string("init_from", None, "Start the generator (and discriminator when present) "
                        "from preset:NAME (a shipped generator: fine-tune it on your footage), a "
                        ".keras generator or a reference checkpoint (.pth/.pt/.tar/.npz); "
                        "ignored when --model_dir already has a checkpoint to resume.",
                        flag_values=fv)
    # Losses and optimisation.
    flags.DEFINE_enum("stage", "1", ["1", "2"], "1: reconstruction + perceptual + style; 2: adds "
                      "the TSMGAN adversarial loss (weight 1 unless --adversarial_weight is "
                      "given).", flag_values=fv)
    flags.DEFINE_float("l1_weight", 1.0, "Whole-frame L1 weight.", flag_values=fv)
    flags.DEFINE_float("hole_l1_weight", 0.0, "Hole-only L1 weight.", flag_values=fv)
    flags.DEFINE_float("valid_l1_weight", 0.0, "Valid-pixel L1 weight.", flag_values=fv)
    flags.DEFINE_float("perceptual_weight", 1.0, "VGG16 perceptual loss weight.", flag_values=fv)
    flags.DEFINE_float("style_weight", 10.0, "VGG16 style (Gram) loss weight.", flag_values=fv)
    flags.DEFINE_float("adversarial_weight", None, "TSMGAN weight (default: 0 in stage 1, 1 in "
                       "2).", flag_values=fv)
    flags.DEFINE_enum("adversarial_loss", "lsgan", ["lsgan", "hinge"], "GAN objective.",
                      flag_values=fv)
    flags.DEFINE_bool("style_fold_batch", True, "Reference Gram matrices: the batch is folded "
                      "into one Gram (cross-sample blocks). With several replicas each replica "
                      "folds only its own samples; --nostyle_fold_batch (per-sample Grams) makes "
                      "multi-replica training equal to one device.", flag_values=fv)
    flags.DEFINE_string("vgg_weights", None, "VGG16 ImageNet weights (.h5, include_top=False); "
                        "default: keras.applications' cache.", flag_values=fv)
    flags.DEFINE_float("lr", 1e-4, "Generator learning rate (Adam, amsgrad). A resumed run "
                       "trains at the rates the flags give, not at the checkpoint's.",
                       flag_values=fv)
    flags.DEFINE_float("d_lr", 1e-4, "Discriminator learning rate.", flag_values=fv)
    flags.DEFINE_integer("lr_decay_steps", 0, "Multiply the generator LR by --lr_decay_rate "
                         "every this many steps (0: constant).", flag_values=fv)
    flags.DEFINE_float("lr_decay_rate", 0.97, "Staircase LR decay factor, in (0, 1].",
                       flag_values=fv)
    flags.DEFINE_enum("precision", "float32", ["float32", "mixed_float16", "mixed_bfloat16"],
                      "Keras dtype policy.", flag_values=fv)
    flags.DEFINE_enum("strategy", "default", ["default", "mirrored", "multi_worker"],
                      "tf.distribute strategy (multi_worker reads TF_CONFIG).", flag_values=fv)
    flags.DEFINE_integer("num_cpu_devices", 0, "Split the CPU into this many logical devices.",
                         flag_values=fv)
    # Schedule and outputs.
    flags.DEFINE_string("model_dir", None, "Required. Checkpoints, logs, samples and the "
                        "exported generator; training resumes from here.", flag_values=fv)
    flags.DEFINE_integer("train_steps", 1000, "Total training steps (across restarts).",
                         flag_values=fv)
    flags.DEFINE_integer("eval_every", 100, "Steps between validations (one Keras 'epoch').",
                         flag_values=fv)
    flags.DEFINE_integer("eval_steps", 8, "Validation batches per evaluation.", flag_values=fv)
    flags.DEFINE_integer("checkpoint_every", 100, "Steps between checkpoints.", flag_values=fv)
    flags.DEFINE_integer("verbose", 1, "Keras fit verbosity (0: silent, 1: progress bar, 2: one "
                         "line per epoch).", flag_values=fv)
    flags.DEFINE_bool("traceback", False, "On an error, show the full Python traceback instead "
                      "of one `train.py: error:` line.", flag_values=fv)


# ----------------------------------------------------------------------------- flags -> config

def config_from_flags(fv):
    """The `lgtsm_tf.configs.ExperimentConfig` of parsed flags (`configs.from_flags`: the
    --config factory, then the flags given); UsageError for a value that does not parse."""
    from lgtsm_tf import configs

    try:
        return configs.from_flags(fv)
    except ValueError as e:
        raise app.UsageError(str(e)) from None


def validate_flags(fv):
    """Raises app.UsageError naming the flag, its value and the rule for the first invalid flag.

    Only reads the flags and checks that the given paths exist: runs before any work.
    """
    from lgtsm_tf import configs

    try:
        configs.check_model_dir(fv.model_dir)
        config_from_flags(fv).validate()
    except ValueError as e:
        raise app.UsageError(str(e)) from None


def check_resume_settings(model_dir, fv):
    """Refuses to resume a run in model_dir with another architecture; writes nothing."""
    from lgtsm_tf.training.runner import check_resume

    try:
        check_resume(model_dir, config_from_flags(fv))
    except ValueError as e:
        raise app.UsageError(str(e)) from None


def write_settings(model_dir, fv):
    """Writes model_dir/config.json and settings.json (`lgtsm_tf.configs.write`)."""
    from lgtsm_tf import configs

    configs.write(model_dir, config_from_flags(fv))


def train(fv):
    """The whole run: flags -> config -> `lgtsm_tf.training.run`, which checks the config,
    model_dir and a resumed run's architecture before any work (ValueError)."""
    from lgtsm_tf.training.runner import run as run_training

    return run_training(config_from_flags(fv), fv.model_dir)


def parse_flags(argv, flag_values=flags.FLAGS):
    """absl's flag parsing, then `validate_flags` (before TensorFlow is imported); an invalid
    flag ends the program with one `train.py: error: <message>` line and exit status 1."""
    fv = flag_values
    try:
        rest = fv(argv)
        validate_flags(fv)
    except (flags.Error, app.UsageError) as e:
        if fv.is_parsed() and fv.traceback:
            raise
        print(f"{PROG}: error: {e}", file=sys.stderr)
        sys.exit(1)
    return rest


def main(argv, flag_values=flags.FLAGS):
    """User errors (invalid flags, unreadable data or checkpoints, a diverged model) print one
    `train.py: error: <message>` line and exit with status 1; --traceback re-raises them."""
    return run_command(PROG, argv, train, flag_values, errors=(app.UsageError,),
                       traceback=flag_values.traceback)


def run():
    define_program_flags(define_flags, __name__)
    app.run(main, flags_parser=parse_flags)


if __name__ == "__main__":
    run()
