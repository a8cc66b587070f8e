"""Composite: known pixels from the input, holes from the network."""

import keras


@keras.saving.register_keras_serializable(package="lgtsm_tf")
class Composite(keras.layers.Layer):
    """[raw, frames, masks] -> raw * masks + frames * (1 - masks), [B, T, H, W, 3].

    raw: the generator's last layer (unbounded, no clipping, as in the reference). frames in
    [0, 1]; masks 1 = hole. Known pixels are copied exactly. Computed in float32 by default so
    that mixed-precision models return float32 frames.
    """

    def __init__(self, **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)

    def call(self, inputs):
        raw, frames, masks = inputs
        return raw * masks + frames * (1.0 - masks)

    def compute_output_shape(self, input_shape):
        return input_shape[1]
