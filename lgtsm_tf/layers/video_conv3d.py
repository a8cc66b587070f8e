"""VideoConv3D: a 3D convolution over [B, T, H, W, C] with explicit padding and spectral norm."""

import keras

from lgtsm_tf.layers.padded_conv import PaddedConv


@keras.saving.register_keras_serializable(package="lgtsm_tf")
class VideoConv3D(PaddedConv):
    """3D convolution of a video with PyTorch's Conv3d padding arithmetic.

    Input [B, T, H, W, C_in] -> [B, T', H', W', filters], each of T, H, W mapping
    size -> (size + 2 * pad - dilation * (k - 1) - 1) // stride + 1. Used by the 3D
    gated-convolution baseline (FFVI) and its temporal PatchGAN, where spectral normalisation is
    real (the default here).
    """

    rank = 3

    def __init__(self, filters, kernel_size, spectral_norm=True, **kwargs):
        super().__init__(filters, kernel_size, spectral_norm=spectral_norm, **kwargs)

    def build(self, input_shape):
        if len(input_shape) != 5 or input_shape[-1] is None:
            raise ValueError(f"{self.name}: expected [B, T, H, W, C] with known C, got {input_shape}")
        self.build_conv(input_shape[-1])

    def call(self, x, training=False):
        return self.convolve(x, training)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], *self.output_sizes(input_shape[1:4]), self.filters)
