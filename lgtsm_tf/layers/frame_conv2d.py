"""FrameConv2D: a 2D convolution applied to every frame, optionally after a temporal shift."""

import keras

from lgtsm_tf.layers.learnable_temporal_shift import LearnableTemporalShift
from lgtsm_tf.layers.padded_conv import PaddedConv
from lgtsm_tf.ops import subpixel, temporal

TEMPORAL_SHIFTS = ("none", "fixed", "learnable")


@keras.saving.register_keras_serializable(package="lgtsm_tf")
class FrameConv2D(PaddedConv):
    """Per-frame 2D convolution of a video, with the reference's explicit zero padding.

    Input [B, T, H, W, C_in] -> output [B, T, H', W', filters], with
    H' = (H + 2 * pad_h - dilation_h * (k_h - 1) - 1) // stride_h + 1 (PyTorch's Conv2d
    arithmetic; Keras 'same' padding differs for even kernels and strides, so padding is explicit).
    Frames are folded into the batch for the convolution, so T is free.

    temporal_shift: "none"; "learnable" (LGTSM: a `LearnableTemporalShift` of the input before
      the convolution); "fixed" (the same taps frozen at their one-hot initial values: GTSM, the
      reference's `fixed: true`).
    spectral_norm: real spectral normalisation. The reference asks for SN in its 2D/TSM
      convolutions but it has no effect there, so reference-faithful models leave it off.
    activation: None or a Keras activation name ("leaky_relu" is LeakyReLU with slope 0.2).
    """

    rank = 2

    def __init__(self, filters, kernel_size, temporal_shift="none", shift_ratio=0.5,
                 shift_groups=2, shift_width=3, per_channel_shift=False, **kwargs):
        super().__init__(filters, kernel_size, **kwargs)
        if temporal_shift not in TEMPORAL_SHIFTS:
            raise ValueError(
                f"temporal_shift must be one of {TEMPORAL_SHIFTS}, got {temporal_shift!r}")
        self.temporal_shift = temporal_shift
        self.shift_ratio = shift_ratio
        self.shift_groups = shift_groups
        self.shift_width = shift_width
        self.per_channel_shift = per_channel_shift
        self.shift = None
        if temporal_shift != "none":
            self.shift = LearnableTemporalShift(
                shift_ratio=shift_ratio, shift_groups=shift_groups, shift_width=shift_width,
                per_channel=per_channel_shift, learnable=temporal_shift == "learnable",
                dtype=self.dtype_policy, name="shift")

    def build(self, input_shape):
        if len(input_shape) != 5 or input_shape[-1] is None:
            raise ValueError(f"{self.name}: expected [B, T, H, W, C] with known C, got {input_shape}")
        if self.shift is not None and not self.shift.built:
            self.shift.build(input_shape)
        self.build_conv(input_shape[-1])

    def call(self, x, training=False, upsampled=False):
        """x [B, T, H, W, C_in] -> [B, T, H', W', filters].

        upsampled=True: the convolution of nearest-x2-upsampled x, returned as its four phases
        [B, T, H + o_h, W + o_w, 4 * filters] (`interleave` gives [B, T, 2H, 2W, filters]);
        requires `subpixel_upsampling`.
        """
        if self.shift is not None:
            x = self.shift(x)  # the shift is per pixel, so it commutes with the upsampling
        frames, batch_time = temporal.fold_time(x)
        y = (self.convolve_upsampled(frames, training) if upsampled
             else self.convolve(frames, training))
        return temporal.unfold_time(y, batch_time)

    def interleave(self, phases):
        """[B, T, H + o_h, W + o_w, 4 * filters] phases -> [B, T, 2H, 2W, filters]."""
        frames, batch_time = temporal.fold_time(phases)
        return temporal.unfold_time(subpixel.interleave(frames, self.phase_offsets), batch_time)

    def compute_output_shape(self, input_shape):
        b, t, h, w, _ = input_shape
        return (b, t, *self.output_sizes((h, w)), self.filters)

    def get_config(self):
        return {
            **super().get_config(),
            "temporal_shift": self.temporal_shift,
            "shift_ratio": self.shift_ratio,
            "shift_groups": self.shift_groups,
            "shift_width": self.shift_width,
            "per_channel_shift": self.per_channel_shift,
        }
