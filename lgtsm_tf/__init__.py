"""lgtsm-tf: free-form video inpainting with the Learnable Gated Temporal Shift Module.

Conventions used across the package (`lgtsm_tf.contract` converts between them):
  frames: float [B, T, H, W, 3] in [0, 1] (uint8 at file and serving edges).
  masks:  float [B, T, H, W, 1] with 1 = hole (nonzero pixel = hole in files).

`import lgtsm_tf` loads nothing heavy: the names below import their module (and TensorFlow)
on first use, so numpy-only parts such as the `lgtsm_tf.serving` REST client import without
TensorFlow.
"""

import importlib

__version__ = "0.1.0"

# name -> (module, attribute of it; None: the module itself). The models import the layers,
# which registers them for deserialisation.
_LAZY = {
    "build_generator": ("lgtsm_tf.models", "build_generator"),
    "build_discriminator": ("lgtsm_tf.models", "build_discriminator"),
    "InpaintingGenerator": ("lgtsm_tf.models", "InpaintingGenerator"),
    "TemporalDiscriminator": ("lgtsm_tf.models", "TemporalDiscriminator"),
    "load_model": ("lgtsm_tf.models", "load"),
    "from_preset": ("lgtsm_tf.presets", "from_preset"),
    "load_preset": ("lgtsm_tf.presets", "load_preset"),
    "layers": ("lgtsm_tf.layers", None),
    "models": ("lgtsm_tf.models", None),
    "presets": ("lgtsm_tf.presets", None),
}

__all__ = sorted(_LAZY)


def __getattr__(name):
    if name not in _LAZY:
        raise AttributeError(f"module 'lgtsm_tf' has no attribute {name!r}")
    module_name, attribute = _LAZY[name]
    module = importlib.import_module(module_name)
    value = module if attribute is None else getattr(module, attribute)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
