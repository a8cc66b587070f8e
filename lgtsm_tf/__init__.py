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

# name -> module that defines it (a submodule name maps to itself).
_LAZY = {
    "build_generator": "lgtsm_tf.models",
    "build_discriminator": "lgtsm_tf.models",
    "InpaintingGenerator": "lgtsm_tf.models",
    "TemporalDiscriminator": "lgtsm_tf.models",
    "load_model": "lgtsm_tf.models",
    "from_preset": "lgtsm_tf.presets",
    "load_preset": "lgtsm_tf.presets",
    "layers": "lgtsm_tf.layers",
    "models": "lgtsm_tf.models",
    "presets": "lgtsm_tf.presets",
}

__all__ = sorted(_LAZY)


def __getattr__(name):
    if name not in _LAZY:
        raise AttributeError(f"module 'lgtsm_tf' has no attribute {name!r}")
    module = importlib.import_module(_LAZY[name])
    if _LAZY[name] != "lgtsm_tf.presets":
        importlib.import_module("lgtsm_tf.layers")  # registers the serializable layers
    value = module if module.__name__ == f"lgtsm_tf.{name}" else getattr(
        module, "load" if name == "load_model" else name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
