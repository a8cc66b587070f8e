"""Floating-point operations of the generator's forward pass, per frame.

FLOPs = 2 x multiply-adds of the convolutions and temporal shifts (biases, activations, gating
products and compositing are elementwise and not counted, as is usual). Two counts:

* nominal: the reference's formulation, the figure to compare implementations by (and to state
  as "GFLOPs per frame"): each "deconv" convolves the nearest-x2 upsampled video, and the
  learnable shift filters the 2 * floor(C * ratio) // groups shifted channels;
* executed: what this package computes: 2D deconvs run as four sub-pixel phase convolutions at
  the input resolution (`lgtsm_tf.ops.subpixel`; 2.25x fewer multiply-adds for 3x3 kernels), and
  the shift is one depthwise temporal filter over every channel (identity taps for the rest).
"""

from lgtsm_tf import contract
from lgtsm_tf.models.generator import GENERATOR_LAYERS
from lgtsm_tf.models.variants import get_variant
from lgtsm_tf.ops import subpixel, temporal


def _out(size, kernel, stride, padding, dilation):
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def generator_flops(variant="lgtsm", nf=64, height=180, width=320, executed=False,
                    shift_ratio=0.5, shift_groups=2, shift_width=3):
    """FLOPs of one frame of the generator's forward pass at height x width (multiples of 4).

    The 3D variant's temporal kernel of 3 (with 'same' zero padding) counts 3 taps per output
    frame, as the convolution computes them.
    """
    cfg = get_variant(variant)
    contract.check_size(height, width)
    temporal_taps = 3 if cfg["conv"] == "3d" else 1
    shifted = cfg["conv"] == "2d" and cfg["temporal_shift"] in ("learnable", "fixed")
    h, w, channels = height, width, 5
    total = 0
    for _, mult, kernel, stride, padding, dilation, upsample in GENERATOR_LAYERS:
        filters = 3 if mult is None else int(nf * mult)
        phases = (upsample and executed and cfg["conv"] == "2d"
                  and subpixel.supported((kernel,) * 2, (stride,) * 2, (padding,) * 2,
                                         (dilation,) * 2))
        if upsample and not phases:
            h, w = 2 * h, 2 * w  # the upsampled video is convolved (and shifted)
        if shifted:
            group = temporal.shift_group_size(channels, shift_ratio, shift_groups)
            filtered = channels if executed else group * shift_groups
            total += 2 * shift_width * filtered * h * w
        if phases:  # four phase convolutions at the input resolution, two branches
            phase_taps, _, offset = subpixel.axis_phases(kernel, padding)
            n = phase_taps.shape[1]
            total += 2 * 2 * (h + offset) * (w + offset) * n * n * channels * 4 * filters
            h, w = 2 * h, 2 * w
        else:
            h, w = (_out(h, kernel, stride, padding, dilation),
                    _out(w, kernel, stride, padding, dilation))
            total += 2 * 2 * h * w * temporal_taps * kernel * kernel * channels * filters
        channels = filters
    return total
