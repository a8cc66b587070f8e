"""Keras layers of lgtsm-tf (all registered under the `lgtsm_tf` package for serialization)."""

from lgtsm_tf.layers.composite import Composite
from lgtsm_tf.layers.frame_conv2d import FrameConv2D
from lgtsm_tf.layers.gated_conv2d import GatedConv2D
from lgtsm_tf.layers.gated_conv3d import GatedConv3D
from lgtsm_tf.layers.gated_upsample import GatedUpsample
from lgtsm_tf.layers.inpainting_input import InpaintingInput
from lgtsm_tf.layers.learnable_temporal_shift import LearnableTemporalShift
from lgtsm_tf.layers.temporal_propagation import TemporalPropagation
from lgtsm_tf.layers.temporal_shift import TemporalShift
from lgtsm_tf.layers.video_conv3d import VideoConv3D

__all__ = [
    "Composite",
    "FrameConv2D",
    "GatedConv2D",
    "GatedConv3D",
    "GatedUpsample",
    "InpaintingInput",
    "LearnableTemporalShift",
    "TemporalPropagation",
    "TemporalShift",
    "VideoConv3D",
]
