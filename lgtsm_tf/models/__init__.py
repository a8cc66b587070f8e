"""The networks (`InpaintingGenerator`, `TemporalDiscriminator`; `build_generator`,
`build_discriminator`), `load` (the one loader: .keras, training directory, SavedModel, preset,
reference checkpoint), `as_network` for models saved before they were classes, the variant
table, counts of parameters and FLOPs, and a check that the weights are finite."""

from lgtsm_tf.models.discriminator import TemporalDiscriminator, build_discriminator
from lgtsm_tf.models.finite import check_finite_weights
from lgtsm_tf.models.flops import generator_flops
from lgtsm_tf.models.generator import InpaintingGenerator, build_generator
from lgtsm_tf.models.loading import as_network, load
from lgtsm_tf.models.parameters import count_parameters
from lgtsm_tf.models.variants import VARIANTS

__all__ = ["VARIANTS", "InpaintingGenerator", "TemporalDiscriminator", "as_network", "load",
           "build_discriminator", "build_generator", "check_finite_weights", "count_parameters",
           "generator_flops"]
