"""Free-form moving video masks (Chang et al., "Free-Form Video Inpainting" / LGTSM).

Our own implementation of the mask generator described in the design notes
(`reference-training.md`, "Free-form video masks"; `reference-lgtsm.md` section 6.1), using
numpy and ``PIL.ImageDraw`` only.

Convention (the whole public API of this module): a mask video is an array ``[T, H, W]`` with
**1 = hole** (missing pixel) and 0 = known pixel. Functions return ``uint8`` arrays with values in
{0, 1}; ``to_float_masks`` converts to the model layout ``float32 [T, H, W, 1]``. Note that the
reference stores masks the other way round (hole = 0 on a background of 1); files written by
``lgtsm_tf.mask_sets`` use 255 = hole, 0 = known.

Main entry points:
  * ``moving_stroke_masks``: random strokes that move and deform smoothly over time.
  * ``box_masks``: one static square per video (the FaceForensics "test_bbox" masks).
  * ``sample_masks``: draws stroke masks from presets, rejecting until the mean hole ratio lies in
    a requested range (evaluation bins masks by hole ratio: 0-10 %, 10-20 %, ...).
  * ``hole_ratio``: fraction of hole pixels.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Mapping, Sequence, Union

import numpy as np
from PIL import Image, ImageDraw

__all__ = [
    "MaskPreset",
    "PRESETS",
    "PRESET_FRAME_SIZE",
    "frame_size_factor",
    "get_preset",
    "moving_stroke_masks",
    "box_masks",
    "hole_ratio",
    "sample_masks",
    "to_float_masks",
]

RngLike = Union[np.random.Generator, int, np.integer, None]


@dataclasses.dataclass(frozen=True)
class MaskPreset:
    """Parameters of the moving-stroke generator (one row of the preset table, section 6.1).

    All lengths are in pixels and were tuned by the reference for 320x180 frames
    (`PRESET_FRAME_SIZE`); on smaller frames the same preset covers more of the image (at 64x96
    ``object_like_small`` hides 73 % of the frame on average, at 320x240 16 %). ``scaled(f)``
    multiplies every length by ``f``; ``for_frame_size(h, w)`` scales to the frame's size
    (``f = sqrt(h * w / (180 * 320))``) so that holes cover the same fraction as at 320x180.

    Attributes:
      n_vertex_bound: (lo, hi) number of control points per stroke, drawn uniformly in [lo, hi].
      max_head_speed: upper bound of the random-walk step length between control points.
      max_head_acceleration: (speed, angle) maximum per-vertex change of the walk's step length
        (pixels) and direction (radians), each drawn uniformly in [-max, max].
      brush_width_bound: (lo, hi) stroke width in pixels, drawn uniformly in [lo, hi] and rounded
        (at least 1 pixel).
      n_move_point_ratio: fraction of the control points that jitter at each new frame.
      max_point_move: each jittering point moves by U(-max, max) pixels in x and in y.
      max_line_acceleration: (speed, angle) standard deviations times 2 of the Gaussian change of
        the stroke velocity per frame, i.e. speed += N(0, speed/2), angle += N(0, angle/2).
      border_gap: if not None, control points of the initial walk are clipped to
        [border_gap, size - border_gap]; None lets strokes start partly outside the frame.
      max_init_speed: the stroke's initial speed is |N(0, max_init_speed / 2)| pixels per frame;
        in the default (non-reference) mode it is also the cap of the evolving speed.
    """

    n_vertex_bound: tuple[int, int]
    max_head_speed: float
    max_head_acceleration: tuple[float, float]
    brush_width_bound: tuple[float, float]
    n_move_point_ratio: float
    max_point_move: float
    max_line_acceleration: tuple[float, float]
    border_gap: float | None
    max_init_speed: float

    def __post_init__(self):
        lo, hi = self.n_vertex_bound
        if int(lo) != lo or int(hi) != hi or not 1 <= lo <= hi:
            raise ValueError(f"n_vertex_bound must be integers 1 <= lo <= hi, got {self.n_vertex_bound}")
        blo, bhi = self.brush_width_bound
        if not 0 < blo <= bhi:
            raise ValueError(f"brush_width_bound must satisfy 0 < lo <= hi, got {self.brush_width_bound}")
        if not 0.0 <= self.n_move_point_ratio <= 1.0:
            raise ValueError(f"n_move_point_ratio must be in [0, 1], got {self.n_move_point_ratio}")
        for name in ("max_head_speed", "max_point_move", "max_init_speed"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        for name in ("max_head_acceleration", "max_line_acceleration"):
            value = getattr(self, name)
            if len(value) != 2 or min(value) < 0:
                raise ValueError(f"{name} must be a pair of non-negative numbers, got {value}")
        if self.border_gap is not None and self.border_gap < 0:
            raise ValueError(f"border_gap must be None or >= 0, got {self.border_gap}")

    def scaled(self, factor: float) -> "MaskPreset":
        """This preset with every length (speeds, accelerations' speed parts, brush widths,
        point moves, border gap) multiplied by ``factor`` > 0; brush widths stay >= 1 pixel.
        Vertex counts, angles and ratios are unchanged."""
        factor = float(factor)
        if not math.isfinite(factor) or factor <= 0:
            raise ValueError(f"mask scale factor must be a finite number > 0, got {factor}")
        return dataclasses.replace(
            self,
            max_head_speed=self.max_head_speed * factor,
            max_head_acceleration=(self.max_head_acceleration[0] * factor,
                                   self.max_head_acceleration[1]),
            brush_width_bound=tuple(max(1.0, b * factor) for b in self.brush_width_bound),
            max_point_move=self.max_point_move * factor,
            max_line_acceleration=(self.max_line_acceleration[0] * factor,
                                   self.max_line_acceleration[1]),
            border_gap=None if self.border_gap is None else self.border_gap * factor,
            max_init_speed=self.max_init_speed * factor)

    def for_frame_size(self, height: int, width: int) -> "MaskPreset":
        """``scaled`` to ``height x width`` frames relative to `PRESET_FRAME_SIZE`."""
        return self.scaled(frame_size_factor(height, width))


#: (height, width) the presets' pixel lengths were tuned for by the reference.
PRESET_FRAME_SIZE = (180, 320)


def frame_size_factor(height: int, width: int) -> float:
    """sqrt(height * width / (180 * 320)): the length scale of ``height x width`` frames
    relative to `PRESET_FRAME_SIZE` (1 at 180x320, 0.33 at 64x96, 1.22 at 240x320)."""
    _check_sizes(1, height, width)
    return math.sqrt(height * width / (PRESET_FRAME_SIZE[0] * PRESET_FRAME_SIZE[1]))


# The preset table of reference-lgtsm.md section 6.1 (the authors' gen_masks.py), verbatim.
PRESETS: dict[str, MaskPreset] = {
    "object_like": MaskPreset(
        n_vertex_bound=(5, 30), max_head_speed=15, max_head_acceleration=(10, 1.5),
        brush_width_bound=(20, 50), n_move_point_ratio=0.5, max_point_move=10,
        max_line_acceleration=(5, 0.5), border_gap=None, max_init_speed=10),
    "object_like_middle": MaskPreset(
        n_vertex_bound=(5, 15), max_head_speed=8, max_head_acceleration=(4, 1.5),
        brush_width_bound=(20, 50), n_move_point_ratio=0.5, max_point_move=5,
        max_line_acceleration=(5, 0.5), border_gap=None, max_init_speed=10),
    "object_like_small": MaskPreset(
        n_vertex_bound=(5, 20), max_head_speed=7, max_head_acceleration=(3.5, 1.5),
        brush_width_bound=(10, 30), n_move_point_ratio=0.5, max_point_move=5,
        max_line_acceleration=(3, 0.5), border_gap=None, max_init_speed=4),
    "rand_curve": MaskPreset(
        n_vertex_bound=(10, 30), max_head_speed=20, max_head_acceleration=(15, 0.5),
        brush_width_bound=(3, 10), n_move_point_ratio=0.5, max_point_move=3,
        max_line_acceleration=(5, 0.5), border_gap=None, max_init_speed=6),
    "rand_curve_small": MaskPreset(
        n_vertex_bound=(6, 22), max_head_speed=12, max_head_acceleration=(8, 0.5),
        brush_width_bound=(2.5, 5), n_move_point_ratio=0.5, max_point_move=1.5,
        max_line_acceleration=(3, 0.5), border_gap=None, max_init_speed=3),
}


# ---------------------------------------------------------------------------------------------
# Validation helpers


def _as_rng(rng: RngLike) -> np.random.Generator:
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or isinstance(rng, (int, np.integer)):
        return np.random.default_rng(rng)
    raise ValueError(f"rng must be a numpy Generator, an int seed or None, got {type(rng).__name__}")


def _check_sizes(num_frames, height, width):
    for name, value in (("num_frames", num_frames), ("height", height), ("width", width)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")


def get_preset(preset: Union[str, MaskPreset]) -> MaskPreset:
    """Returns ``preset`` itself or the ``PRESETS`` entry of that name (ValueError if unknown)."""
    if isinstance(preset, MaskPreset):
        return preset
    if isinstance(preset, str) and preset in PRESETS:
        return PRESETS[preset]
    raise ValueError(f"Unknown mask preset {preset!r}; known presets: {', '.join(sorted(PRESETS))}")


def _stroke_count_range(num_strokes) -> tuple[int, int]:
    if isinstance(num_strokes, (int, np.integer)) and not isinstance(num_strokes, bool):
        lo = hi = int(num_strokes)
    else:
        try:
            lo, hi = (int(v) for v in num_strokes)
        except (TypeError, ValueError):
            raise ValueError(f"num_strokes must be an int or a (lo, hi) pair, got {num_strokes!r}") from None
    if not 1 <= lo <= hi:
        raise ValueError(f"num_strokes must satisfy 1 <= lo <= hi, got {num_strokes!r}")
    return lo, hi


def _check_area_range(area_range) -> tuple[float, float]:
    try:
        lo, hi = (float(v) for v in area_range)
    except (TypeError, ValueError):
        raise ValueError(f"area_range must be a (lo, hi) pair, got {area_range!r}") from None
    if not (0.0 <= lo < hi <= 1.0):
        raise ValueError(f"area_range must satisfy 0 <= lo < hi <= 1, got {area_range!r}")
    return lo, hi


# ---------------------------------------------------------------------------------------------
# Moving strokes


def _random_walk_points(preset: MaskPreset, height: int, width: int, rng: np.random.Generator):
    """Control points [n, 2] (x, y) of one stroke: a random walk with a randomly steered head."""
    n_vertex = int(rng.integers(preset.n_vertex_bound[0], preset.n_vertex_bound[1] + 1))
    x, y = rng.uniform(0, width), rng.uniform(0, height)
    angle = rng.uniform(0.0, 2.0 * math.pi)
    speed = rng.uniform(0.0, preset.max_head_speed)
    acc_speed, acc_angle = preset.max_head_acceleration
    points = [(x, y)]
    for _ in range(n_vertex - 1):
        speed = float(np.clip(speed + rng.uniform(-acc_speed, acc_speed), 0.0, preset.max_head_speed))
        angle += rng.uniform(-acc_angle, acc_angle)
        x += speed * math.sin(angle)
        y += speed * math.cos(angle)
        if preset.border_gap is not None:
            gap = preset.border_gap
            x = float(np.clip(x, gap, width - gap))
            y = float(np.clip(y, gap, height - gap))
        points.append((x, y))
    return np.asarray(points, dtype=np.float64)


def _draw_stroke(draw: ImageDraw.ImageDraw, points: np.ndarray, brush_width: int):
    """Draws one stroke (value 1): lines of ``brush_width`` plus a filled disc at every point."""
    pts = [(int(round(px)), int(round(py))) for px, py in points]
    if len(pts) > 1:
        draw.line(pts, fill=1, width=brush_width)
    radius = max(brush_width // 2 - 1, 0)
    for px, py in pts:
        draw.ellipse((px - radius, py - radius, px + radius, py + radius), fill=1)


def moving_stroke_masks(
    num_frames: int,
    height: int,
    width: int,
    preset: Union[str, MaskPreset] = "object_like_middle",
    num_strokes: Union[int, Sequence[int]] = (1, 20),
    rng: RngLike = None,
    fixed_velocity: bool = False,
) -> np.ndarray:
    """Free-form stroke masks that move and deform over time.

    Algorithm (section 6.1, steps 1-3):
      1. The number of strokes is drawn uniformly in ``num_strokes`` (inclusive). Each stroke gets
         a brush width in ``preset.brush_width_bound`` and ``n`` control points from a random walk
         that starts uniformly in the frame with angle U(0, 2 pi) and step length
         U(0, max_head_speed); at each vertex the step length changes by
         U(+-max_head_acceleration[0]) (clipped to [0, max_head_speed]) and the angle by
         U(+-max_head_acceleration[1]). Each stroke also gets a velocity: speed
         |N(0, max_init_speed / 2)| pixels per frame, direction U(0, 2 pi).
      2. A frame is drawn from scratch: lines of the brush width through the control points plus
         filled discs of radius ``brush_width // 2 - 1`` at each point (round joints and caps).
      3. For every next frame each stroke translates by its velocity, the velocity changes by
         Gaussian noise N(0, max_line_acceleration / 2) on speed and angle, and a random subset of
         ``int(n * n_move_point_ratio)`` control points jitters by U(+-max_point_move) in x and y
         (the jitter accumulates over frames).

    Differences from the reference (deliberate, for smooth moving masks):
      * By default (``fixed_velocity=False``) the velocity update **is written back**, so the
        motion direction and speed drift smoothly; the speed is kept in [0, max_init_speed]
        (a negative speed reverses the direction), and a stroke whose centroid leaves the frame
        bounces back (its velocity component is reflected), so masks do not drift away.
        The reference computes the new velocity but does not store it: every frame uses the
        initial velocity and strokes may leave the frame. ``fixed_velocity=True`` reproduces that
        behaviour (constant velocity, no bouncing).
      * Positions are kept as floats and rounded only for drawing (the reference truncates the
        per-frame translation to integers, so strokes slower than 1 px/frame never move), and the
        jitter is continuous rather than integer.

    Args:
      num_frames, height, width: positive ints, output size.
      preset: a ``PRESETS`` name or a ``MaskPreset``.
      num_strokes: an int or an inclusive (lo, hi) range, lo >= 1.
      rng: ``np.random.Generator``, int seed (deterministic) or None (fresh entropy).
      fixed_velocity: reproduce the reference's constant per-stroke velocity (see above).

    Returns:
      ``uint8`` array ``[num_frames, height, width]`` with values in {0, 1}, 1 = hole.

    Raises:
      ValueError: non-positive sizes, unknown preset name, bad ``num_strokes``.
    """
    _check_sizes(num_frames, height, width)
    preset = get_preset(preset)
    lo, hi = _stroke_count_range(num_strokes)
    rng = _as_rng(rng)

    n_strokes = int(rng.integers(lo, hi + 1))
    strokes = []
    for _ in range(n_strokes):
        brush = max(1, int(round(rng.uniform(*preset.brush_width_bound))))
        points = _random_walk_points(preset, height, width, rng)
        speed = abs(rng.normal(0.0, preset.max_init_speed / 2.0))
        angle = rng.uniform(0.0, 2.0 * math.pi)
        strokes.append({"brush": brush, "points": points, "speed": speed, "angle": angle})

    line_acc_speed, line_acc_angle = preset.max_line_acceleration
    masks = np.zeros((num_frames, height, width), dtype=np.uint8)
    for t in range(num_frames):
        if t > 0:
            for stroke in strokes:
                points = stroke["points"]
                speed, angle = stroke["speed"], stroke["angle"]
                points += (speed * math.cos(angle), speed * math.sin(angle))
                new_speed = speed + rng.normal(0.0, line_acc_speed / 2.0)
                new_angle = angle + rng.normal(0.0, line_acc_angle / 2.0)
                if not fixed_velocity:
                    if new_speed < 0:
                        new_speed, new_angle = -new_speed, new_angle + math.pi
                    new_speed = min(new_speed, preset.max_init_speed)
                    vx, vy = new_speed * math.cos(new_angle), new_speed * math.sin(new_angle)
                    cx, cy = points.mean(axis=0)
                    if (cx < 0 and vx < 0) or (cx > width and vx > 0):
                        vx = -vx
                    if (cy < 0 and vy < 0) or (cy > height and vy > 0):
                        vy = -vy
                    stroke["speed"], stroke["angle"] = new_speed, math.atan2(vy, vx)
                n_move = int(len(points) * preset.n_move_point_ratio)
                if n_move > 0:
                    idx = rng.choice(len(points), size=n_move, replace=False)
                    points[idx] += rng.uniform(-preset.max_point_move, preset.max_point_move,
                                               size=(n_move, 2))
        image = Image.new("L", (width, height), 0)
        draw = ImageDraw.Draw(image)
        for stroke in strokes:
            _draw_stroke(draw, stroke["points"], stroke["brush"])
        masks[t] = np.asarray(image, dtype=np.uint8)
    return masks


# ---------------------------------------------------------------------------------------------
# Box masks, ratios, rejection sampling


def box_masks(
    num_frames: int,
    height: int,
    width: int,
    rng: RngLike = None,
    side_range: tuple[float, float] = (0.375, 0.5),
) -> np.ndarray:
    """One static square hole per video (the FaceForensics "test_bbox" masks).

    The side is ``round(U(side_range) * min(height, width))`` pixels (at least 1) and the square
    is placed uniformly at random fully inside the frame; the same mask is repeated on all frames.

    Args:
      num_frames, height, width: positive ints.
      rng: ``np.random.Generator``, int seed or None.
      side_range: (lo, hi) with 0 < lo <= hi <= 1, fraction of ``min(height, width)``.

    Returns:
      ``uint8`` array ``[num_frames, height, width]`` with values in {0, 1}, 1 = hole.
    """
    _check_sizes(num_frames, height, width)
    try:
        s_lo, s_hi = (float(v) for v in side_range)
    except (TypeError, ValueError):
        raise ValueError(f"side_range must be a (lo, hi) pair, got {side_range!r}") from None
    if not 0.0 < s_lo <= s_hi <= 1.0:
        raise ValueError(f"side_range must satisfy 0 < lo <= hi <= 1, got {side_range!r}")
    rng = _as_rng(rng)
    side = int(round(rng.uniform(s_lo, s_hi) * min(height, width)))
    side = min(max(side, 1), min(height, width))
    top = int(rng.integers(0, height - side + 1))
    left = int(rng.integers(0, width - side + 1))
    frame = np.zeros((height, width), dtype=np.uint8)
    frame[top:top + side, left:left + side] = 1
    return np.repeat(frame[None], num_frames, axis=0)


def hole_ratio(masks) -> float:
    """Fraction of hole pixels of a mask array of any shape (float in [0, 1]).

    A pixel is a hole if its value is > 0.5, which works for {0, 1} masks (uint8, bool, float) and
    for 8-bit {0, 255} file masks alike.
    """
    masks = np.asarray(masks)
    if masks.size == 0:
        raise ValueError("hole_ratio of an empty mask array is undefined")
    return float(np.mean(masks > 0.5))


def sample_masks(
    num_frames: int,
    height: int,
    width: int,
    rng: RngLike = None,
    presets: Union[Sequence[Union[str, MaskPreset]], Mapping[str, MaskPreset], str, MaskPreset] = tuple(PRESETS),
    area_range: tuple[float, float] = (0.0, 1.0),
    num_strokes: Union[int, Sequence[int]] = (1, 20),
    max_tries: int = 200,
) -> np.ndarray:
    """Moving stroke masks whose mean hole ratio lies in ``area_range`` (rejection sampling).

    Each try picks one preset uniformly from ``presets`` and calls ``moving_stroke_masks``; the
    first draw with ``lo <= hole_ratio <= hi`` is returned.

    Args:
      num_frames, height, width: positive ints.
      rng: ``np.random.Generator``, int seed (deterministic) or None.
      presets: preset names / ``MaskPreset``s (a single one is accepted too); default all presets.
      area_range: (lo, hi) with 0 <= lo < hi <= 1, bounds of the mean hole ratio (inclusive).
      num_strokes: as in ``moving_stroke_masks``.
      max_tries: maximum number of draws before giving up.

    Returns:
      ``uint8`` array ``[num_frames, height, width]`` with values in {0, 1}, 1 = hole.

    Raises:
      ValueError: bad sizes / presets / area range, or no draw within ``max_tries`` hit the range
        (the message says which ratios were seen).
    """
    _check_sizes(num_frames, height, width)
    lo, hi = _check_area_range(area_range)
    if isinstance(presets, (str, MaskPreset)):
        presets = [presets]
    elif isinstance(presets, Mapping):
        presets = list(presets.values())
    presets = [get_preset(p) for p in presets]
    if not presets:
        raise ValueError("presets must not be empty")
    _stroke_count_range(num_strokes)
    if isinstance(max_tries, bool) or not isinstance(max_tries, (int, np.integer)) or max_tries < 1:
        raise ValueError(f"max_tries must be a positive integer, got {max_tries!r}")
    rng = _as_rng(rng)

    seen = []
    for _ in range(max_tries):
        preset = presets[int(rng.integers(len(presets)))]
        masks = moving_stroke_masks(num_frames, height, width, preset, num_strokes, rng)
        ratio = hole_ratio(masks)
        if lo <= ratio <= hi:
            return masks
        seen.append(ratio)
    raise ValueError(
        f"No mask with mean hole ratio in [{lo:.3f}, {hi:.3f}] after {max_tries} tries at "
        f"{height}x{width} (seen ratios from {min(seen):.3f} to {max(seen):.3f}); widen area_range, "
        f"change presets / num_strokes or raise max_tries")


def to_float_masks(masks) -> np.ndarray:
    """{0, 1} (or {0, 255}) masks ``[..., H, W]`` -> ``float32 [..., H, W, 1]`` in {0, 1}, 1 = hole."""
    masks = np.asarray(masks)
    return (masks > 0.5).astype(np.float32)[..., None]
