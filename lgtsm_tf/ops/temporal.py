"""Temporal shift arithmetic on video tensors [B, T, H, W, C].

The reference (Lin et al.'s TSM as used by LGTSM) splits the channels into `shift_groups` groups of
`floor(C * shift_ratio) // shift_groups` channels each, shifted in time, followed by the
remaining channels, which pass through. Group i takes the NEXT frame when 2*i < shift_groups and
the PREVIOUS frame otherwise (for 2 groups: group 0 <- x[t+1], group 1 <- x[t-1]); frames outside
the clip are zeros.
"""


from keras import ops


def shift_group_size(channels, shift_ratio, shift_groups):
    """Channels in each shifted group: floor(channels * shift_ratio) // shift_groups."""
    return int(channels * shift_ratio) // shift_groups


def group_offsets(shift_groups):
    """Temporal offset per group: +1 (take the next frame) or -1 (take the previous frame)."""
    return [1 if 2 * i < shift_groups else -1 for i in range(shift_groups)]


def one_hot_taps(shift_groups, shift_width):
    """Initial taps [shift_width, shift_groups]: group i's kernel is one-hot at its offset.

    Tap j multiplies x[t + j - shift_width // 2] (a cross-correlation, as in Conv3D), so the
    "next frame" kernel of width 3 is [0, 0, 1] and the "previous frame" one is [1, 0, 0].
    """
    centre = shift_width // 2
    taps = [[0.0] * shift_groups for _ in range(shift_width)]
    for group, offset in enumerate(group_offsets(shift_groups)):
        taps[centre + offset][group] = 1.0
    return taps


def pad_time(x, before, after):
    """Zero-pads [B, T, ...] along T."""
    paddings = [(0, 0)] * len(x.shape)
    paddings[1] = (before, after)
    return ops.pad(x, paddings)


def frames_at_offset(x_padded, offset, radius, num_frames):
    """x[t + offset] for t in [0, T), from x padded by `radius` zero frames on both sides of T."""
    start = radius + offset
    return x_padded[:, start : start + num_frames]


def temporal_correlation(x, taps):
    """y[t] = sum_j taps[j] * x[t + j - W // 2] per channel, zeros outside the clip.

    Args:
      x: [B, T, H, W, C].
      taps: [W, C] (W odd), one temporal kernel per channel.
    Returns:
      [B, T, H, W, C], the depthwise temporal convolution (cross-correlation) with 'same' zero
      padding, computed as a weighted sum of time-shifted slices (exact, fast, exportable).
    """
    width = taps.shape[0]
    radius = width // 2
    num_frames = ops.shape(x)[1]
    x_padded = pad_time(x, radius, radius)
    out = None
    for j in range(width):
        term = frames_at_offset(x_padded, j - radius, radius, num_frames) * taps[j]
        out = term if out is None else out + term
    return out


def split_shifted(x, shifted_channels):
    """Splits [..., C] into ([..., :n], [..., n:])."""
    return x[..., :shifted_channels], x[..., shifted_channels:]


def concat_channels(parts):
    parts = [p for p in parts if p.shape[-1] != 0]
    return parts[0] if len(parts) == 1 else ops.concatenate(parts, axis=-1)


def fold_time(x):
    """[B, T, H, W, C] -> ([B*T, H, W, C], (B, T))."""
    shape = ops.shape(x)
    return ops.reshape(x, (-1, shape[2], shape[3], x.shape[-1])), (shape[0], shape[1])


def unfold_time(y, batch_time):
    """[B*T, H, W, C] -> [B, T, H, W, C]."""
    shape = ops.shape(y)
    return ops.reshape(y, (batch_time[0], batch_time[1], shape[1], shape[2], y.shape[-1]))


def upsample_nearest2x(x):
    """Nearest-neighbour x2 in H and W of [B, T, H, W, C] (PyTorch interpolate 'nearest')."""
    return ops.repeat(ops.repeat(x, 2, axis=2), 2, axis=3)


