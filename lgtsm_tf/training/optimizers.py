"""Optimizers with the reference's settings, wrapped so that non-finite steps are skipped."""

import keras

NEVER = 2**31 - 1


def reference_adam(learning_rate=1e-4, name=None):
    """Adam as the reference trains: amsgrad, betas (0.9, 0.999), eps 1e-8 (PyTorch's default),
    no weight decay. The learning rate is a variable (saved in checkpoints); `StaircaseDecay`
    sets it from the flags before every step, so a resumed run uses the rate it was given."""
    return keras.optimizers.Adam(learning_rate=learning_rate, beta_1=0.9, beta_2=0.999,
                                 epsilon=1e-8, amsgrad=True, name=name)


def staircase_rate(learning_rate, step, decay_steps=0, decay_rate=1.0):
    """StepLR: `learning_rate * decay_rate ** (step // decay_steps)`; constant if decay_steps is
    0. `step` counts generator steps (an int)."""
    return learning_rate * decay_rate ** (step // decay_steps) if decay_steps else learning_rate


class StaircaseDecay(keras.callbacks.Callback):
    """Before every training batch, sets `optimizer`'s learning rate to
    `staircase_rate(learning_rate, step, decay_steps, decay_rate)` with `step` read from the
    `step` variable (the GAN's generator step counter).

    A Keras `LearningRateSchedule` would change the optimizer's checkpoint layout (no learning
    rate variable), and a float learning rate alone comes back from the checkpoint: either way a
    resume with another `--lr` would not train at the rate asked for.
    """

    def __init__(self, optimizer, step, learning_rate, decay_steps=0, decay_rate=1.0):
        super().__init__()
        self.optimizer, self.step = optimizer, step
        self.rate = (learning_rate, decay_steps, decay_rate)
        self.assigned = None  # the rate last assigned (None: not yet, so the first step does)

    def on_train_batch_begin(self, batch, logs=None):
        rate = staircase_rate(self.rate[0], int(self.step.numpy()), *self.rate[1:])
        if rate != self.assigned:
            self.optimizer.learning_rate = rate  # assigns the (possibly mirrored) variable
            self.assigned = rate


def guarded(optimizer, dtype_policy):
    """Wraps `optimizer` in `keras.optimizers.LossScaleOptimizer`.

    Under mixed_float16 this is ordinary dynamic loss scaling (initial scale 2^15). Under float32
    and mixed_bfloat16 the scale starts at 1 and never grows, so the arithmetic is unchanged
    (scaling by powers of two is exact) and the wrapper only does what we want from it there:
    a step whose gradients are not all finite is skipped, on every replica alike.
    """
    if dtype_policy == "mixed_float16":
        return keras.optimizers.LossScaleOptimizer(optimizer)
    return keras.optimizers.LossScaleOptimizer(optimizer, initial_scale=1.0,
                                               dynamic_growth_steps=NEVER)
