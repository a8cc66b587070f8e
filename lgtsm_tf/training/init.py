"""Initial weights for training from a `.keras` generator or a reference checkpoint."""

from lgtsm_tf import convert
from lgtsm_tf.models import check_finite_weights, load
from lgtsm_tf.models.network import same_weight_layout


def _copy_weights(source, target, what):
    """`source`'s weights into `target`; ValueError if they do not line up or are not finite."""
    if not same_weight_layout(source, target):
        raise ValueError(f"{what}: its weights do not match the model being trained "
                         f"(other variant or nf?)")
    check_finite_weights(source, what)
    target.set_weights(source.get_weights())


def initial_models(path, variant, generator, discriminator=None):
    """Copies weights from `path` into `generator` (and `discriminator` when the checkpoint has
    one). `path`: `preset:NAME` (a shipped generator, to fine-tune on one's own footage), a
    `.keras` generator, or a reference checkpoint (.pth/.pt/.tar/.ckpt/.npz). Weights that are
    not all finite (a diverged run) are refused with a ValueError. Returns a short description
    of what was loaded."""
    from lgtsm_tf.models.loading import model_path

    loaded = []
    if model_path(path).endswith(".keras"):
        _copy_weights(load(path), generator, path)
        loaded.append("generator")
    else:
        state = convert.read_state_dict(path)
        nf = generator.nf
        _copy_weights(convert.load_reference_generator(state, variant, nf=nf), generator, path)
        loaded.append("generator")
        if discriminator is not None and any(k.startswith(("temporal_discriminator.",
                                                          "module.temporal_discriminator."))
                                             for k in state):
            d_nf = discriminator.nf
            _copy_weights(convert.load_reference_discriminator(state, variant, nf=d_nf),
                          discriminator, path)
            loaded.append("discriminator")
    message = f"Initialised the {' and '.join(loaded)} from {path}"
    print(message)
    return message
