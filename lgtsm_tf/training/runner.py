"""`run(config, model_dir)` (`lgtsm_tf.training.run`): one training run of an
`lgtsm_tf.configs.ExperimentConfig`.

config -> precision and strategy -> datasets -> models (generator, TSMGAN, VGG) -> optimizers ->
checkpoint (resumed automatically from model_dir) -> Keras fit with progress, periodic and
signal-triggered checkpoints, TensorBoard scalars and image summaries -> export of the generator
(`model_dir/generator.keras`, `inference.json`) and the metric history (`history.csv`).

The config is checked before any work (`ExperimentConfig.validate`); a resumed run must have
the run's architecture (`configs.ARCHITECTURE`, else ValueError) and prints the other fields
that changed. `config.json` and `settings.json` are written only once the models are built and
the checkpoint restored, so a run that fails to start leaves model_dir as it was (`StartGuard`).
"""

import json
import os

from lgtsm_tf import configs


def check_resume(model_dir: str, config: "configs.ExperimentConfig") -> None:
    """Refuses to resume the run in model_dir with another architecture; writes nothing."""
    saved = configs.saved_settings(model_dir)
    if saved is None:
        return
    changed = {k: (saved.get(k), v) for k, v in config.settings().items() if saved.get(k) != v}
    if changed:
        details = ", ".join(f"--{k} was {a!r}, now {b!r}" for k, (a, b) in changed.items())
        raise ValueError(f"{model_dir} holds a run with other settings ({details}); use "
                         f"another --model_dir or the same settings")


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
    from lgtsm_tf import atomic
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


def loss_weights(losses: "configs.LossConfig"):
    from lgtsm_tf.losses import LossWeights

    return LossWeights(l1=losses.l1_weight, hole_l1=losses.hole_l1_weight,
                       valid_l1=losses.valid_l1_weight, perceptual=losses.perceptual_weight,
                       style=losses.style_weight, adversarial=losses.adversarial,
                       gan_type=losses.adversarial_loss,
                       style_fold_batch=losses.style_fold_batch)


def make_datasets(config: "configs.ExperimentConfig", strategy):
    """(train, validation or None) datasets of {"frames", "masks"} global batches."""
    from lgtsm_tf.data import make_training_datasets

    d = config.data
    generated = {}
    if d.masks == "generated":
        generated = dict(mask_scale=configs.parse_mask_scale(d.mask_scale),
                         mask_area_range=configs.parse_area_range(d.mask_area_range))
    return make_training_datasets(
        d.data, d.val_data, masks=d.masks, mask_presets=d.mask_presets, **generated,
        invert_masks=d.invert_masks, clip_length=d.clip_length, height=d.height,
        width=d.width, max_stride=d.max_stride, batch_size=d.batch_size,
        eval_steps=config.trainer.eval_steps, seed=config.trainer.seed, strategy=strategy,
        skip_short_videos=d.skip_short_videos)


def build_models(config: "configs.ExperimentConfig", weights):
    """Generator, discriminator (when the adversarial loss is on) and VGG (when its losses
    are)."""
    import lgtsm_tf
    from lgtsm_tf.training.init import initial_models

    m = config.model
    generator = lgtsm_tf.build_generator(m.variant, nf=m.nf)
    discriminator = (lgtsm_tf.build_discriminator(m.variant, nf=m.d_nf)
                     if weights.adversarial > 0 else None)
    if m.init_from:
        initial_models(m.init_from, m.variant, generator, discriminator)
    else:  # a resumed run's checkpoint replaces these weights
        from lgtsm_tf.models.initialization import initialize

        for model in (generator, discriminator):
            if model is not None:
                initialize(model, m.init, seed=config.trainer.seed)
    vgg = None
    if weights.needs_vgg:
        from lgtsm_tf.vgg import VGGFeatures

        vgg = VGGFeatures(weights=config.losses.vgg_weights or "imagenet")
    return generator, discriminator, vgg


def run(config: "configs.ExperimentConfig", model_dir: str):
    """Trains `config` in `model_dir` (resuming the run there); returns the exported
    generator's path on the chief, else None. ValueError for an invalid config, a run in
    model_dir with another architecture, unreadable data or a diverged model."""
    configs.check_model_dir(model_dir)
    config.validate()
    check_resume(model_dir, config)  # before any work; again below for the chief
    from lgtsm_tf.training.strategy import is_chief, make_strategy

    strategy = make_strategy(config.runtime.strategy, config.runtime.num_cpu_devices)
    chief = is_chief(strategy)
    if not chief:
        return _run(config, model_dir, strategy, chief, guard=None)
    with StartGuard(model_dir) as guard:
        return _run(config, model_dir, strategy, chief, guard)


def _run(config, model_dir, strategy, chief, guard):
    import keras

    from lgtsm_tf.training.checkpointing import CheckpointCallback, TrainingCheckpoint
    from lgtsm_tf.training.gan import InpaintingGAN
    from lgtsm_tf.training.optimizers import (StaircaseDecay, guarded, reference_adam,
                                              staircase_rate)
    from lgtsm_tf.training.summaries import HistoryCSV, ImageSummaryCallback

    opt, sched, precision = config.optimizer, config.trainer, config.runtime.precision
    keras.config.set_dtype_policy(precision)
    keras.utils.set_random_seed(sched.seed)
    weights = loss_weights(config.losses)
    train_ds, val_ds = make_datasets(config, strategy)

    with strategy.scope():
        generator, discriminator, vgg = build_models(config, weights)
        gan = InpaintingGAN(generator, discriminator, vgg, weights)
        gan.compile(
            generator_optimizer=guarded(reference_adam(opt.lr, name="generator_adam"),
                                        precision),
            discriminator_optimizer=guarded(reference_adam(opt.d_lr, name="discriminator_adam"),
                                            precision) if discriminator else None)
        gan.build_optimizers()
        checkpoint = TrainingCheckpoint(gan, model_dir, chief=chief)
        step = checkpoint.restore()
    if chief:
        check_resume(model_dir, config)  # in case another run started meanwhile
        changed = configs.resume_changes(model_dir, config)
        if changed:
            print("Settings changed since the run's last start: " + ", ".join(
                f"--{k} was {a!r}, now {b!r}" for k, (a, b) in changed.items()))
        configs.write(model_dir, config)
        guard.started()

    if step >= sched.train_steps:
        print(f"{model_dir} is already at step {step} >= --train_steps {sched.train_steps}")
    else:
        rate = staircase_rate(opt.lr, step, opt.lr_decay_steps, opt.lr_decay_rate)
        print(f"{'Resuming at' if step else 'Starting at'} step {step} of {sched.train_steps}, "
              f"generator learning rate {rate:.3g}")
        # The config's learning rates, not the ones saved in the checkpoint.
        callbacks = [StaircaseDecay(gan.generator_optimizer, gan.step, opt.lr,
                                    opt.lr_decay_steps, opt.lr_decay_rate)]
        if discriminator is not None:
            callbacks.append(StaircaseDecay(gan.discriminator_optimizer, gan.step, opt.d_lr))
        callbacks.append(CheckpointCallback(checkpoint, sched.checkpoint_every,
                                            sched.train_steps))
        if chief:
            history = HistoryCSV(os.path.join(model_dir, "history.csv"), gan.step)
            callbacks.append(history)
            callbacks.append(keras.callbacks.TensorBoard(
                os.path.join(model_dir, "logs"), update_freq=sched.eval_every))
            if val_ds is not None:
                callbacks.append(ImageSummaryCallback(next(iter(val_ds)), model_dir, gan.step))
        if step == 0 and val_ds is not None:
            # The baseline every later validation is compared with.
            logs = gan.evaluate(val_ds, return_dict=True, verbose=0)
            print("Validation before training: " + ", ".join(
                f"{k} {v:.4f}" for k, v in sorted(logs.items()) if k != "skipped_steps"))
            if chief:
                history.record({f"val_{k}": v for k, v in logs.items()})
        initial_epoch = step // sched.eval_every
        epochs = initial_epoch + -(-(sched.train_steps - step) // sched.eval_every)
        gan.fit(train_ds, epochs=epochs, initial_epoch=initial_epoch,
                steps_per_epoch=sched.eval_every, validation_data=val_ds, callbacks=callbacks,
                verbose=sched.verbose)
        checkpoint.save()
    if chief:
        step = int(gan.step.numpy())
        path = export_generator(gan.generator, model_dir, step, config.data.clip_length)
        print(f"Exported {path} at step {step}")
        return path
    return None
