"""TemporalPropagation: fills hole pixels by copying them from nearby frames where they are known.

Flow-guided video inpainting (FGVC, E2FGVI, ProPainter) first propagates known pixels into the
holes of other frames and leaves the network only what no frame shows. This layer does the
zero-motion version of that step, which is exact on a still camera: a hole pixel takes the
colour of the same pixel in the nearest frame (at most `reach` frames away; ties: the earlier
frame) where it is known, and stays a hole for the network otherwise.

Copying is only right where the two frames show the same scene at that place, so every copy is
checked: over the pixels known in both frames within a `patch` x `patch` box around the hole
pixel, the mean absolute difference (over RGB, values in [0, 1]) must be below `tolerance`.
The check runs on cells of `CELL` x `CELL` pixels (a pixel gets its cell's answer; the box is
the cells within `patch // 2` pixels, rounded up to whole cells).
Where the box holds fewer than `min_support` (a fraction of the box) such pixels (deep inside a
large hole), the same test runs over the whole frame pair instead. A panning camera or a moving
object makes the frames differ there, so the pixel is left to the network rather than copied
from the wrong place.

With ``motion="translation"`` (the default) a moving camera is followed: the global translation
between each pair of neighbouring frames is estimated from the pixels known in both
(:mod:`lgtsm_tf.ops.translation`, coarse to fine, up to 32 pixels per frame, sub-pixel), summed
along the clip, rounded and refined to the pixel for each target/source pair, and the source
frame is shifted by it before the check and the copy. On a still camera the translation is 0
and the copies are the zero-motion ones, bit for bit. Zoom, rotation and parallax are not
modelled: where they make the shifted frames disagree, the check leaves the pixel to the
network. ``motion="none"`` copies from the same pixel position only.
"""

import keras
import tensorflow as tf

from lgtsm_tf.ops import translation

MOTIONS = ("translation", "none")


def _pad_time(x, frames):
    """x [B, T, ...] with `frames` zero frames added before and after along T."""
    pad = tf.zeros(tf.concat([tf.shape(x)[:1], [frames], tf.shape(x)[2:]], 0), x.dtype)
    return tf.concat([pad, x, pad], axis=1)


#: The agreement check works on cells of CELL x CELL pixels (4: 16x less work than per pixel).
CELL = 4


def _box_mean(x, size):
    """Mean of x [N, H, W, 1] over a size x size box around each pixel (over the pixels inside
    the frame), as two 1-D passes."""
    x = tf.nn.avg_pool2d(x, [size, 1], 1, "SAME")
    return tf.nn.avg_pool2d(x, [1, size], 1, "SAME")


def _to_pixels(cells, height, width):
    """[N, ceil(H / CELL), ceil(W / CELL), 1] cell values -> [N, H, W, 1] (each pixel its
    cell's)."""
    pixels = tf.repeat(tf.repeat(cells, CELL, axis=1), CELL, axis=2)
    return pixels[:, :height, :width]


def _frames(x):
    """[B, T, H, W, C] -> [B * T, H, W, C]."""
    return tf.reshape(x, tf.concat([[-1], tf.shape(x)[2:]], 0))


def _camera_positions(grey, known):
    """float32 [B, T, 2]: where each frame's content sits relative to frame 0 (the summed
    sub-pixel translations between neighbouring frames, from grey [B, T, H, W, 1] frames):
    frame t at (y, x) shows what frame s shows at (y, x) + positions[s] - positions[t]."""
    shape = tf.shape(grey)
    pair = lambda x: (_frames(x[:, :-1]), _frames(x[:, 1:]))  # noqa: E731
    (target, source), (target_known, source_known) = pair(grey), pair(known)
    step = translation.align(target, target_known, source, source_known)
    step = translation.subpixel(target, target_known, source, source_known, step)
    step = tf.reshape(step, [shape[0], shape[1] - 1, 2])
    return tf.concat([tf.zeros([shape[0], 1, 2]), tf.cumsum(step, axis=1)], axis=1)


def _follow_camera(target_grey, target_known, source, source_grey, source_known, displacement):
    """(source, source_known) [B, T, H, W, C] shifted onto the targets (grey [B * T, H, W, 1]
    and known [B * T, H, W, 1]): by ``displacement`` (float [B, T, 2], from the camera
    positions) rounded and refined to the pixel."""
    shape = tf.shape(source)
    start = tf.cast(tf.round(tf.reshape(displacement, [-1, 2])), tf.int32)
    known = _frames(source_known)
    exact = translation.align(target_grey, target_known, _frames(source_grey), known, start)
    moved, inside = translation.shift(tf.concat([_frames(source), known], -1), exact)
    moved = tf.reshape(moved, tf.concat([shape[:4], [4]], 0))
    inside = tf.reshape(inside, tf.concat([shape[:4], [1]], 0))
    return moved[..., :3], moved[..., 3:] * inside


@keras.saving.register_keras_serializable(package="lgtsm_tf")
class TemporalPropagation(keras.layers.Layer):
    """[frames, masks] -> [propagated frames, remaining masks], same shapes.

    frames: float [B, T, H, W, 3] in [0, 1]; masks: float [B, T, H, W, 1], hole where > 0.5
    (1 = hole). The output frames are the input's at known pixels, the copied colour at
    propagated hole pixels and 0 at the remaining holes; the output masks are 1 exactly at the
    remaining holes (float 0/1). Runs in float32 whatever the global policy, so copies are
    exact. B, T, H and W may be dynamic.

    Args:
      reach: frames searched on each side (>= 1).
      patch: side of the box for the agreement check, pixels (odd, >= 1).
      tolerance: largest mean absolute RGB difference in the box for a copy (> 0; `inf`
        disables the check).
      min_support: fraction of the box that must be known in both frames for the local check;
        below it the whole-frame check decides (in [0, 1]).
      motion: ``"translation"`` (follow a moving camera, see the module docstring) or
        ``"none"`` (copy from the same pixel position).
    """

    def __init__(self, reach=8, patch=31, tolerance=0.04, min_support=0.1,
                 motion="translation", **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        if int(reach) != reach or reach < 1:
            raise ValueError(f"reach must be an integer >= 1, got {reach!r}")
        if int(patch) != patch or patch < 1 or patch % 2 == 0:
            raise ValueError(f"patch must be an odd integer >= 1, got {patch!r}")
        if not tolerance > 0:
            raise ValueError(f"tolerance must be > 0, got {tolerance!r}")
        if not 0 <= min_support <= 1:
            raise ValueError(f"min_support must be in [0, 1], got {min_support!r}")
        if motion not in MOTIONS:
            raise ValueError(f"motion must be one of {MOTIONS}, got {motion!r}")
        self.motion = motion
        self.reach = int(reach)
        self.patch = int(patch)
        self.tolerance = float(tolerance)
        self.min_support = float(min_support)

    def _agrees(self, frames, known, source, source_known):
        """float [B, T, H, W, 1]: 1 where frame t and its source agree around the pixel."""
        both = known * source_known
        if self.tolerance == float("inf"):  # no check
            return tf.ones_like(both)
        diff = tf.reduce_mean(tf.abs(frames - source), axis=-1, keepdims=True) * both
        shape = tf.shape(both)

        def cells(x):  # [B, T, H, W, 1] -> per-cell means [B * T, H / CELL, W / CELL, 1]
            return tf.nn.avg_pool2d(_frames(x), CELL, CELL, "SAME")

        # Cells within patch // 2 pixels of the pixel's cell, rounded up: a box at least as
        # large as the patch.
        size = 2 * (-(-(self.patch // 2) // CELL)) + 1
        support = _box_mean(cells(both), size)
        local = _box_mean(cells(diff), size) / tf.maximum(support, 1e-12)
        whole = tf.reduce_sum(diff, axis=[2, 3], keepdims=True) / tf.maximum(
            tf.reduce_sum(both, axis=[2, 3], keepdims=True), 1.0)
        whole = tf.reshape(whole, [-1, 1, 1, 1])
        use_local = support >= max(self.min_support, 1e-6)
        agree = tf.cast(tf.where(use_local, local, whole) < self.tolerance, tf.float32)
        return tf.reshape(_to_pixels(agree, shape[2], shape[3]), shape)

    def call(self, inputs, start=None, stop=None):
        """`start`, `stop` (ints or int32 scalars, default 0 and T): fill only frames
        [start, stop) of the clip, from all of its frames; the outputs then have stop - start
        frames. The inpainter gives each window frames of context on both sides this way."""
        frames, masks = inputs
        frames = tf.cast(frames, tf.float32)
        known = tf.cast(tf.cast(masks, tf.float32) <= 0.5, tf.float32)
        start = 0 if start is None else start
        stop = tf.shape(frames)[1] if stop is None else stop
        target, target_known = frames[:, start:stop], known[:, start:stop]
        # Source frame t - offset of target frame t is padded frame t - offset + reach.
        padded, padded_known = _pad_time(frames, self.reach), _pad_time(known, self.reach)
        if self.motion == "translation":
            grey = translation.grey(frames)
            positions = _pad_time(_camera_positions(grey, known), self.reach)
            target_positions = positions[:, start + self.reach:stop + self.reach]
            target_grey, target_flat_known = _frames(grey[:, start:stop]), _frames(target_known)
            padded_grey = _pad_time(grey, self.reach)
        # The earlier frame first: offsets 1, -1, 2, -2, ..., reach, -reach, in a graph loop
        # (one copy of the body in the graph, whatever the reach).
        offsets = tf.constant([o for d in range(1, self.reach + 1) for o in (d, -d)], tf.int32)

        def copy_from(k, out, remaining):
            first = start - offsets[k] + self.reach
            last = stop - offsets[k] + self.reach
            source, source_known = padded[:, first:last], padded_known[:, first:last]
            if self.motion == "translation":
                source, source_known = _follow_camera(
                    target_grey, target_flat_known, source, padded_grey[:, first:last],
                    source_known, positions[:, first:last] - target_positions)
            take = remaining * source_known * self._agrees(target, target_known, source,
                                                           source_known)
            return k + 1, out + take * source, remaining - take

        _, out, remaining = tf.while_loop(  # until every hole is filled or all were tried
            lambda k, _, remaining: (k < 2 * self.reach) & tf.reduce_any(remaining > 0),
            copy_from,
            (tf.constant(0), target * target_known, 1.0 - target_known))
        return [out, remaining]

    def compute_output_shape(self, input_shape, start=None, stop=None):
        shapes = [tuple(shape) for shape in input_shape]
        if start is not None or stop is not None:  # T is stop - start
            shapes = [(shape[0], None, *shape[2:]) for shape in shapes]
        return shapes

    def get_config(self):
        return {**super().get_config(), "reach": self.reach, "patch": self.patch,
                "tolerance": self.tolerance, "min_support": self.min_support,
                "motion": self.motion}
