"""PaddedConv: the convolution base shared by `FrameConv2D` and `VideoConv3D`."""

import math

import keras
import tensorflow as tf
from keras import ops

from lgtsm_tf.ops import subpixel
from lgtsm_tf.ops.convolution import convolve
from lgtsm_tf.ops.spectral_norm import spectral_normalize


def _as_tuple(value, rank, name):
    values = (value,) * rank if isinstance(value, int) else tuple(int(v) for v in value)
    if len(values) != rank or any(v < 0 for v in values):
        raise ValueError(f"{name} must be an int or {rank} non-negative ints, got {value!r}")
    return values


class PaddedConv(keras.layers.Layer):
    """A rank-N channels-last convolution with PyTorch's explicit zero padding and optional
    spectral normalisation (PyTorch's arithmetic, see `lgtsm_tf.ops.spectral_norm`).

    Each spatial axis maps size -> (size + 2 * pad - dilation * (k - 1) - 1) // stride + 1.
    Subclasses set `rank` and decide which axes of their input the convolution runs over.
    Weights: `kernel` [k..., C_in, filters], `bias` [filters], and with spectral norm the
    non-trainable power-iteration vectors `sn_u` [filters] and `sn_v` [prod(k) * C_in].
    """

    rank = None

    def __init__(self, filters, kernel_size, strides=1, padding=0, dilation_rate=1,
                 activation=None, use_bias=True, spectral_norm=False, **kwargs):
        super().__init__(**kwargs)
        self.filters = int(filters)
        self.kernel_size = _as_tuple(kernel_size, self.rank, "kernel_size")
        self.strides = _as_tuple(strides, self.rank, "strides")
        self.padding = _as_tuple(padding, self.rank, "padding")
        self.dilation_rate = _as_tuple(dilation_rate, self.rank, "dilation_rate")
        self.activation = activation
        self._activation_fn = keras.activations.get(activation)
        self.use_bias = use_bias
        self.spectral_norm = spectral_norm

    def build_conv(self, channels):
        """Creates the weights for `channels` input channels."""
        taps = math.prod(self.kernel_size)
        # PyTorch's default Conv init, as the reference trains from: U(+-1/sqrt(fan_in)) for
        # the kernel and the bias. (Zero biases let the 17 sigmoid-gated layers shrink the
        # signal to ~1e-9 at initialisation.)
        bound = 1.0 / math.sqrt(taps * channels)
        self.kernel = self.add_weight(
            name="kernel", shape=(*self.kernel_size, channels, self.filters),
            initializer=keras.initializers.RandomUniform(-bound, bound),
            autocast=not self.spectral_norm)
        self.bias = (self.add_weight(name="bias", shape=(self.filters,),
                                     initializer=keras.initializers.RandomUniform(-bound, bound))
                     if self.use_bias else None)
        if self.spectral_norm:
            for name, size in (("sn_u", self.filters), ("sn_v", taps * channels)):
                setattr(self, name, self.add_weight(
                    name=name, shape=(size,), trainable=False, autocast=False,
                    initializer=keras.initializers.RandomNormal(stddev=1.0),
                    aggregation="only_first_replica"))

    def effective_kernel(self, training=False):
        """The kernel the convolution uses, [k..., C_in, filters], in the compute dtype."""
        if not self.spectral_norm:
            return self.kernel
        kernel = spectral_normalize(self.kernel, self.sn_u, self.sn_v, training)
        return ops.cast(kernel, self.compute_dtype)

    def convolve(self, x, training=False):
        """Pads, convolves (VALID), adds the bias and applies the activation.

        x: [N, spatial..., C_in] with `rank` spatial axes.
        """
        y = convolve(x, ops.convert_to_tensor(self.effective_kernel(training)), self.strides,
                     [(p, p) for p in self.padding], self.dilation_rate)
        return self._bias_activation(y, self.bias)

    @property
    def subpixel_upsampling(self):
        """True when `convolve_upsampled` has a phase form for this convolution."""
        return self.rank == 2 and subpixel.supported(self.kernel_size, self.strides,
                                                     self.padding, self.dilation_rate)

    def convolve_upsampled(self, x, training=False):
        """`convolve` of nearest-x2-upsampled x, computed at x's resolution (2D only).

        x: [N, H, W, C_in]. Returns the four output phases [N, H + o_h, W + o_w, 4 * filters]
        with bias and activation applied; `subpixel.interleave(y, self.phase_offsets)` makes
        them the [N, 2H, 2W, filters] that `convolve` of the upsampled x gives (see
        `lgtsm_tf.ops.subpixel`: 2.25x fewer multiply-adds for 3x3 kernels).
        """
        kernel, pads, _ = subpixel.phase_kernel(
            ops.convert_to_tensor(self.effective_kernel(training)), self.padding)
        y = convolve(x, kernel, (1, 1), pads, (1, 1))
        return self._bias_activation(y, None if self.bias is None else ops.tile(self.bias, [4]))

    @property
    def phase_offsets(self):
        return tuple(subpixel.axis_phases(k, p)[2] for k, p in zip(self.kernel_size, self.padding))

    def _bias_activation(self, y, bias):
        if bias is not None:
            y = tf.nn.bias_add(y, ops.convert_to_tensor(bias))
        if self._activation_fn is not None:
            y = self._activation_fn(y)
        return y

    def output_sizes(self, sizes):
        """Output sizes of the convolved axes for input `sizes` (None stays None)."""
        return tuple(
            None if size is None else (size + 2 * p - d * (k - 1) - 1) // s + 1
            for size, k, s, p, d in zip(sizes, self.kernel_size, self.strides, self.padding,
                                        self.dilation_rate))

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "strides": self.strides,
            "padding": self.padding,
            "dilation_rate": self.dilation_rate,
            "activation": self.activation,
            "use_bias": self.use_bias,
            "spectral_norm": self.spectral_norm,
        }
