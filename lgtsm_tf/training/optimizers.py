"""Optimizers with the reference's settings, wrapped so that non-finite steps are skipped."""

import keras

NEVER = 2**31 - 1


def reference_adam(learning_rate=1e-4, decay_steps=0, decay_rate=0.97, name=None):
    """Adam as the reference trains: amsgrad, betas (0.9, 0.999), eps 1e-8 (PyTorch's default),
    no weight decay; optionally StepLR-style staircase decay (x decay_rate every decay_steps)."""
    if decay_steps:
        learning_rate = keras.optimizers.schedules.ExponentialDecay(
            learning_rate, decay_steps=decay_steps, decay_rate=decay_rate, staircase=True)
    return keras.optimizers.Adam(learning_rate=learning_rate, beta_1=0.9, beta_2=0.999,
                                 epsilon=1e-8, amsgrad=True, name=name)


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
