"""InpaintingGAN: the generator and the temporal discriminator trained together (TSMGAN)."""

import dataclasses

import keras
import tensorflow as tf
from keras import ops

from lgtsm_tf import losses
from lgtsm_tf.metrics import HolePSNR, HoleSSIM


@keras.saving.register_keras_serializable(package="lgtsm_tf")
class InpaintingGAN(keras.Model):
    """Trains an inpainting generator, with the temporal PatchGAN when the GAN weight is > 0.

    Batches are dicts {"frames": float [B, T, H, W, 3] in [0, 1] (the ground truth),
    "masks": float [B, T, H, W, 1], 1 = hole}. One `train_step`, as in the reference:
      1. generator step on L = sum_i w_i L_i (+ w_adv * L_G_adv when the GAN is on), all on the
         composited output (known pixels copied, so only holes carry error);
      2. discriminator step on the same batch with the generator output detached (LSGAN by
         default: 0.5 * [mean((D(y) - 1)^2) + mean(D(y_hat)^2)]).
    Stage 1 of the paper's schedule is `loss_weights.adversarial == 0` (no discriminator step);
    stage 2 sets it to 1 and starts from the stage-1 generator.

    Distribution: each replica computes means over its part of the batch and divides them by
    `num_replicas_in_sync` before the gradient, since the optimizers sum gradients over replicas.
    Mixed precision and non-finite steps: both optimizers are `LossScaleOptimizer`s (see
    `lgtsm_tf.training.optimizers.guarded`), so a step whose gradients are not all finite leaves
    the weights unchanged; `skipped_steps` counts them.
    """

    def __init__(self, generator, discriminator=None, vgg=None, loss_weights=None, **kwargs):
        super().__init__(**kwargs)
        self.generator = generator
        self.discriminator = discriminator
        self.vgg = vgg
        if isinstance(loss_weights, dict):
            loss_weights = losses.LossWeights(**loss_weights)
        self.loss_weights = loss_weights or losses.LossWeights()
        if self.use_gan and discriminator is None:
            raise ValueError("the adversarial loss weight is > 0 but there is no discriminator")
        if self.loss_weights.needs_vgg and vgg is None:
            raise ValueError("perceptual/style loss weights are > 0 but no VGG feature extractor "
                             "was given (set their weights to 0 to train without VGG)")
        self.step = self.add_weight(name="step", shape=(), dtype="int64", initializer="zeros",
                                    trainable=False, aggregation="only_first_replica")

    @property
    def use_gan(self):
        return self.loss_weights.adversarial > 0

    def compile(self, generator_optimizer, discriminator_optimizer=None, **kwargs):
        super().compile(**kwargs)
        if self.use_gan and discriminator_optimizer is None:
            raise ValueError("the GAN stage needs a discriminator optimizer")
        self.generator_optimizer = generator_optimizer
        self.discriminator_optimizer = discriminator_optimizer
        names = list(losses.generator_term_names(self.loss_weights,
                                                 include_adversarial=self.use_gan))
        if self.use_gan:
            names.append("discriminator")
        self.loss_trackers = {n: keras.metrics.Mean(name=n) for n in names + ["loss"]}
        self.hole_l1 = keras.metrics.Mean(name="hole_l1")
        self.hole_psnr = HolePSNR(name="hole_psnr")
        self.hole_ssim = HoleSSIM(name="hole_ssim")
        self.skipped_steps = keras.metrics.Sum(name="skipped_steps")

    def build_optimizers(self):
        """Creates the optimizer state; call inside the strategy scope before `fit`."""
        self.generator_optimizer.build(self.generator.trainable_variables)
        if self.use_gan:
            self.discriminator_optimizer.build(self.discriminator.trainable_variables)

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        # Keras (3.15) traces the model on a batch reduced across replicas before `fit`, which
        # fails under MultiWorkerMirroredStrategy for dict batches (CollectiveAllReduce cannot
        # reduce a nested structure). The generator, discriminator and optimizer state exist
        # already once `build_optimizers` ran, so there is nothing to trace.
        if self.generator_optimizer.built:
            return
        super()._maybe_symbolic_build(iterator=iterator, data_batch=data_batch)

    @property
    def metrics(self):
        trackers = list(getattr(self, "loss_trackers", {}).values())
        if hasattr(self, "hole_l1"):
            trackers += [self.hole_l1, self.hole_psnr, self.hole_ssim, self.skipped_steps]
        return trackers

    def call(self, inputs, training=False):
        return self.generator(inputs, training=training)

    def _generator_terms(self, outputs, frames, masks, training):
        d_fake = None
        if self.use_gan:
            d_fake = self.discriminator({"frames": outputs, "masks": masks}, training=training)
        return losses.generator_loss_terms(outputs, frames, masks, self.vgg, self.loss_weights,
                                           d_fake=d_fake)

    def _apply(self, optimizer, loss, tape, variables):
        # Variables without a gradient (e.g. the taps of a shift with no channel to shift when
        # nf is tiny) are left out.
        pairs = [(g, v) for g, v in zip(tape.gradient(loss, variables), variables)
                 if g is not None]
        grads, variables = [g for g, _ in pairs], [v for _, v in pairs]
        finite = tf.reduce_all([tf.reduce_all(tf.math.is_finite(g)) for g in grads])
        optimizer.apply(grads, variables)
        return finite

    def train_step(self, data):
        data = {"frames": tf.convert_to_tensor(data["frames"]),
                "masks": tf.convert_to_tensor(data["masks"])}
        frames, masks = data["frames"], data["masks"]
        per_replica = 1.0 / tf.distribute.get_strategy().num_replicas_in_sync
        with tf.GradientTape() as tape:
            outputs = self.generator(data, training=True)
            terms = self._generator_terms(outputs, frames, masks, training=True)
            scaled = self.generator_optimizer.scale_loss(terms["total"] * per_replica)
        finite = self._apply(self.generator_optimizer, scaled, tape,
                             self.generator.trainable_variables)
        if self.use_gan:
            fake = {"frames": tf.stop_gradient(outputs), "masks": masks}
            with tf.GradientTape() as tape:
                d_real = self.discriminator(data, training=True)
                d_fake = self.discriminator(fake, training=True)
                terms["discriminator"] = losses.discriminator_loss(
                    d_real, d_fake, self.loss_weights.gan_type)
                scaled = self.discriminator_optimizer.scale_loss(
                    terms["discriminator"] * per_replica)
            finite = tf.logical_and(finite, self._apply(
                self.discriminator_optimizer, scaled, tape,
                self.discriminator.trainable_variables))
        self.step.assign_add(1)
        self.skipped_steps.update_state(1.0 - tf.cast(finite, "float32"))
        return self._update_metrics(terms, outputs, frames, masks)

    def test_step(self, data):
        data = {"frames": tf.convert_to_tensor(data["frames"]),
                "masks": tf.convert_to_tensor(data["masks"])}
        frames, masks = data["frames"], data["masks"]
        outputs = self.generator(data, training=False)
        terms = self._generator_terms(outputs, frames, masks, training=False)
        return self._update_metrics(terms, outputs, frames, masks)

    def _update_metrics(self, terms, outputs, frames, masks):
        for name, value in terms.items():
            self.loss_trackers["loss" if name == "total" else name].update_state(value)
        error = ops.mean(ops.abs(outputs - ops.cast(frames, outputs.dtype)), axis=-1)
        self.hole_l1.update_state(error, sample_weight=masks[..., 0])
        self.hole_psnr.update_state(frames, outputs, masks)
        self.hole_ssim.update_state(frames, outputs, masks)
        logs = {m.name: m.result() for m in self.metrics}
        if isinstance(tf.distribute.get_strategy(), tf.distribute.MultiWorkerMirroredStrategy):
            # Keras (3.15) reduces the logs of multi-worker steps with reduce(axis=0), which
            # needs a batch axis: give each scalar one.
            logs = {k: ops.reshape(v, (1,)) for k, v in logs.items()}
        return logs

    def get_config(self):
        return {
            **super().get_config(),
            "generator": keras.saving.serialize_keras_object(self.generator),
            "discriminator": keras.saving.serialize_keras_object(self.discriminator),
            "vgg": keras.saving.serialize_keras_object(self.vgg),
            "loss_weights": dataclasses.asdict(self.loss_weights),
        }

    @classmethod
    def from_config(cls, config):
        for key in ("generator", "discriminator", "vgg"):
            if config.get(key) is not None:
                config[key] = keras.saving.deserialize_keras_object(config[key])
        return cls(**config)
