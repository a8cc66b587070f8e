r"""Time of one GAN training step (generator + discriminator update) on one batch.

  python -m benchmarks.train_step --variant lgtsm --nf 64 [--d_nf 64] --batch 1 --frames 8 \
      --height 180 --width 320 --threads 2 [--precision fp32|bf16] [--stage 1|2] [--runs 3] \
      [--json]

`InpaintingGAN.train_step` exactly as `trainers/train.py` runs it (compiled by `fit`'s machinery:
`make_train_function`), with the reference's losses: stage 2 (default) = L1 + perceptual +
style (VGG16 features, random weights here: the cost is the same) + TSMGAN adversarial, and a
discriminator step; stage 1 = no discriminator. Optimisers are the reference's Adam, wrapped in
the loss-scale guard as in training. One warm-up step (tracing), then the median of `--runs`.
"""

import sys

import numpy as np

from benchmarks import common


def parse_args(argv=None):
    parser = common.clip_parser(__doc__)
    parser.add_argument("--d_nf", type=int, default=64)
    parser.add_argument("--stage", type=int, default=2, choices=(1, 2))
    return common.parse_clip_args(parser, argv)


def measure(args):
    common.configure_threads(args.threads)
    import keras
    import tensorflow as tf

    from lgtsm_tf import losses
    from lgtsm_tf.models import build_discriminator, build_generator
    from lgtsm_tf.training.gan import InpaintingGAN
    from lgtsm_tf.training.optimizers import guarded, reference_adam
    from lgtsm_tf.vgg import VGGFeatures

    policy = common.POLICIES[args.precision]
    keras.config.set_dtype_policy(policy)
    keras.utils.set_random_seed(0)
    weights = losses.LossWeights.stage2() if args.stage == 2 else losses.LossWeights()
    generator = build_generator(args.variant, nf=args.nf)
    discriminator = build_discriminator(args.variant, nf=args.d_nf) if args.stage == 2 else None
    gan = InpaintingGAN(generator, discriminator, VGGFeatures(weights=None), weights)
    gan.compile(generator_optimizer=guarded(reference_adam(1e-4), policy),
                discriminator_optimizer=(guarded(reference_adam(1e-4), policy)
                                         if discriminator else None))
    gan.build_optimizers()
    frames, masks = common.synthetic_clip(args.batch, args.frames, args.height, args.width)
    batch = {"frames": tf.constant(frames), "masks": tf.constant(masks)}
    gan.make_train_function()
    step = gan.train_function
    dataset = tf.data.Dataset.from_tensors(batch).repeat()
    iterator = iter(dataset)

    logs = {}

    def run():
        logs.update({name: float(np.mean(value)) for name, value in step(iterator).items()})

    times = common.time_runs(run, args.runs)
    result = {"variant": args.variant, "nf": args.nf, "d_nf": args.d_nf if discriminator else None,
              "shape": [args.batch, args.frames, args.height, args.width],
              "precision": args.precision, "stage": args.stage, "threads": args.threads,
              **common.summary(times)}
    result["clips_per_s"] = args.batch / result["median_s"]
    result["last_logs"] = logs  # the loss terms the step computed
    result["machine"] = common.machine()
    return result


def main(argv=None):
    args = parse_args(argv)
    common.emit(measure(args), args.json)


if __name__ == "__main__":
    sys.exit(main())
