"""Turning a loaded Keras model into the network class it is."""

from lgtsm_tf.layers import GatedConv3D, VideoConv3D
from lgtsm_tf.models.discriminator import TemporalDiscriminator
from lgtsm_tf.models.generator import InpaintingGenerator

_SHIFT_VARIANTS = {"learnable": "lgtsm", "fixed": "gtsm", "none": "2d"}


def _arguments(model, conv1, is_3d):
    """The constructor arguments that rebuild `model` (a plain functional network)."""
    variant = "3d" if is_3d else _SHIFT_VARIANTS[conv1.get_config()["temporal_shift"]]
    config = conv1.get_config()
    nf = conv1.feature.filters if hasattr(conv1, "feature") else conv1.filters
    arguments = {"variant": variant, "nf": int(nf), "name": model.name,
                 "dtype": conv1.dtype_policy.name}
    if not is_3d:
        arguments.update({k: config[k] for k in ("shift_ratio", "shift_groups", "shift_width",
                                                  "per_channel_shift")})
    arguments["spectral_norm"] = bool(config.get("spectral_norm", False))
    return arguments


def as_network(model):
    """`model` as an `InpaintingGenerator` or `TemporalDiscriminator`.

    Models of those classes are returned as they are. A plain functional `keras.Model` with
    the generator's or discriminator's layers (a `.keras` file saved before the networks were
    classes) is rebuilt as its class from what its layers say (variant, nf, shift settings,
    spectral norm, dtype policy) and gets its weights; ValueError if the rebuilt network's
    weights do not line up with the model's (not one of ours). Anything else (e.g. a loaded
    SavedModel) is returned unchanged.
    """
    if isinstance(model, (InpaintingGenerator, TemporalDiscriminator)):
        return model
    try:
        conv1 = model.get_layer("conv1")
    except (AttributeError, ValueError):
        return model
    names = {layer.name for layer in model.layers}
    if "composite" in names:
        cls = InpaintingGenerator
        is_3d = isinstance(conv1, GatedConv3D)
    elif "sigmoid" in names:
        cls = TemporalDiscriminator
        is_3d = isinstance(conv1, VideoConv3D)
    else:
        return model
    network = cls(**_arguments(model, conv1, is_3d))
    old, new = model.weights, network.weights
    if [w.path for w in old] != [w.path for w in new] or any(
            tuple(a.shape) != tuple(b.shape) for a, b in zip(old, new)):
        raise ValueError(f"model {model.name!r}: its weights do not match a rebuilt "
                         f"{cls.__name__}({network.variant!r}, nf={network.nf})")
    network.set_weights(model.get_weights())
    return network
