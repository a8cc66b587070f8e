"""One GAN training step on 1 device vs MirroredStrategy on 2 logical CPU devices.

Run as a separate process (logical devices must be configured before TensorFlow starts):
  python -m tests.mirrored_step_check  -> prints a JSON line {"generator": d, "discriminator": d}
with the max abs difference of the weights after the step.
"""

import json

import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

import keras  # noqa: E402
import numpy as np  # noqa: E402

import lgtsm_tf  # noqa: E402
from lgtsm_tf.losses import LossWeights  # noqa: E402
from lgtsm_tf.training.gan import InpaintingGAN  # noqa: E402
from lgtsm_tf.training.optimizers import guarded, reference_adam  # noqa: E402
from lgtsm_tf.vgg import VGGFeatures  # noqa: E402
from tests.testing import random_video  # noqa: E402

# All loss terms on. The style loss uses per-sample Gram matrices: the reference's Gram folds the
# batch into one matrix (cross-sample blocks), which no data-parallel split can reproduce.
WEIGHTS = LossWeights(l1=1.0, hole_l1=1.0, perceptual=1.0, style=10.0, adversarial=1.0, style_fold_batch=False)


def one_step(strategy, initial, batch):
    with strategy.scope():
        keras.utils.set_random_seed(0)
        generator = lgtsm_tf.build_generator("lgtsm", nf=8)
        discriminator = lgtsm_tf.build_discriminator("lgtsm", nf=8)
        vgg = VGGFeatures(weights=None)
        vgg(batch["frames"])
        if initial is not None:
            for model, weights in zip((generator, discriminator, vgg), initial):
                model.set_weights(weights)
        gan = InpaintingGAN(generator, discriminator, vgg, WEIGHTS)
        gan.compile(generator_optimizer=guarded(reference_adam(1e-3), "float32"),
                    discriminator_optimizer=guarded(reference_adam(1e-3), "float32"))
        gan.build_optimizers()
    start = [m.get_weights() for m in (generator, discriminator, vgg)]
    dataset = tf.data.Dataset.from_tensors(batch)
    gan.fit(dataset, epochs=1, steps_per_epoch=1, verbose=0)
    return start, [generator.get_weights(), discriminator.get_weights()]


def max_diff(a, b):
    return max(float(np.abs(x - y).max()) for x, y in zip(a, b))


def main():
    batch = random_video(0, batch=4, frames=3, height=32, width=32)
    start, single = one_step(tf.distribute.get_strategy(), None, batch)
    mirrored = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    _, multi = one_step(mirrored, start, batch)
    print(json.dumps({
        "replicas": mirrored.num_replicas_in_sync,
        "generator": max_diff(single[0], multi[0]),
        "discriminator": max_diff(single[1], multi[1]),
        "generator_change": max_diff(single[0], start[0]),
        "discriminator_change": max_diff(single[1], start[1]),
    }))


if __name__ == "__main__":
    main()
