"""Training: `run(config, model_dir)` (one run of an `lgtsm_tf.configs.ExperimentConfig`), the
GAN model with its train step, optimizers, strategies, checkpoints, summaries."""

from lgtsm_tf.training.runner import run

__all__ = ["run"]
