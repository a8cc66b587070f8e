"""Model builders (`build_generator`, `build_discriminator`), the variant table, and counts of
parameters and FLOPs."""

from lgtsm_tf.models.discriminator import build_discriminator
from lgtsm_tf.models.flops import generator_flops
from lgtsm_tf.models.generator import build_generator
from lgtsm_tf.models.parameters import count_parameters
from lgtsm_tf.models.variants import VARIANTS

__all__ = ["VARIANTS", "build_discriminator", "build_generator", "count_parameters",
           "generator_flops"]
