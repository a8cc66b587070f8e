"""LearnableTemporalShift: the LGTSM learnable temporal shift (a grouped (W, 1, 1) Conv3D)."""

import keras
import numpy as np
from keras import ops

from lgtsm_tf.ops import temporal


@keras.saving.register_keras_serializable(package="lgtsm_tf")
class LearnableTemporalShift(keras.layers.Layer):
    """Learnable temporal shift of part of the channels (Chang et al., BMVC 2019).

    Input and output: [B, T, H, W, C]. With g = floor(C * shift_ratio) // shift_groups, channel
    group i (channels [i*g, (i+1)*g)) is convolved in time with a `shift_width`-tap kernel k_i,
    y[t] = sum_j k_i[j] * x[t + j - shift_width // 2], zero outside the clip; the remaining
    C - shift_groups * g channels pass through unchanged.

    Reference form (`per_channel=False`): ONE kernel per group, shared by the group's channels,
    initialised to the one-hot shift of `TemporalShift` (group i < shift_groups / 2 takes the next
    frame, the others the previous one); the reference has 2 groups x 3 taps = 6 weights.
    `per_channel=True` gives every shifted channel its own kernel (a depthwise temporal conv).

    `kernel` is stored in the layout of a grouped `keras.layers.Conv3D` with kernel size
    (shift_width, 1, 1) and one input channel per group: [shift_width, 1, 1, 1, K] with K =
    shift_groups (shared) or shift_groups * g (per channel). It is computed as a weighted sum of
    depthwise convolution over [B, T, H*W, C] (see `lgtsm_tf.ops.temporal.temporal_correlation`),
    which is exact, fast and exports to ONNX/TensorRT (Keras' grouped Conv3D compiles with XLA,
    is ~75x slower and does not export).

    `learnable=False` freezes the taps at their initial one-hot values as non-trainable weights:
    the reference's `fixed: true` setting (GTSM), which keeps its checkpoints and parameter
    counts.
    """

    def __init__(self, shift_ratio=0.5, shift_groups=2, shift_width=3, per_channel=False,
                 learnable=True, **kwargs):
        super().__init__(**kwargs)
        if not 0.0 <= shift_ratio <= 1.0:
            raise ValueError(f"shift_ratio must be in [0, 1], got {shift_ratio}")
        if shift_groups < 1:
            raise ValueError(f"shift_groups must be >= 1, got {shift_groups}")
        if shift_width < 3 or shift_width % 2 == 0:
            raise ValueError(f"shift_width must be odd and >= 3, got {shift_width}")
        self.shift_ratio = shift_ratio
        self.shift_groups = shift_groups
        self.shift_width = shift_width
        self.per_channel = per_channel
        self.learnable = learnable

    def build(self, input_shape):
        channels = input_shape[-1]
        if channels is None:
            raise ValueError("LearnableTemporalShift needs a known channel count")
        self.group_size = temporal.shift_group_size(channels, self.shift_ratio, self.shift_groups)
        taps = np.asarray(temporal.one_hot_taps(self.shift_groups, self.shift_width), "float32")
        kernels = self.shift_groups
        if self.per_channel:
            taps = taps.repeat(self.group_size, axis=1)
            kernels = self.shift_groups * self.group_size
        self.kernel = self.add_weight(
            name="kernel",
            shape=(self.shift_width, 1, 1, 1, kernels),
            initializer=keras.initializers.Constant(taps.reshape(self.shift_width, 1, 1, 1, kernels)),
            trainable=self.learnable,
        )

    def channel_taps(self):
        """The taps per shifted channel, [shift_width, shift_groups * g]."""
        taps = ops.reshape(self.kernel, (self.shift_width, -1))
        if not self.per_channel:
            taps = ops.repeat(taps, self.group_size, axis=1)
        return taps

    def call(self, x):
        if self.group_size == 0:
            return x
        taps = ops.cast(self.channel_taps(), x.dtype)
        return temporal.temporal_correlation(x, temporal.per_channel_taps(taps, x.shape[-1]))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {
            **super().get_config(),
            "shift_ratio": self.shift_ratio,
            "shift_groups": self.shift_groups,
            "shift_width": self.shift_width,
            "per_channel": self.per_channel,
            "learnable": self.learnable,
        }
