"""GatedConv3D: the 3D gated convolution of the FFVI baseline."""

import keras

from lgtsm_tf.layers.gated_conv import GatedConv
from lgtsm_tf.layers.video_conv3d import VideoConv3D


@keras.saving.register_keras_serializable(package="lgtsm_tf")
class GatedConv3D(GatedConv):
    """3D gated convolution: out = sigmoid(conv3d_g(x)) * act(conv3d_f(x)).

    Input [B, T, H, W, C_in] -> [B, T', H', W', filters] (sizes as `VideoConv3D`). Spectral
    normalisation is real and on by default, as in the reference's 3D baseline.
    """

    branch_class = VideoConv3D
