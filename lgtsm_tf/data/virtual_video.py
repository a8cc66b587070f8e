"""Virtual videos with moving foreground layers, rendered from photographs.

A virtual video is a photograph seen through a smoothly moving camera (the camera paths of
:mod:`lgtsm_tf.data.embedded`: :class:`~lgtsm_tf.data.embedded.CameraMotion` and
:func:`~lgtsm_tf.data.embedded.camera_path`) with one or two **foreground layers** on top: a
soft-edged cut-out (ellipse, random blob or polygon) of *another* photograph that slides along
its own smooth path, with its own velocity, slow rotation and scale change. The layers move
relative to the background, so what they (or a mask) hide in one frame is visible in others, as
in real video with independently moving objects.

Everything is drawn from one ``numpy`` generator seeded by the ``seed`` tuple of the video
(``(seed, source id, video number)`` in :mod:`lgtsm_tf.data.prepare`): the same seed gives the
same frames, pixel for pixel. Any frame can be rendered on its own
(:meth:`VirtualVideo.render`), so a :class:`VirtualVideo` can also serve directly as the
``data`` of a ``VideoSource(kind="embedded")``.

Rendering: the background frame is an affine resampling (bicubic) of the photograph after an
integer box pre-shrink, exactly as :mod:`lgtsm_tf.data.embedded` renders its photographs (same
pixels for the same path, checked by the tests; embedded's renderer is tied to the bundled
photographs by name, so :func:`render_window` is its generalisation to any image). Each layer is
a sprite (RGB + alpha, cut from the other photograph at the background's texture scale,
anti-aliased and feathered) warped into the frame by an affine transform per frame and
alpha-composited over the background.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import List, Optional, Sequence, Tuple

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from lgtsm_tf.data import embedded

__all__ = [
    "PhotoImage",
    "LayerMotion",
    "Layer",
    "VirtualVideo",
    "layer_path",
    "make_layer",
    "render_window",
]

SHAPES = ("ellipse", "blob", "polygon")
_SUPERSAMPLE = 4  # alpha masks are drawn at this factor and box-filtered down (anti-aliasing)


class PhotoImage:
    """A photograph in memory: ``uint8 [h, w, 3]`` plus cached integer box-reduced copies."""

    def __init__(self, image: np.ndarray, name: str = "photo"):
        image = np.asarray(image)
        if image.dtype != np.uint8 or image.ndim != 3 or image.shape[-1] != 3:
            raise ValueError(f"{name}: expected uint8 [h, w, 3], got {image.dtype} {image.shape}")
        self.name = name
        self.array = image
        self._reduced = {}

    @property
    def shape(self) -> Tuple[int, int]:
        return int(self.array.shape[0]), int(self.array.shape[1])

    def reduced(self, factor: int) -> Image.Image:
        """The photograph shrunk by the integer ``factor`` (box filter), as a PIL image."""
        factor = max(1, int(factor))
        if factor not in self._reduced:
            image = Image.fromarray(self.array)
            self._reduced[factor] = image.reduce(factor) if factor > 1 else image
        return self._reduced[factor]


def render_window(photo: PhotoImage, path: np.ndarray, height: int, width: int) -> np.ndarray:
    """Frames ``uint8 [n, height, width, 3]`` of ``photo`` along a camera ``path [n, 4]``.

    ``path`` rows are ``(cx, cy, window width, angle)`` in photograph pixels / radians, as made
    by :func:`lgtsm_tf.data.embedded.camera_path`. Same resampling as embedded's renderer: an
    integer box pre-shrink so the affine (bicubic) step never minifies by 2x or more.
    """
    path = np.asarray(path, np.float64).reshape(-1, 4)
    factor = max(1, int(np.min(path[:, 2]) / width)) if len(path) else 1
    image = photo.reduced(factor)
    sx = image.size[0] / photo.shape[1]
    sy = image.size[1] / photo.shape[0]
    frames = np.empty((len(path), height, width, 3), np.uint8)
    for i, (cx, cy, win_w, angle) in enumerate(path):
        scale = win_w / width  # photograph pixels per output pixel
        cos, sin = math.cos(angle) * scale, math.sin(angle) * scale
        a, b = cos * sx, -sin * sx
        d, e = sin * sy, cos * sy
        c = cx * sx - a * width / 2 - b * height / 2
        f = cy * sy - d * width / 2 - e * height / 2
        out = image.transform((width, height), Image.Transform.AFFINE, (a, b, c, d, e, f),
                              resample=Image.Resampling.BICUBIC)
        frames[i] = np.asarray(out)
    return frames


# --------------------------------------------------------------------------------------
# Foreground layers
# --------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class LayerMotion:
    """Ranges of the foreground layers' shape and motion (speeds are per frame).

    Attributes:
      size: (lo, hi) diameter of the cut-out as a fraction of the output height.
      aspect: (lo, hi) width / height of the cut-out.
      speed: (lo, hi) speed of the layer on screen as a fraction of the output width.
      min_relative_speed: the layer's velocity differs from the background's mean on-screen
        velocity by at least this fraction of the output width per frame (the direction is
        redrawn until it does), so the layer really moves over the background.
      wobble: maximum amplitude of a slow sinusoidal sway, fraction of the output width.
      wobble_period: (lo, hi) period of the sway in frames.
      angle_rate: maximum rotation speed in degrees per frame.
      scale_rate: maximum |log scale change| per frame.
      feather: (lo, hi) width of the soft edge in output pixels (Gaussian blur radius).
      texture_zoom: (lo, hi) the cut-out's texture scale, as :attr:`CameraMotion.zoom` is the
        background's (fraction of the largest window of the output aspect in the photograph).
      margin: the layer's centre stays this fraction of the frame size away from the borders.
    """

    size: Tuple[float, float] = (0.3, 0.6)
    aspect: Tuple[float, float] = (0.6, 1.7)
    speed: Tuple[float, float] = (0.006, 0.025)
    min_relative_speed: float = 0.004
    wobble: float = 0.01
    wobble_period: Tuple[float, float] = (12.0, 40.0)
    angle_rate: float = 0.8
    scale_rate: float = 0.006
    feather: Tuple[float, float] = (0.7, 2.0)
    texture_zoom: Tuple[float, float] = (0.5, 1.0)
    margin: float = 0.12


@dataclasses.dataclass(frozen=True, eq=False)
class Layer:
    """One foreground layer: a sprite and its per-frame placement.

    Attributes:
      source: name of the photograph it is cut from.
      shape: ``"ellipse"``, ``"blob"`` or ``"polygon"``.
      rgb: ``uint8 [sh, sw, 3]`` sprite texture.
      alpha: ``uint8 [sh, sw]`` soft coverage (255 = opaque).
      sprite_scale: output pixels per sprite pixel at scale 1 (the sprite is drawn at the
        largest scale the path reaches, so it is only ever shrunk).
      path: ``float64 [T, 4]``: centre ``(x, y)`` in output pixels, scale, angle (radians).
    """

    source: str
    shape: str
    rgb: np.ndarray = dataclasses.field(repr=False)
    alpha: np.ndarray = dataclasses.field(repr=False)
    sprite_scale: float
    path: np.ndarray = dataclasses.field(repr=False)

    @functools.cached_property
    def _images(self) -> Tuple[Image.Image, Image.Image]:
        return Image.fromarray(self.rgb), Image.fromarray(self.alpha)

    def warp(self, t: int, height: int, width: int) -> Tuple[np.ndarray, np.ndarray]:
        """Frame ``t``: ``(float32 [H, W, 3] rgb in 0..255, float32 [H, W] alpha in [0, 1])``."""
        x, y, scale, angle = self.path[t]
        sh, sw = self.alpha.shape
        k = 1.0 / (scale * self.sprite_scale)  # sprite pixels per output pixel
        cos, sin = math.cos(angle) * k, math.sin(angle) * k
        # Output point (u, v) -> sprite point: rotate by -angle about the centre, scale by k.
        a, b = cos, sin
        d, e = -sin, cos
        c = sw / 2 - a * x - b * y
        f = sh / 2 - d * x - e * y
        rgb_image, alpha_image = self._images
        rgb = rgb_image.transform((width, height), Image.Transform.AFFINE, (a, b, c, d, e, f),
                                  resample=Image.Resampling.BICUBIC)
        alpha = alpha_image.transform((width, height), Image.Transform.AFFINE,
                                      (a, b, c, d, e, f), resample=Image.Resampling.BILINEAR)
        return (np.asarray(rgb, np.float32),
                np.asarray(alpha, np.float32) * np.float32(1.0 / 255.0))


def _screen_velocity(camera: np.ndarray, width: int) -> np.ndarray:
    """Mean on-screen velocity ``(vx, vy)`` of the background content, output px per frame."""
    if len(camera) < 2:
        return np.zeros(2)
    step = np.diff(camera[:, :2], axis=0) / (camera[1:, 2:3] / width)
    return -np.mean(step, axis=0)  # the content moves against the camera window


def layer_path(num_frames: int, out_size: Tuple[int, int], rng: np.random.Generator,
               motion: LayerMotion = LayerMotion(),
               background_velocity: Sequence[float] = (0.0, 0.0)) -> np.ndarray:
    """A smooth on-screen path of one layer: ``float64 [T, 4]`` = ``(x, y, scale, angle)``.

    The centre drifts with a constant velocity plus a slow sway and stays inside the frame
    shrunk by ``motion.margin``; when the straight drift would leave it (long videos), the
    layer swings back and forth along the same direction (a sinusoid with the same peak
    speed), so the speed is kept instead of shrunk.
    """
    oh, ow = out_size
    t = np.arange(num_frames, dtype=np.float64)
    speed = rng.uniform(*motion.speed) * ow
    bg = np.asarray(background_velocity, np.float64)
    direction = rng.uniform(0, 2 * math.pi)
    for _ in range(16):  # redraw the direction until the layer moves over the background
        velocity = speed * np.array([math.cos(direction), math.sin(direction)])
        if np.linalg.norm(velocity - bg) >= motion.min_relative_speed * ow:
            break
        direction = rng.uniform(0, 2 * math.pi)
    wobble_amp = rng.uniform(0, motion.wobble) * ow
    wobble_period = rng.uniform(*motion.wobble_period)
    wobble_phase = rng.uniform(0, 2 * math.pi)
    wobble_dir = rng.uniform(0, 2 * math.pi)
    scale_rate = rng.uniform(-motion.scale_rate, motion.scale_rate)
    angle0 = rng.uniform(-math.pi, math.pi)
    angle_rate = math.radians(rng.uniform(-motion.angle_rate, motion.angle_rate))
    swing_phase = rng.uniform(0, 2 * math.pi)

    lo = np.array([motion.margin * ow, motion.margin * oh])
    hi = np.array([(1 - motion.margin) * ow, (1 - motion.margin) * oh])
    sway = wobble_amp * (np.sin(2 * math.pi * t / wobble_period + wobble_phase)
                         - math.sin(wobble_phase))
    sway = sway[:, None] * np.array([math.cos(wobble_dir), math.sin(wobble_dir)])
    drift = t[:, None] * velocity
    # The swing: the same peak speed, amplitude 0.45 of the room along each axis.
    extent = float(np.min((hi - lo) / np.maximum(np.abs(velocity), 1e-9))) * 0.45
    swing = np.sin(t / extent + swing_phase) - math.sin(swing_phase)  # period 2 pi extent
    candidates = [drift + sway, swing[:, None] * velocity * extent + sway]
    candidates += [0.5 ** k * (drift + sway) for k in range(2, 11)] + [0 * drift]
    for offset in candidates:
        lo_p = np.max(lo[None] - offset, axis=0)
        hi_p = np.min(hi[None] - offset, axis=0)
        if np.all(lo_p <= hi_p):
            start = np.array([rng.uniform(lo_p[i], hi_p[i]) if hi_p[i] > lo_p[i] else lo_p[i]
                              for i in range(2)])
            centre = start + offset
            scale = np.exp(scale_rate * t)
            angle = angle0 + angle_rate * t
            return np.concatenate([centre, scale[:, None], angle[:, None]], axis=1)
    raise AssertionError("unreachable: a still layer always fits")


def _outline(shape: str, rng: np.random.Generator, n: int = 96) -> np.ndarray:
    """Unit-radius star-shaped outline ``float64 [m, 2]`` (radius <= 1) of ``shape``."""
    if shape == "polygon":
        m = int(rng.integers(5, 10))
        theta = np.sort((np.arange(m) + rng.uniform(-0.35, 0.35, m)) * 2 * math.pi / m)
        radius = rng.uniform(0.6, 1.0, m)
    else:
        theta = np.arange(n) * 2 * math.pi / n
        if shape == "ellipse":
            radius = np.ones(n)
        elif shape == "blob":
            radius = np.ones(n)
            for harmonic in range(2, 6):
                radius += rng.uniform(0, 0.3 / harmonic) * np.cos(
                    harmonic * theta + rng.uniform(0, 2 * math.pi))
            radius = np.clip(radius, 0.35, None)
            radius /= radius.max()
        else:
            raise ValueError(f"unknown shape {shape!r}; known: {', '.join(SHAPES)}")
    return np.stack([radius * np.cos(theta), radius * np.sin(theta)], -1)


def make_layer(photo: PhotoImage, num_frames: int, out_size: Tuple[int, int],
               rng: np.random.Generator, motion: LayerMotion = LayerMotion(),
               background_velocity: Sequence[float] = (0.0, 0.0),
               shape: Optional[str] = None) -> Layer:
    """Cut a soft-edged region of ``photo`` and give it a path (see :class:`LayerMotion`)."""
    oh, ow = out_size
    shape = shape or SHAPES[int(rng.integers(len(SHAPES)))]
    path = layer_path(num_frames, out_size, rng, motion, background_velocity)
    diameter = rng.uniform(*motion.size) * oh
    aspect = rng.uniform(*motion.aspect)
    rx, ry = 0.5 * diameter * math.sqrt(aspect), 0.5 * diameter / math.sqrt(aspect)
    feather = rng.uniform(*motion.feather)
    outline = _outline(shape, rng)
    sprite_scale = 1.0 / float(np.max(path[:, 2]))  # sprite drawn at the largest scale
    pad = int(math.ceil(3 * feather / sprite_scale)) + 2
    sw = int(math.ceil(2 * rx / sprite_scale)) + 2 * pad
    sh = int(math.ceil(2 * ry / sprite_scale)) + 2 * pad

    # Texture: a window of the photograph at the background's scale (photo px per output px).
    ph, pw = photo.shape
    fit_w = min(pw, ph * ow / oh)
    photo_per_out = rng.uniform(*motion.texture_zoom) * fit_w / ow
    photo_per_sprite = min(photo_per_out * sprite_scale, pw / sw, ph / sh)
    win_w, win_h = sw * photo_per_sprite, sh * photo_per_sprite
    x0 = rng.uniform(0, max(pw - win_w, 0))
    y0 = rng.uniform(0, max(ph - win_h, 0))
    rgb = Image.fromarray(photo.array).resize(
        (sw, sh), Image.Resampling.BICUBIC, box=(x0, y0, x0 + win_w, y0 + win_h),
        reducing_gap=2.0)

    # Coverage: the outline drawn at 4x and box-filtered down, then feathered.
    mask = Image.new("L", (sw * _SUPERSAMPLE, sh * _SUPERSAMPLE), 0)
    points = (outline * np.array([rx, ry]) / sprite_scale + np.array([sw, sh]) / 2)
    ImageDraw.Draw(mask).polygon([tuple(p) for p in (points * _SUPERSAMPLE).tolist()], fill=255)
    mask = mask.reduce(_SUPERSAMPLE)
    mask = mask.filter(ImageFilter.GaussianBlur(feather / sprite_scale))
    return Layer(source=photo.name, shape=shape, rgb=np.asarray(rgb), alpha=np.asarray(mask),
                 sprite_scale=sprite_scale, path=path)


# --------------------------------------------------------------------------------------
# The video
# --------------------------------------------------------------------------------------


class VirtualVideo:
    """A photograph under camera motion with 1-2 moving foreground layers from other photos.

    Args:
      background: the photograph seen by the camera.
      foregrounds: photographs the layers may be cut from (must not include ``background``;
        each layer uses a different one while there are enough).
      seed: the seed tuple; with the same arguments the frames are identical.
      num_frames, height, width: the video's length and frame size.
      camera: ranges of the camera motion (:class:`lgtsm_tf.data.embedded.CameraMotion`).
      layer_motion: ranges of the layers' shape and motion.
      num_layers: ``(lo, hi)`` inclusive range of the number of layers (default 1-2; 0 layers
        when no foreground photograph is given).
    """

    def __init__(self, background: PhotoImage, foregrounds: Sequence[PhotoImage],
                 seed: Sequence[int], num_frames: int, height: int, width: int,
                 camera: embedded.CameraMotion = embedded.CameraMotion(),
                 layer_motion: LayerMotion = LayerMotion(),
                 num_layers: Tuple[int, int] = (1, 2)):
        for name, value in (("num_frames", num_frames), ("height", height), ("width", width)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if any(f is background for f in foregrounds):
            raise ValueError(f"{background.name}: the background cannot be its own foreground")
        self.background = background
        self.seed = tuple(int(s) for s in seed)
        self.num_frames, self.height, self.width = int(num_frames), int(height), int(width)
        rng = np.random.default_rng(list(self.seed))
        self.camera = embedded.camera_path(self.num_frames, background.shape,
                                           (self.height, self.width), rng, camera)
        count = int(rng.integers(num_layers[0], num_layers[1] + 1)) if foregrounds else 0
        order = rng.permutation(len(foregrounds)) if foregrounds else []
        velocity = _screen_velocity(self.camera, self.width)
        self.layers: List[Layer] = [
            make_layer(foregrounds[int(order[i % len(order)])], self.num_frames,
                       (self.height, self.width), rng, layer_motion, velocity)
            for i in range(count)]

    @property
    def foreground_sources(self) -> List[str]:
        return [layer.source for layer in self.layers]

    def render(self, indices: Optional[Sequence[int]] = None,
               return_alpha: bool = False):
        """Frames ``uint8 [n, H, W, 3]`` at ``indices`` (default: all).

        With ``return_alpha`` also returns ``float32 [n, L, H, W]``: each layer's coverage.
        """
        idx = np.arange(self.num_frames) if indices is None else np.asarray(indices, np.int64)
        if idx.size and (idx.min() < 0 or idx.max() >= self.num_frames):
            raise IndexError(f"{self.background.name}: frame index out of range "
                             f"[0, {self.num_frames}): {idx.tolist()}")
        frames = render_window(self.background, self.camera[idx], self.height, self.width)
        alphas = np.zeros((len(idx), len(self.layers), self.height, self.width), np.float32)
        if self.layers:
            for n, t in enumerate(idx):
                out = frames[n].astype(np.float32)
                for j, layer in enumerate(self.layers):
                    rgb, alpha = layer.warp(int(t), self.height, self.width)
                    out += alpha[..., None] * (rgb - out)
                    alphas[n, j] = alpha
                frames[n] = np.clip(np.rint(out), 0, 255).astype(np.uint8)
        return (frames, alphas) if return_alpha else frames
