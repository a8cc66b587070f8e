"""A check that a model's weights are all finite: a diverged run (or `--lr=nan`) leaves NaN/inf
weights, and such a model silently turns every hole black."""

import numpy as np


def nonfinite_weights(model):
    """(non-finite values, all values, [paths of the variables holding non-finite values])."""
    bad, total, names = 0, 0, []
    for weight in model.weights:
        value = np.asarray(weight.numpy() if hasattr(weight, "numpy") else weight)
        total += value.size
        if not np.issubdtype(value.dtype, np.inexact):
            continue
        n = int(value.size - np.count_nonzero(np.isfinite(value)))
        if n:
            bad += n
            names.append(getattr(weight, "path", None) or getattr(weight, "name", "?"))
    return bad, total, names


def check_finite_weights(model, what):
    """Returns `model`; raises ValueError if any of its weight values is NaN or inf.

    `what` names the model in the message (a path, "the generator at step 40", ...). Objects
    without `weights` (e.g. a loaded SavedModel function) are returned unchecked.
    """
    if getattr(model, "weights", None) is None:
        return model
    bad, total, names = nonfinite_weights(model)
    if bad:
        shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
        raise ValueError(f"{what}: {bad:,} of {total:,} weight values are not finite (NaN/inf), "
                         f"in {shown}: the model diverged (e.g. a too high or invalid learning "
                         "rate); use an earlier checkpoint or retrain with a lower --lr")
    return model
