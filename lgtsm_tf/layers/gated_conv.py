"""GatedConv: the gating base shared by `GatedConv2D` and `GatedConv3D`."""

import keras
from keras import ops

from lgtsm_tf.ops import temporal


class GatedConv(keras.layers.Layer):
    """out = sigmoid(gating(x)) * feature(x), both branches convolutions of the same video.

    Subclasses set `branch_class` (the convolution layer) and `feature_only` (constructor
    arguments that only the feature branch takes, e.g. the temporal shift). The feature branch
    has `activation` (LeakyReLU 0.2 by default; None for the last layer); the gating branch is
    linear before the sigmoid. No normalisation follows (the reference uses none).
    """

    branch_class = None
    feature_only = ()

    def __init__(self, filters, kernel_size, activation="leaky_relu", **conv_kwargs):
        layer_kwargs = {k: conv_kwargs.pop(k) for k in ("name", "dtype", "trainable")
                        if k in conv_kwargs}
        super().__init__(**layer_kwargs)
        self.conv_kwargs = {"filters": filters, "kernel_size": kernel_size, **conv_kwargs}
        self.activation = activation
        gating_kwargs = {k: v for k, v in self.conv_kwargs.items() if k not in self.feature_only}
        self.feature = self.branch_class(**self.conv_kwargs, activation=activation,
                                         dtype=self.dtype_policy, name="feature")
        self.gating = self.branch_class(**gating_kwargs, activation=None,
                                        dtype=self.dtype_policy, name="gating")

    def build(self, input_shape):
        for branch in (self.feature, self.gating):
            if not branch.built:
                branch.build(input_shape)

    def call(self, x, training=False, upsampled=False):
        """x [B, T, H, W, C_in] -> [B, T, H', W', filters].

        upsampled=True: the layer applied to nearest-x2-upsampled x (the reference's "deconv").
        2D branches compute it at x's resolution, phase by phase (`lgtsm_tf.ops.subpixel`), and
        gate the phases before interleaving them; others upsample first.
        """
        if upsampled and not self.feature.subpixel_upsampling:
            x, upsampled = temporal.upsample_nearest2x(x), False
        kwargs = {"training": training, **({"upsampled": True} if upsampled else {})}
        y = ops.sigmoid(self.gating(x, **kwargs)) * self.feature(x, **kwargs)
        return self.feature.interleave(y) if upsampled else y

    def compute_output_shape(self, input_shape):
        return self.feature.compute_output_shape(input_shape)

    def get_config(self):
        return {**super().get_config(), **self.conv_kwargs, "activation": self.activation}
