"""GatedConv2D: the (learnable) gated temporal shift convolution of LGTSM."""

import keras

from lgtsm_tf.layers.frame_conv2d import FrameConv2D
from lgtsm_tf.layers.gated_conv import GatedConv


@keras.saving.register_keras_serializable(package="lgtsm_tf")
class GatedConv2D(GatedConv):
    """Per-frame gated convolution with a temporal shift on the feature branch.

    Input [B, T, H, W, C_in] -> [B, T, H', W', filters] (sizes as `FrameConv2D`):
    out = sigmoid(conv_g(x)) * act(conv_f(shift(x))). The gate sees the UNshifted input, as in the
    reference. Arguments are `FrameConv2D`'s: temporal_shift "none" (gated 2D), "fixed" (GTSM) or
    "learnable" (LGTSM), shift_ratio, shift_groups, shift_width, per_channel_shift, strides,
    padding, dilation_rate, spectral_norm (off: it has no effect in the reference's 2D convs).
    """

    branch_class = FrameConv2D
    feature_only = ("temporal_shift", "shift_ratio", "shift_groups", "shift_width",
                    "per_channel_shift")
