"""Global translation between video frames with holes: estimate it, and shift frames by it.

A panning or shaking camera moves the whole picture between frames. These functions find, for
each pair of frames, the integer translation that best lines up the pixels known in both (mean
absolute difference of grey values), so that `TemporalPropagation` can copy a hole pixel from
where the scene point really is in another frame.

The search runs coarse to fine (1/8, 1/4, 1/2 and full size) and covers up to 32 pixels per
frame step on frames of 64 pixels or more on the shorter side; levels under 8 pixels are
skipped, so smaller frames are followed over fewer pixels (7 on a 32-pixel frame).

Conventions: a displacement ``d = (dy, dx)`` between a target frame and a source frame means
``target[y, x] ~ source[y + dy, x + dx]``; :func:`shift` applies it. Images are float32
``[N, H, W, C]`` (values in [0, 1]) with ``known`` ``[N, H, W, 1]`` in {0, 1}; H and W may be
dynamic. Everything is plain TensorFlow ops (slices, gathers, pooling, reductions), so it
traces once for any shape and exports to a SavedModel.
"""

import tensorflow as tf

#: Coarse-to-fine levels: the search starts at 1/COARSE of the size and refines by 2x steps.
COARSE = 8
#: Displacements searched at the coarsest level, in its pixels (so up to COARSE * this in
#: full-size pixels per frame step).
COARSE_RADIUS = 4
#: A displacement is only judged if it keeps at least this fraction of the frame in view of
#: both frames, and at least MIN_SUPPORT of the frame is known in both there.
MIN_OVERLAP = 0.5
MIN_SUPPORT = 0.1
#: A level smaller than this (pixels, either side) is too coarse to judge and is skipped.
MIN_LEVEL_SIZE = 8
#: At full size, displacements are compared on every FULL_SIZE_STRIDE-th row and column
#: (16x less work; the candidates are still every whole pixel).
FULL_SIZE_STRIDE = 4
#: Ties go to the smaller displacement: each pixel of |dy| + |dx| adds this to the cost.
TIE_BREAK = 1e-5


def grey(images):
    """float [N, H, W, 3] -> [N, H, W, 1], the mean of the channels."""
    return tf.reduce_mean(images, axis=-1, keepdims=True)


def _downsample(image, known, factor):
    """(image, known) over factor x factor blocks: a block is known if at least half of its
    pixels are, and its value is their mean (incomplete blocks at the bottom / right are
    dropped)."""
    if factor == 1:
        return image, known
    image = tf.nn.avg_pool2d(image * known, factor, factor, "VALID")
    coverage = tf.nn.avg_pool2d(known, factor, factor, "VALID")
    enough = tf.cast(coverage >= 0.5, tf.float32)
    return image / tf.maximum(coverage, 1e-6) * enough, enough


def shift(images, displacement, extra=0, stride=1):
    """(shifted, inside): ``shifted[n, y, x] = images[n, y + dy - extra, x + dx - extra]``.

    images: float [N, H, W, C]; displacement: int32 [N, 2] (dy, dx). The output is
    ``(H + 2 extra) x (W + 2 extra)`` (``extra`` > 0 gives room for static slices around the
    displacement), or with ``stride`` every stride-th row and column of it; ``inside`` float
    [N, H', W', 1] is 1 where the source pixel is in the image (elsewhere the output repeats
    the border pixel).
    """
    size = tf.shape(images)[1:3]
    rows = tf.range(0, size[0] + 2 * extra, stride)[None, :] + displacement[:, :1] - extra
    cols = tf.range(0, size[1] + 2 * extra, stride)[None, :] + displacement[:, 1:] - extra
    row_ok = tf.cast((rows >= 0) & (rows < size[0]), tf.float32)
    col_ok = tf.cast((cols >= 0) & (cols < size[1]), tf.float32)
    out = tf.gather(images, tf.clip_by_value(rows, 0, size[0] - 1), axis=1, batch_dims=1)
    out = tf.gather(out, tf.clip_by_value(cols, 0, size[1] - 1), axis=2, batch_dims=1)
    return out, (row_ok[:, :, None] * col_ok[:, None, :])[..., None]


def _cost(target, target_known, candidate, candidate_known, displacement, size, power=1):
    """Mean |target - candidate| ** power over pixels known in both, plus the tie break; +inf
    where ``displacement`` (int32 [..., 2]) leaves less than MIN_OVERLAP of a frame of ``size``
    (H, W) in view, less than MIN_SUPPORT of the compared pixels are known in both, or the
    frame is smaller than MIN_LEVEL_SIZE. Images
    [..., h, w, 1] (the frame, or every stride-th pixel of it) -> costs [...]."""
    both = target_known * candidate_known
    size = tf.cast(size, tf.float32)
    span = tf.cast(tf.abs(displacement), tf.float32)
    overlap = (tf.nn.relu(size[0] - span[..., 0]) * tf.nn.relu(size[1] - span[..., 1])
               / tf.maximum(size[0] * size[1], 1.0))
    area = tf.maximum(tf.cast(tf.reduce_prod(tf.shape(both)[-3:-1]), tf.float32), 1.0)
    support = tf.reduce_sum(both, axis=[-3, -2, -1])
    diff = tf.reduce_sum(tf.abs(target - candidate) ** power * both, axis=[-3, -2, -1])
    cost = diff / tf.maximum(support, 1.0) + TIE_BREAK * tf.reduce_sum(span, axis=-1)
    valid = ((overlap >= MIN_OVERLAP) & (support >= MIN_SUPPORT * area)
             & (tf.reduce_min(size) >= MIN_LEVEL_SIZE))
    return tf.where(valid, cost, float("inf"))


def _search(target, target_known, source, source_known, centre, radius, power=1, stride=1):
    """Best displacement within ``radius`` of ``centre`` (int32 [N, 2]) and the costs of the
    (2 radius + 1)^2 candidates, [N, 2r + 1, 2r + 1] (rows: dy, columns: dx), compared on
    every ``stride``-th row and column of the target."""
    height, width = tf.shape(target)[1], tf.shape(target)[2]
    side = 2 * radius + 1
    steps = [(dy, dx) for dy in range(-radius, radius + 1) for dx in range(-radius, radius + 1)]
    both = tf.concat([source, source_known], -1)
    if stride == 1:  # one gather, then a static slice per candidate
        window, inside = shift(both, centre, extra=radius)
        window = tf.concat([window[..., :1], window[..., 1:] * inside], -1)
        candidates = tf.stack([window[:, dy + radius:dy + radius + height,
                                      dx + radius:dx + radius + width]
                               for dy, dx in steps], axis=1)
    else:  # a small gather of the sampled pixels per candidate
        candidates = []
        for step in steps:
            sampled, inside = shift(both, centre + step, stride=stride)
            candidates.append(tf.concat([sampled[..., :1], sampled[..., 1:] * inside], -1))
        candidates = tf.stack(candidates, axis=1)
    displacement = centre[:, None] + tf.constant(steps, tf.int32)[None]
    flat = _cost(target[:, None, ::stride, ::stride], target_known[:, None, ::stride, ::stride],
                 candidates[..., :1], candidates[..., 1:], displacement,
                 tf.shape(target)[1:3], power)  # [N, side^2]
    best = tf.argmin(flat, axis=1, output_type=tf.int32)
    offset = tf.stack([best // side - radius, best % side - radius], axis=1)
    # No candidate with enough overlap: keep the centre.
    finite = tf.math.is_finite(tf.reduce_min(flat, axis=1))
    # [N, side, side] by slicing, not reshaping (an exported graph keeps no fixed-size Reshape).
    grid = tf.stack([flat[:, row * side:(row + 1) * side] for row in range(side)], axis=1)
    return centre + tf.where(finite[:, None], offset, 0), grid


def _subpixel(costs):
    """The minimum of a quadratic fitted (least squares) to [N, 3, 3] costs around the middle,
    [N, 2] (dy, dx) clipped to [-0.5, 0.5]; 0 where a cost is not finite or the quadratic has
    no minimum."""
    rows = tf.reduce_sum(costs, axis=2)  # [N, 3]: sums over dx, per dy
    cols = tf.reduce_sum(costs, axis=1)  # per dx
    gy, gx = (rows[:, 2] - rows[:, 0]) / 6.0, (cols[:, 2] - cols[:, 0]) / 6.0
    hyy = (rows[:, 2] + rows[:, 0] - 2.0 * rows[:, 1]) / 3.0
    hxx = (cols[:, 2] + cols[:, 0] - 2.0 * cols[:, 1]) / 3.0
    hxy = (costs[:, 2, 2] - costs[:, 2, 0] - costs[:, 0, 2] + costs[:, 0, 0]) / 4.0
    det = hyy * hxx - hxy * hxy
    ok = (tf.reduce_all(tf.math.is_finite(costs), axis=[1, 2])
          & (hyy > 0) & (det > 1e-12))
    safe = tf.where(ok, det, 1.0)
    dy = -(hxx * gy - hxy * gx) / safe
    dx = -(hyy * gx - hxy * gy) / safe
    offset = tf.clip_by_value(tf.stack([dy, dx], axis=1), -0.5, 0.5)
    return tf.where(ok[:, None], offset, 0.0)


def align(target, target_known, source, source_known, initial=None):
    """Integer displacement int32 [N, 2] that lines ``source`` up with ``target`` (grey
    [N, H, W, 1] with their known masks).

    Without ``initial``, a coarse-to-fine search over ``COARSE * COARSE_RADIUS`` pixels each way
    from 0 (levels 1/COARSE, ..., 1/2, 1/1, +-1 pixel at each finer level); with ``initial``
    (int32 [N, 2]) a search of +-1 pixel around it at full size (compared on every
    ``FULL_SIZE_STRIDE``-th row and column). Where no candidate leaves
    ``MIN_OVERLAP`` of the frame known in both, the start (0 or ``initial``) is kept.
    """
    if initial is None:
        factors = [COARSE // 2 ** k for k in range(COARSE.bit_length())]  # 8, 4, 2, 1
        centre, radius = tf.zeros([tf.shape(target)[0], 2], tf.int32), COARSE_RADIUS
    else:
        factors, centre, radius = [1], initial, 1
    for level, factor in enumerate(factors):
        if level:
            centre, radius = centre * 2, 1
        t, tk = _downsample(target, target_known, factor)
        s, sk = _downsample(source, source_known, factor)
        centre, costs = _search(t, tk, s, sk, centre, radius, stride=FULL_SIZE_STRIDE
                                if factor == 1 else 1)
    # No motion at all wins ties with what the search found (a coarse level can be misled,
    # e.g. by pixel noise, where the frames are in fact the same).
    sample = lambda x: x[:, ::FULL_SIZE_STRIDE, ::FULL_SIZE_STRIDE]  # noqa: E731
    still = _cost(sample(target), sample(target_known), sample(source), sample(source_known),
                  tf.zeros_like(centre), tf.shape(target)[1:3])
    wins = tf.math.is_finite(still) & (still <= tf.reduce_min(costs, axis=[1, 2]))
    return tf.where(wins[:, None], 0, centre)


def subpixel(target, target_known, source, source_known, displacement):
    """float32 [N, 2]: ``displacement`` (int32 [N, 2], e.g. from :func:`align`) plus a
    sub-pixel correction in [-0.5, 0.5] per axis: the minimum of a quadratic through the mean
    squared differences at the displacements up to one pixel away."""
    _, costs = _search(target, target_known, source, source_known, displacement, 1, power=2)
    return tf.cast(displacement, tf.float32) + _subpixel(costs)
