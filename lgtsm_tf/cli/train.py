"""lgtsm-train: train an LGTSM inpainting model.

  lgtsm-train --flagfile=trainers/configs/demo.flags --model_dir=runs/demo
  python trainers/train.py --flagfile=trainers/configs/demo.flags ...  (a source checkout)

flags -> precision and strategy -> datasets -> models (generator, TSMGAN, VGG) -> optimizers ->
checkpoint (resumed automatically from --model_dir) -> Keras fit with progress bar, periodic and
signal-triggered checkpoints, TensorBoard scalars and image summaries -> export of the generator
(`model_dir/generator.keras`) and the metric history (`model_dir/history.csv`).

Every flag is checked before any work. Invalid flags, unreadable data or checkpoints and a
diverged model (its NaN/inf weights are never exported) end with one `train.py: error: <message>`
line and exit status 1 (--traceback shows the full trace instead). `model_dir/settings.json`
(the architecture flags a resume must repeat) is written only once the models are built and the
checkpoint is restored, so a run that fails to start leaves model_dir as it was.
"""

import json
import math
import os
import sys

from absl import app, flags

from lgtsm_tf.cli import define_program_flags, run_command

PROG = "train.py"
# --height and --width must be multiples of this (lgtsm_tf.inference.SIZE_MULTIPLE; not imported
# from there so that the flags are checked before TensorFlow loads).
SIZE_MULTIPLE = 4
# VGG16 pools the frame three times before block4_conv3 (the perceptual and style losses).
VGG_MIN_SIZE = 8
LOSS_WEIGHT_FLAGS = ("l1_weight", "hole_l1_weight", "valid_l1_weight", "perceptual_weight",
                     "style_weight", "adversarial_weight")


def define_flags(flag_values=flags.FLAGS):
    """Defines the CLI's flags on `flag_values` (the global FLAGS when run as a program)."""
    fv = flag_values
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


# ----------------------------------------------------------------------------- flag checks

def _number(fv, name):
    value = fv[name].value
    return f"--{name}={value:g}" if isinstance(value, float) else f"--{name}={value}"


def _check_int(fv, name, minimum):
    if fv[name].value < minimum:
        raise app.UsageError(f"{_number(fv, name)}: must be an integer >= {minimum}")


def _check_float(fv, name, minimum, strict):
    value = fv[name].value
    if not math.isfinite(value) or value < minimum or (strict and value == minimum):
        raise app.UsageError(f"{_number(fv, name)}: must be a finite number "
                             f"{'>' if strict else '>='} {minimum:g}")


def _check_paths(fv, name, allowed=()):
    entries = fv[name].value
    for entry in entries:
        if entry not in allowed and not os.path.exists(entry):
            which = f" {entry!r}:" if len(entries) > 1 else ""
            raise app.UsageError(f"--{name}={','.join(entries)}:{which} no such file or "
                                 "directory")


def validate_flags(fv):
    """Raises app.UsageError naming the flag, its value and the rule for the first invalid flag.

    Only reads the flags and checks that the given paths exist: runs before any work.
    """
    if not fv.model_dir:
        raise app.UsageError("--model_dir is required (checkpoints, logs and the exported "
                             "generator go there)")
    if os.path.exists(fv.model_dir) and not os.path.isdir(fv.model_dir):
        raise app.UsageError(f"--model_dir={fv.model_dir}: exists and is not a directory")
    if not fv.data:
        raise app.UsageError("--data is empty: give 'embedded' and/or video files, frame "
                             "folders or dataset roots")
    _check_paths(fv, "data", allowed=("embedded",))
    _check_paths(fv, "val_data", allowed=("embedded",))
    if fv.masks not in ("generated", "disk") and not os.path.exists(fv.masks):
        raise app.UsageError(f"--masks={fv.masks}: must be 'generated', 'disk' or an existing "
                             "folder of mask folders / mask videos")
    if fv.masks == "generated" and not fv.mask_presets:
        raise app.UsageError("--mask_presets is empty: give one or more lgtsm_tf.masks.PRESETS "
                             "names")
    if fv.masks == "generated":
        mask_scale(fv)
        mask_area_range(fv)
    for name, minimum in (("clip_length", 1), ("max_stride", 1), ("batch_size", 1), ("seed", 0),
                          ("nf", 1), ("d_nf", 1), ("lr_decay_steps", 0), ("num_cpu_devices", 0),
                          ("train_steps", 1), ("eval_every", 1), ("eval_steps", 1),
                          ("checkpoint_every", 1), ("verbose", 0)):
        _check_int(fv, name, minimum)
    if fv.verbose > 2:
        raise app.UsageError(f"--verbose={fv.verbose}: must be 0, 1 or 2")
    for name in ("height", "width"):
        if fv[name].value < SIZE_MULTIPLE or fv[name].value % SIZE_MULTIPLE:
            raise app.UsageError(f"--{name}={fv[name].value}: must be a positive multiple of "
                                 f"{SIZE_MULTIPLE}")
    for name in LOSS_WEIGHT_FLAGS:
        if fv[name].value is not None:
            _check_float(fv, name, 0.0, strict=False)
    if not any(fv[name].value for name in LOSS_WEIGHT_FLAGS[:-1]) and not adversarial_weight(fv):
        raise app.UsageError("every loss weight is 0 (--" + ", --".join(LOSS_WEIGHT_FLAGS)
                             + "): at least one must be > 0")
    needs_vgg = fv.perceptual_weight > 0 or fv.style_weight > 0
    if needs_vgg and min(fv.height, fv.width) < VGG_MIN_SIZE:
        name = "height" if fv.height < VGG_MIN_SIZE else "width"
        raise app.UsageError(f"--{name}={fv[name].value}: must be >= {VGG_MIN_SIZE} when "
                             "--perceptual_weight or --style_weight is > 0 (VGG16 pools the "
                             "frames three times)")
    if needs_vgg and fv.vgg_weights and not os.path.isfile(fv.vgg_weights):
        raise app.UsageError(f"--vgg_weights={fv.vgg_weights}: no such file")
    for name in ("lr", "d_lr"):
        _check_float(fv, name, 0.0, strict=True)
    _check_float(fv, "lr_decay_rate", 0.0, strict=True)
    if fv.lr_decay_rate > 1:
        raise app.UsageError(f"{_number(fv, 'lr_decay_rate')}: must be a finite number in "
                             "(0, 1]")
    if fv.init_from and fv.init_from.startswith("preset:"):
        from lgtsm_tf.inference import model_path  # imports TensorFlow: only for presets

        try:
            model_path(fv.init_from)
        except ValueError as e:
            raise app.UsageError(f"--init_from={fv.init_from}: {e}") from None
    elif fv.init_from and not os.path.exists(fv.init_from):
        raise app.UsageError(f"--init_from={fv.init_from}: no such file or directory")


def mask_scale(fv):
    """--mask_scale as 'auto' or a float (UsageError naming the flag otherwise)."""
    if fv.mask_scale == "auto":
        return "auto"
    try:
        value = float(fv.mask_scale)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise app.UsageError(f"--mask_scale={fv.mask_scale}: must be 'auto' or a finite "
                             "number > 0")
    return value


def mask_area_range(fv):
    """--mask_area_range as (lo, hi) with 0 <= lo < hi <= 1."""
    text = ",".join(fv.mask_area_range)
    try:
        lo, hi = (float(v) for v in fv.mask_area_range)
    except ValueError:
        lo = hi = math.nan
    if not (0 <= lo < hi <= 1):
        raise app.UsageError(f"--mask_area_range={text}: must be lo,hi with 0 <= lo < hi <= 1")
    return lo, hi


# ----------------------------------------------------------------------------- model_dir

# Settings that must not change when resuming from model_dir.
ARCHITECTURE_FLAGS = ("variant", "nf", "d_nf", "stage", "adversarial_loss")


def _settings(fv):
    return {name: fv[name].value for name in ARCHITECTURE_FLAGS}


def check_resume_settings(model_dir, fv):
    """Refuses to resume a run in model_dir (its settings.json) with another model; writes
    nothing (`write_settings` does, once training starts)."""
    path = os.path.join(model_dir, "settings.json")
    if not os.path.exists(path):
        return
    try:
        with open(path) as f:
            saved = json.load(f)
    except (OSError, ValueError) as e:
        raise ValueError(f"{path}: cannot read the run's settings: {e}") from e
    changed = {k: (saved.get(k), v) for k, v in _settings(fv).items() if saved.get(k) != v}
    if changed:
        details = ", ".join(f"--{k} was {a!r}, now {b!r}" for k, (a, b) in changed.items())
        raise app.UsageError(f"{model_dir} holds a run with other settings ({details}); "
                             f"use another --model_dir or the same settings")


def write_settings(model_dir, fv):
    """Writes model_dir/settings.json (atomically) if it is not there yet."""
    path = os.path.join(model_dir, "settings.json")
    if os.path.exists(path):
        return
    from lgtsm_tf import atomic  # pylint: disable=import-outside-toplevel
    os.makedirs(model_dir, exist_ok=True)
    with atomic.atomic_file(path, overwrite=True) as tmp:
        with open(tmp, "w") as f:
            json.dump(_settings(fv), f, indent=1)


class StartGuard:
    """Leaves model_dir as it was when training fails to start.

    On an exception inside the `with` block before `started()` is called, the folders created
    in model_dir since entering (and model_dir itself if it did not exist) are removed when they
    hold no files; files are never removed.
    """

    def __init__(self, model_dir):
        self.model_dir = model_dir
        self.existed = os.path.isdir(model_dir)
        self.before = set(os.listdir(model_dir)) if self.existed else set()
        self.has_started = False

    def started(self):
        self.has_started = True

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None and not self.has_started and os.path.isdir(self.model_dir):
            for name in set(os.listdir(self.model_dir)) - self.before:
                _remove_empty_folders(os.path.join(self.model_dir, name))
            if not self.existed:
                _remove_empty_folders(self.model_dir)
        return False


def _remove_empty_folders(path):
    """Removes `path` and the folders under it if none of them holds a file."""
    if os.path.islink(path) or not os.path.isdir(path):
        return
    for name in os.listdir(path):
        _remove_empty_folders(os.path.join(path, name))
    try:
        os.rmdir(path)
    except OSError:
        pass  # not empty


def export_generator(generator, model_dir, step, clip_length):
    """Saves model_dir/generator.keras and inference.json (the training clip length as the
    inference window; atomically); refuses non-finite weights."""
    from lgtsm_tf import atomic  # pylint: disable=import-outside-toplevel
    from lgtsm_tf.inference.loading import WINDOWING_FILE
    from lgtsm_tf.models import check_finite_weights

    path = os.path.join(model_dir, "generator.keras")
    try:
        check_finite_weights(generator, f"the generator at step {step}")
    except ValueError as e:
        raise ValueError(f"{e}; not exporting {path} (the checkpoints are kept)") from e
    with atomic.atomic_file(path, overwrite=True) as tmp:  # tmp ends in .keras too
        generator.save(tmp)
    # How to run it: in windows as long as the training clips (`inference.windowing`).
    atomic.write_text(os.path.join(model_dir, WINDOWING_FILE),
                      json.dumps({"window": clip_length, "overlap": clip_length // 2}))
    return path


def adversarial_weight(fv):
    if fv.adversarial_weight is None:
        return 1.0 if fv.stage == "2" else 0.0
    return fv.adversarial_weight


def loss_weights(fv):
    from lgtsm_tf.losses import LossWeights
    adversarial = adversarial_weight(fv)
    return LossWeights(l1=fv.l1_weight, hole_l1=fv.hole_l1_weight,
                       valid_l1=fv.valid_l1_weight, perceptual=fv.perceptual_weight,
                       style=fv.style_weight, adversarial=adversarial,
                       gan_type=fv.adversarial_loss, style_fold_batch=fv.style_fold_batch)


def make_datasets(fv, strategy):
    """(train, validation or None) datasets of {"frames", "masks"} global batches."""
    from lgtsm_tf.data import make_training_datasets
    return make_training_datasets(
        fv.data, fv.val_data, masks=fv.masks, mask_presets=fv.mask_presets,
        **(dict(mask_scale=mask_scale(fv), mask_area_range=mask_area_range(fv))
           if fv.masks == "generated" else {}),
        invert_masks=fv.invert_masks, clip_length=fv.clip_length, height=fv.height,
        width=fv.width, max_stride=fv.max_stride, batch_size=fv.batch_size,
        eval_steps=fv.eval_steps, seed=fv.seed, strategy=strategy,
        skip_short_videos=fv.skip_short_videos)


def build_models(fv, weights):
    """Generator, discriminator (stage 2) and VGG (when its losses are on)."""
    import lgtsm_tf
    from lgtsm_tf.training.init import initial_models

    generator = lgtsm_tf.build_generator(fv.variant, nf=fv.nf)
    discriminator = (lgtsm_tf.build_discriminator(fv.variant, nf=fv.d_nf)
                     if weights.adversarial > 0 else None)
    if fv.init_from:
        initial_models(fv.init_from, fv.variant, generator, discriminator)
    else:  # a resumed run's checkpoint replaces these weights
        from lgtsm_tf.models.initialization import initialize
        for model in (generator, discriminator):
            if model is not None:
                initialize(model, fv.init, seed=fv.seed)
    vgg = None
    if weights.needs_vgg:
        from lgtsm_tf.vgg import VGGFeatures
        vgg = VGGFeatures(weights=fv.vgg_weights or "imagenet")
    return generator, discriminator, vgg


def train(fv):
    """The whole run; every flag is checked first, and a failed start leaves model_dir as it was
    (settings.json is written only once the models are built and the checkpoint restored)."""
    validate_flags(fv)
    check_resume_settings(fv.model_dir, fv)  # before any work; again below for the chief
    import keras

    from lgtsm_tf.training.strategy import is_chief, make_strategy

    strategy = make_strategy(fv.strategy, fv.num_cpu_devices)
    chief = is_chief(strategy)
    if not chief:
        return _train(fv, strategy, chief, keras, guard=None)
    with StartGuard(fv.model_dir) as guard:
        return _train(fv, strategy, chief, keras, guard)


def _train(fv, strategy, chief, keras, guard):
    from lgtsm_tf.training.checkpointing import CheckpointCallback, TrainingCheckpoint
    from lgtsm_tf.training.gan import InpaintingGAN
    from lgtsm_tf.training.optimizers import (StaircaseDecay, guarded, reference_adam,
                                              staircase_rate)
    from lgtsm_tf.training.summaries import HistoryCSV, ImageSummaryCallback

    keras.config.set_dtype_policy(fv.precision)
    keras.utils.set_random_seed(fv.seed)
    weights = loss_weights(fv)
    train_ds, val_ds = make_datasets(fv, strategy)

    with strategy.scope():
        generator, discriminator, vgg = build_models(fv, weights)
        gan = InpaintingGAN(generator, discriminator, vgg, weights)
        gan.compile(
            generator_optimizer=guarded(
                reference_adam(fv.lr, name="generator_adam"), fv.precision),
            discriminator_optimizer=guarded(reference_adam(fv.d_lr, name="discriminator_adam"),
                                            fv.precision) if discriminator else None)
        gan.build_optimizers()
        checkpoint = TrainingCheckpoint(gan, fv.model_dir, chief=chief)
        step = checkpoint.restore()
    if chief:
        check_resume_settings(fv.model_dir, fv)  # in case another run started meanwhile
        write_settings(fv.model_dir, fv)
        guard.started()

    if step >= fv.train_steps:
        print(f"{fv.model_dir} is already at step {step} >= --train_steps {fv.train_steps}")
    else:
        rate = staircase_rate(fv.lr, step, fv.lr_decay_steps, fv.lr_decay_rate)
        print(f"{'Resuming at' if step else 'Starting at'} step {step} of {fv.train_steps}, "
              f"generator learning rate {rate:.3g}")
        # The flags' learning rates, not the ones saved in the checkpoint.
        callbacks = [StaircaseDecay(gan.generator_optimizer, gan.step, fv.lr,
                                    fv.lr_decay_steps, fv.lr_decay_rate)]
        if discriminator is not None:
            callbacks.append(StaircaseDecay(gan.discriminator_optimizer, gan.step, fv.d_lr))
        callbacks.append(CheckpointCallback(checkpoint, fv.checkpoint_every,
                                            fv.train_steps))
        if chief:
            history = HistoryCSV(os.path.join(fv.model_dir, "history.csv"), gan.step)
            callbacks.append(history)
            callbacks.append(keras.callbacks.TensorBoard(
                os.path.join(fv.model_dir, "logs"), update_freq=fv.eval_every))
            if val_ds is not None:
                callbacks.append(ImageSummaryCallback(next(iter(val_ds)), fv.model_dir,
                                                      gan.step))
        if step == 0 and val_ds is not None:
            # The baseline every later validation is compared with.
            logs = gan.evaluate(val_ds, return_dict=True, verbose=0)
            print("Validation before training: " + ", ".join(
                f"{k} {v:.4f}" for k, v in sorted(logs.items()) if k != "skipped_steps"))
            if chief:
                history.record({f"val_{k}": v for k, v in logs.items()})
        initial_epoch = step // fv.eval_every
        epochs = initial_epoch + -(-(fv.train_steps - step) // fv.eval_every)
        gan.fit(train_ds, epochs=epochs, initial_epoch=initial_epoch,
                steps_per_epoch=fv.eval_every, validation_data=val_ds, callbacks=callbacks,
                verbose=fv.verbose)
        checkpoint.save()
    if chief:
        step = int(gan.step.numpy())
        path = export_generator(gan.generator, fv.model_dir, step, fv.clip_length)
        print(f"Exported {path} at step {step}")


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
