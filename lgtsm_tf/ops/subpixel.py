"""A convolution of a nearest-neighbour x2 upsampled image, computed at the input resolution.

The reference's "deconv" is `conv(upsample_nearest2x(x))` with a k x k kernel, stride 1 and
padding p = (k - 1) // 2 (same size). Output pixel 2i + a (phase a in {0, 1}, per axis) only sees
input pixels i + r with r = floor((a + j - p) / 2) for the kernel taps j, so each phase is a
smaller convolution of x itself with the taps that land on the same input pixel summed. For
k = 3, p = 1 that is a 2 x 2 kernel per phase: 16 multiply-adds per output quad instead of 36
(2.25x fewer), and the upsampled tensor is never written.

All four phases run as ONE convolution with 4 * C_out output channels over x padded by
(pad_before, pad_after); `tf.nn.depth_to_space` interleaves them and a crop of `offset` pixels at
each end restores exactly [2H, 2W]. When phase 1's window starts one pixel after phase 0's
(offset 1), phase 1 is put first in the channel order so that both phases of a conv position are
neighbours in the output (pixels 2u - 1 and 2u).
"""

import numpy as np
import tensorflow as tf
from keras import ops


def supported(kernel_size, strides, padding, dilation_rate):
    """True when conv(upsample2x(x)) keeps size 2H x 2W and has a phase form here."""
    return all(s == 1 and d == 1 and k == 2 * p + 1
               for k, s, p, d in zip(kernel_size, strides, padding, dilation_rate))


def axis_phases(kernel, padding):
    """Phase structure along one axis.

    Returns (taps, pads, offset): `taps` [2, n, kernel] float32 0/1, where taps[slot, u, j] = 1
    when kernel tap j of the phase in channel slot `slot` lands on window position u; `pads` the
    (before, after) zero padding of x; `offset` 0 or 1, the pixels to crop at each end after
    interleaving.
    """
    rows = [[(a + j - padding) // 2 for j in range(kernel)] for a in (0, 1)]
    lows = [min(r) for r in rows]
    offset = lows[1] - lows[0]
    n = max(max(r) - low + 1 for r, low in zip(rows, lows))
    taps = np.zeros((2, n, kernel), np.float32)  # [phase, u, j]
    for a in (0, 1):
        for j, r in enumerate(rows[a]):
            taps[a, r - lows[a], j] = 1.0
    if offset:  # phase 1 first: a conv position then yields output pixels 2u - 1, 2u
        taps = taps[::-1]
    before = -lows[0]
    return np.ascontiguousarray(taps), (before, offset + n - 1 - before), offset


def phase_kernel(kernel, padding):
    """[k_h, k_w, C_in, C_out] kernel -> ([n_h, n_w, C_in, 4 * C_out] kernel, pads, offsets).

    The output channel index is (slot_h * 2 + slot_w) * C_out + c, the layout
    `tf.nn.depth_to_space` expects. Taps are summed in float32.
    """
    k_h, k_w, c_in, c_out = kernel.shape
    taps_h, pads_h, offset_h = axis_phases(k_h, padding[0])
    taps_w, pads_w, offset_w = axis_phases(k_w, padding[1])
    merged = ops.einsum("puj,qvl,jlio->uvipqo", taps_h, taps_w, ops.cast(kernel, "float32"))
    merged = ops.reshape(merged, (taps_h.shape[1], taps_w.shape[1], c_in, 4 * c_out))
    return ops.cast(merged, kernel.dtype), (pads_h, pads_w), (offset_h, offset_w)


def interleave(y, offsets):
    """[N, H + o_h, W + o_w, 4 * C] phases -> [N, 2H, 2W, C] (o = offsets)."""
    y = tf.nn.depth_to_space(y, 2)
    offset_h, offset_w = offsets
    return y[:, offset_h:(-offset_h or None), offset_w:(-offset_w or None), :]
