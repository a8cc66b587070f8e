"""Parameter counting that matches the reference's (PyTorch parameters, not buffers)."""

import math

# Spectral normalisation's power-iteration vectors: buffers in PyTorch, not parameters.
SN_STATE = ("sn_u", "sn_v")


def count_parameters(model):
    """Trainable plus frozen weights, excluding spectral-norm power-iteration state.

    This is what `sum(p.numel() for p in module.parameters())` counts for the reference (its
    frozen GTSM shift taps are parameters; SN's u and v are buffers). `model.count_params()`
    differs only for spectral-norm models, by the size of u and v.
    """
    return sum(math.prod(w.shape) for w in model.weights
               if w.path.rsplit("/", 1)[-1] not in SN_STATE)
