"""TemporalShift: the fixed, parameter-free temporal shift module (TSM)."""

import keras
import numpy as np
from keras import ops

from lgtsm_tf.ops import temporal


@keras.saving.register_keras_serializable(package="lgtsm_tf")
class TemporalShift(keras.layers.Layer):
    """Fixed temporal shift of part of the channels, zero padded at the clip ends.

    Input and output: [B, T, H, W, C], any float dtype. With g = floor(C * shift_ratio) //
    shift_groups, channel group i (channels [i*g, (i+1)*g)) takes the next frame x[t+1] when
    2*i < shift_groups and the previous frame x[t-1] otherwise; the remaining channels pass
    through. For the reference setting (ratio 0.5, 2 groups) channels [0, C/4) see the next frame,
    [C/4, C/2) the previous one. This equals `LearnableTemporalShift` at its initial taps.
    """

    def __init__(self, shift_ratio=0.5, shift_groups=2, **kwargs):
        super().__init__(**kwargs)
        if not 0.0 <= shift_ratio <= 1.0:
            raise ValueError(f"shift_ratio must be in [0, 1], got {shift_ratio}")
        if shift_groups < 1:
            raise ValueError(f"shift_groups must be >= 1, got {shift_groups}")
        self.shift_ratio = shift_ratio
        self.shift_groups = shift_groups

    def call(self, x):
        group = temporal.shift_group_size(x.shape[-1], self.shift_ratio, self.shift_groups)
        if group == 0:
            return x
        taps = np.repeat(np.asarray(temporal.one_hot_taps(self.shift_groups, 3), "float32"),
                         group, axis=1)
        taps = ops.cast(ops.convert_to_tensor(taps), x.dtype)
        return temporal.temporal_correlation(x, temporal.per_channel_taps(taps, x.shape[-1]))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "shift_ratio": self.shift_ratio,
                "shift_groups": self.shift_groups}
