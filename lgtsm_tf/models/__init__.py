"""Model builders: `build_generator`, `build_discriminator` and the variant table."""

from lgtsm_tf.models.discriminator import build_discriminator
from lgtsm_tf.models.generator import build_generator
from lgtsm_tf.models.parameters import count_parameters
from lgtsm_tf.models.variants import VARIANTS

__all__ = ["VARIANTS", "build_discriminator", "build_generator", "count_parameters"]
