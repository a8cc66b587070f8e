"""lgtsm-tf: free-form video inpainting with the Learnable Gated Temporal Shift Module.

Conventions used across the package:
  frames: float [B, T, H, W, 3] in [0, 1] (uint8 at file and serving edges).
  masks:  float [B, T, H, W, 1] with 1 = hole (nonzero pixel = hole in files).
"""

__version__ = "0.1.0"

from lgtsm_tf import layers  # noqa: F401  (registers the serializable layers)
from lgtsm_tf.models import build_discriminator, build_generator  # noqa: F401
from lgtsm_tf import presets  # noqa: F401,E402
from lgtsm_tf.presets import from_preset, load_preset  # noqa: F401,E402
