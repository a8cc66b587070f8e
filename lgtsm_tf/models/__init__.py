"""Model builders (`build_generator`, `build_discriminator`), the variant table, counts of
parameters and FLOPs, and a check that the weights are finite."""

from lgtsm_tf.models.discriminator import build_discriminator
from lgtsm_tf.models.finite import check_finite_weights
from lgtsm_tf.models.flops import generator_flops
from lgtsm_tf.models.generator import build_generator
from lgtsm_tf.models.parameters import count_parameters
from lgtsm_tf.models.variants import VARIANTS

__all__ = ["VARIANTS", "build_discriminator", "build_generator", "check_finite_weights",
           "count_parameters", "generator_flops"]
