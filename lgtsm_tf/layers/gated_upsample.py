"""GatedUpsample: nearest x2 spatial upsampling followed by a gated convolution."""

import keras



@keras.saving.register_keras_serializable(package="lgtsm_tf")
class GatedUpsample(keras.layers.Layer):
    """The reference's "deconv": nearest-neighbour x2 in H and W, then a gated convolution.

    Input [B, T, H, W, C] -> `conv`'s output on [B, T, 2H, 2W, C]. `conv` is a `GatedConv2D` or
    `GatedConv3D` (or its serialized config). There is no transposed convolution. 2D gated
    convolutions compute this without materialising the upsampled video (`GatedConv.call`).
    """

    def __init__(self, conv, **kwargs):
        super().__init__(**kwargs)
        if isinstance(conv, dict):
            # Build later, inside this layer's name scope, so weight paths survive a reload.
            conv = {k: v for k, v in conv.items() if k != "build_config"}
            conv = keras.saving.deserialize_keras_object(conv)
        self.conv = conv

    def build(self, input_shape):
        if not self.conv.built:
            self.conv.build(self._upsampled_shape(input_shape))

    @staticmethod
    def _upsampled_shape(shape):
        b, t, h, w, c = shape
        return (b, t, None if h is None else 2 * h, None if w is None else 2 * w, c)

    def call(self, x, training=False):
        return self.conv(x, training=training, upsampled=True)

    def compute_output_shape(self, input_shape):
        return self.conv.compute_output_shape(self._upsampled_shape(input_shape))

    def get_config(self):
        return {**super().get_config(), "conv": keras.saving.serialize_keras_object(self.conv)}
