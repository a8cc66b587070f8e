"""Training: the GAN model with its train step, optimizers, strategies, checkpoints, summaries."""
