"""Train an LGTSM inpainting model: `python trainers/train.py --flagfile=trainers/configs/demo.flags`.

flags -> precision and strategy -> datasets -> models (generator, TSMGAN, VGG) -> optimizers ->
checkpoint (resumed automatically from --model_dir) -> Keras fit with progress bar, periodic and
signal-triggered checkpoints, TensorBoard scalars and image summaries -> export of the generator
(`model_dir/generator.keras`) and the metric history (`model_dir/history.csv`).
"""

import json
import os
import sys

from absl import app, flags

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

FLAGS = flags.FLAGS
# Data.
flags.DEFINE_list("data", ["embedded"], "Training videos: 'embedded' (built-in clips made from "
                  "scikit-image photographs), or video files, frame folders, YouTube-VOS/DAVIS "
                  "roots, or folders of them.")
flags.DEFINE_list("val_data", ["embedded"], "Validation videos (same forms as --data); empty "
                  "to skip validation.")
flags.DEFINE_string("masks", "generated", "'generated' (free-form moving strokes on the fly) or "
                    "a folder of mask folders / mask videos paired with the videos.")
flags.DEFINE_list("mask_presets", ["object_like_middle", "rand_curve"],
                  "Presets of generated masks (lgtsm_tf.masks.PRESETS).")
flags.DEFINE_bool("invert_masks", False, "Masks on disk use 0 = hole.")
flags.DEFINE_integer("clip_length", 7, "Frames per training clip (the FVI setting uses 7).")
flags.DEFINE_integer("height", 180, "Training frame height (multiple of 4).")
flags.DEFINE_integer("width", 320, "Training frame width (multiple of 4).")
flags.DEFINE_integer("max_stride", 1, "Random temporal sampling stride in [1, max_stride].")
flags.DEFINE_integer("batch_size", 5, "Global batch size (split over replicas).")
flags.DEFINE_integer("seed", 0, "Seed for data order, masks and initial weights.")
# Model.
flags.DEFINE_enum("variant", "lgtsm", ["lgtsm", "gtsm", "2d", "3d"], "Network variant.")
flags.DEFINE_integer("nf", 64, "Generator base channels.")
flags.DEFINE_integer("d_nf", 64, "Discriminator base channels.")
flags.DEFINE_string("init_from", None, "Start the generator (and discriminator when present) from "
                    "a .keras generator or a reference checkpoint (.pth/.pt/.tar/.npz); ignored "
                    "when --model_dir already has a checkpoint to resume.")
# Losses and optimisation.
flags.DEFINE_enum("stage", "1", ["1", "2"], "1: reconstruction + perceptual + style; 2: adds "
                  "the TSMGAN adversarial loss (weight 1 unless --adversarial_weight is given).")
flags.DEFINE_float("l1_weight", 1.0, "Whole-frame L1 weight.")
flags.DEFINE_float("hole_l1_weight", 0.0, "Hole-only L1 weight.")
flags.DEFINE_float("valid_l1_weight", 0.0, "Valid-pixel L1 weight.")
flags.DEFINE_float("perceptual_weight", 1.0, "VGG16 perceptual loss weight.")
flags.DEFINE_float("style_weight", 10.0, "VGG16 style (Gram) loss weight.")
flags.DEFINE_float("adversarial_weight", None, "TSMGAN weight (default: 0 in stage 1, 1 in 2).")
flags.DEFINE_enum("adversarial_loss", "lsgan", ["lsgan", "hinge"], "GAN objective.")
flags.DEFINE_bool("style_fold_batch", True, "Reference Gram matrices: the batch is folded into "
                  "one Gram (cross-sample blocks). With several replicas each replica folds only "
                  "its own samples; --nostyle_fold_batch (per-sample Grams) makes multi-replica "
                  "training equal to one device.")
flags.DEFINE_string("vgg_weights", None, "VGG16 ImageNet weights (.h5, include_top=False); "
                    "default: keras.applications' cache.")
flags.DEFINE_float("lr", 1e-4, "Generator learning rate (Adam, amsgrad).")
flags.DEFINE_float("d_lr", 1e-4, "Discriminator learning rate.")
flags.DEFINE_integer("lr_decay_steps", 0, "Multiply the generator LR by --lr_decay_rate every "
                     "this many steps (0: constant).")
flags.DEFINE_float("lr_decay_rate", 0.97, "Staircase LR decay factor.")
flags.DEFINE_enum("precision", "float32", ["float32", "mixed_float16", "mixed_bfloat16"],
                  "Keras dtype policy.")
flags.DEFINE_enum("strategy", "default", ["default", "mirrored", "multi_worker"],
                  "tf.distribute strategy (multi_worker reads TF_CONFIG).")
flags.DEFINE_integer("num_cpu_devices", 0, "Split the CPU into this many logical devices.")
# Schedule and outputs.
flags.DEFINE_string("model_dir", None, "Checkpoints, logs, samples and the exported generator; "
                    "training resumes from here.")
flags.DEFINE_integer("train_steps", 1000, "Total training steps (across restarts).")
flags.DEFINE_integer("eval_every", 100, "Steps between validations (one Keras 'epoch').")
flags.DEFINE_integer("eval_steps", 8, "Validation batches per evaluation.")
flags.DEFINE_integer("checkpoint_every", 100, "Steps between checkpoints.")
flags.DEFINE_integer("verbose", 1, "Keras fit verbosity (1: progress bar).")
flags.mark_flag_as_required("model_dir")

# Settings that must not change when resuming from model_dir.
ARCHITECTURE_FLAGS = ("variant", "nf", "d_nf", "stage", "adversarial_loss")


def check_resume_settings(model_dir):
    """Writes model_dir/settings.json on first use; refuses to resume with another model."""
    path = os.path.join(model_dir, "settings.json")
    current = {name: FLAGS[name].value for name in ARCHITECTURE_FLAGS}
    if os.path.exists(path):
        with open(path) as f:
            saved = json.load(f)
        changed = {k: (saved.get(k), v) for k, v in current.items() if saved.get(k) != v}
        if changed:
            details = ", ".join(f"--{k} was {a!r}, now {b!r}" for k, (a, b) in changed.items())
            raise app.UsageError(f"{model_dir} holds a run with other settings ({details}); "
                                 f"use another --model_dir or the same settings")
    else:
        os.makedirs(model_dir, exist_ok=True)
        with open(path, "w") as f:
            json.dump(current, f, indent=1)


def loss_weights():
    from lgtsm_tf.losses import LossWeights
    adversarial = FLAGS.adversarial_weight
    if adversarial is None:
        adversarial = 1.0 if FLAGS.stage == "2" else 0.0
    return LossWeights(l1=FLAGS.l1_weight, hole_l1=FLAGS.hole_l1_weight,
                       valid_l1=FLAGS.valid_l1_weight, perceptual=FLAGS.perceptual_weight,
                       style=FLAGS.style_weight, adversarial=adversarial,
                       gan_type=FLAGS.adversarial_loss, style_fold_batch=FLAGS.style_fold_batch)


def make_datasets(strategy):
    """(train, validation or None) datasets of {"frames", "masks"} global batches."""
    from lgtsm_tf.data import make_training_datasets
    return make_training_datasets(
        FLAGS.data, FLAGS.val_data, masks=FLAGS.masks, mask_presets=FLAGS.mask_presets,
        invert_masks=FLAGS.invert_masks, clip_length=FLAGS.clip_length, height=FLAGS.height,
        width=FLAGS.width, max_stride=FLAGS.max_stride, batch_size=FLAGS.batch_size,
        eval_steps=FLAGS.eval_steps, seed=FLAGS.seed, strategy=strategy)


def build_models(weights):
    """Generator, discriminator (stage 2) and VGG (when its losses are on)."""
    import lgtsm_tf
    from lgtsm_tf.training.init import initial_models

    generator = lgtsm_tf.build_generator(FLAGS.variant, nf=FLAGS.nf)
    discriminator = (lgtsm_tf.build_discriminator(FLAGS.variant, nf=FLAGS.d_nf)
                     if weights.adversarial > 0 else None)
    if FLAGS.init_from:
        initial_models(FLAGS.init_from, FLAGS.variant, generator, discriminator)
    vgg = None
    if weights.needs_vgg:
        from lgtsm_tf.vgg import VGGFeatures
        vgg = VGGFeatures(weights=FLAGS.vgg_weights or "imagenet")
    return generator, discriminator, vgg


def main(argv):
    del argv
    import keras

    from lgtsm_tf.training.checkpointing import CheckpointCallback, TrainingCheckpoint
    from lgtsm_tf.training.gan import InpaintingGAN
    from lgtsm_tf.training.optimizers import guarded, reference_adam
    from lgtsm_tf.training.strategy import is_chief, make_strategy
    from lgtsm_tf.training.summaries import HistoryCSV, ImageSummaryCallback

    strategy = make_strategy(FLAGS.strategy, FLAGS.num_cpu_devices)
    chief = is_chief(strategy)
    if chief:
        check_resume_settings(FLAGS.model_dir)
    keras.config.set_dtype_policy(FLAGS.precision)
    keras.utils.set_random_seed(FLAGS.seed)
    weights = loss_weights()
    train_ds, val_ds = make_datasets(strategy)

    with strategy.scope():
        generator, discriminator, vgg = build_models(weights)
        gan = InpaintingGAN(generator, discriminator, vgg, weights)
        gan.compile(
            generator_optimizer=guarded(
                reference_adam(FLAGS.lr, FLAGS.lr_decay_steps, FLAGS.lr_decay_rate,
                               name="generator_adam"), FLAGS.precision),
            discriminator_optimizer=guarded(reference_adam(FLAGS.d_lr, name="discriminator_adam"),
                                            FLAGS.precision) if discriminator else None)
        gan.build_optimizers()
        checkpoint = TrainingCheckpoint(gan, FLAGS.model_dir, chief=chief)
        step = checkpoint.restore()

    if step >= FLAGS.train_steps:
        print(f"{FLAGS.model_dir} is already at step {step} >= --train_steps {FLAGS.train_steps}")
    else:
        print(f"{'Resuming at' if step else 'Starting at'} step {step} of {FLAGS.train_steps}")
        callbacks = [CheckpointCallback(checkpoint, FLAGS.checkpoint_every, FLAGS.train_steps)]
        if chief:
            history = HistoryCSV(os.path.join(FLAGS.model_dir, "history.csv"), gan.step)
            callbacks.append(history)
            callbacks.append(keras.callbacks.TensorBoard(
                os.path.join(FLAGS.model_dir, "logs"), update_freq=FLAGS.eval_every))
            if val_ds is not None:
                callbacks.append(ImageSummaryCallback(next(iter(val_ds)), FLAGS.model_dir,
                                                      gan.step))
        if step == 0 and val_ds is not None:
            # The baseline every later validation is compared with.
            logs = gan.evaluate(val_ds, return_dict=True, verbose=0)
            print("Validation before training: " + ", ".join(
                f"{k} {v:.4f}" for k, v in sorted(logs.items()) if k != "skipped_steps"))
            if chief:
                history.record({f"val_{k}": v for k, v in logs.items()})
        initial_epoch = step // FLAGS.eval_every
        epochs = initial_epoch + -(-(FLAGS.train_steps - step) // FLAGS.eval_every)
        gan.fit(train_ds, epochs=epochs, initial_epoch=initial_epoch,
                steps_per_epoch=FLAGS.eval_every, validation_data=val_ds, callbacks=callbacks,
                verbose=FLAGS.verbose)
        checkpoint.save()
    if chief:
        path = os.path.join(FLAGS.model_dir, "generator.keras")
        gan.generator.save(path + ".partial.keras")
        os.replace(path + ".partial.keras", path)
        print(f"Exported {path} at step {int(gan.step.numpy())}")


def run():
    app.run(main)


if __name__ == "__main__":
    run()
