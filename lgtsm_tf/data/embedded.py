"""Default training data that needs no download: real photographs with synthetic camera motion.

scikit-image's wheel ships a few real photographs (``skimage.data``). Each one becomes a set of
"virtual videos": a window of the photograph moves with smooth synthetic camera motion (pan,
zoom, small rotation, each a smooth function of time), rendered at the requested frame size.
Content hidden by a mask in one frame is therefore visible in neighbouring frames, which is what
a temporal inpainting model learns to use. The motion of video ``v`` of a photograph is drawn
from ``seed`` and ``v`` only, so the data is fully deterministic. Nothing is downloaded: only
images bundled inside the scikit-image wheel are used (the ones that need ``pooch`` are not).

Train and validation are split **by photograph**: validation photographs never appear in
training.

Photographs (licences as stated in scikit-image 0.26's ``skimage.data`` documentation):

==================== ========== ===== ======================================= ======================
name                 split      kind  credit                                  licence
==================== ========== ===== ======================================= ======================
astronaut            train      RGB   NASA (Eileen Collins)                   public domain
rocket               train      RGB   SpaceX (DSCOVR launch, Falcon 9)        public domain
hubble_deep_field    train      RGB   NASA, Hubble eXtreme Deep Field         public domain
immunohistochemistry train      RGB   Center for Microscopy and Mol. Imaging  no known restrictions
retina               train      RGB   Mikael Haggstrom (Wikimedia Commons)    CC0 1.0
camera               train      grey  Lav Varshney                            CC0
brick                train      grey  CC0Textures (Bricks25)                  CC0
gravel               train      grey  CC0Textures (Gravel04)                  CC0
clock                train      grey  Stefan van der Walt                     public domain
coins                train      grey  Brooklyn Museum (coins from Pompeii)    no known restrictions
cell                 train      grey  Paul Muller et al. (phase image)        CC0
chelsea              validation RGB   Stefan van der Walt (Chelsea the cat)   CC0
coffee               validation RGB   Rachel Michetti (Pikolo Espresso Bar)   CC0
grass                validation grey  linolafett (DeviantArt)                 CC0
==================== ========== ===== ======================================= ======================

The full credit and licence of each photograph is in :data:`PHOTOS` (from the scikit-image
docstrings; "public domain" for NASA and SpaceX images as released by them).
Left out on purpose: ``moon``, ``page`` (no licence stated), ``motorcycle_left/right``
(Middlebury stereo images, no licence stated), synthetic images (``colorwheel``,
``checkerboard``, ``logo``, ``horse``, ``text``), ``microaneurysms`` (102 px) and every dataset
that ``skimage.data`` would download with ``pooch``. Grey photographs are replicated to RGB.

Typical use::

    from lgtsm_tf.data import embedded, pipeline
    train = pipeline.build_dataset(embedded.embedded_sources("train", height=180, width=320),
                                   clip_length=7, height=180, width=320, batch_size=5, seed=0)
    clips = embedded.embedded_clips("validation", num_frames=8, height=64, width=64, seed=0)
"""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from lgtsm_tf.data import sources as sources_lib

__all__ = [
    "Photo",
    "PHOTOS",
    "SPLITS",
    "photo_names",
    "load_photo",
    "CameraMotion",
    "camera_path",
    "EmbeddedVideo",
    "embedded_sources",
    "embedded_clips",
]


@dataclasses.dataclass(frozen=True)
class Photo:
    """One bundled photograph: ``skimage.data.<loader>()``, its split, credit and licence."""

    loader: str
    split: str
    credit: str
    licence: str


PHOTOS: Dict[str, Photo] = {
    "astronaut": Photo("astronaut", "train", "NASA (Eileen Collins), NASA Great Images",
                       "public domain (no known copyright restrictions)"),
    "rocket": Photo("rocket", "train", "SpaceX (DSCOVR launch on Falcon 9)",
                    "public domain (released by SpaceX)"),
    "hubble_deep_field": Photo("hubble_deep_field", "train", "NASA, Hubble eXtreme Deep Field",
                               "public domain (NASA media guidelines)"),
    "immunohistochemistry": Photo("immunohistochemistry", "train",
                                  "Center for Microscopy and Molecular Imaging",
                                  "no known copyright restrictions"),
    "retina": Photo("retina", "train", "Mikael Haggstrom, via Wikimedia Commons", "CC0 1.0"),
    "camera": Photo("camera", "train", "Lav Varshney", "CC0"),
    "brick": Photo("brick", "train", "CC0Textures (Bricks25)", "CC0"),
    "gravel": Photo("gravel", "train", "CC0Textures (Gravel04)", "CC0"),
    "clock": Photo("clock", "train", "Stefan van der Walt", "public domain"),
    "coins": Photo("coins", "train", "Brooklyn Museum (Greek coins from Pompeii)",
                   "no known copyright restrictions"),
    "cell": Photo("cell", "train", "Paul Muller et al. (quantitative phase image)", "CC0"),
    "chelsea": Photo("chelsea", "validation", "Stefan van der Walt (Chelsea the cat)", "CC0"),
    "coffee": Photo("coffee", "validation", "Rachel Michetti (Pikolo Espresso Bar)", "CC0"),
    "grass": Photo("grass", "validation", "linolafett on DeviantArt", "CC0"),
}

SPLITS = ("train", "validation")


def photo_names(split: str) -> List[str]:
    """Names of the photographs of ``split`` (``"train"`` or ``"validation"``), table order."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    return [name for name, photo in PHOTOS.items() if photo.split == split]


@functools.lru_cache(maxsize=None)
def _load_photo_cached(name: str) -> np.ndarray:
    try:
        import skimage.data  # pylint: disable=import-outside-toplevel
    except ImportError as e:
        raise ImportError(
            "the embedded dataset needs scikit-image (pip install scikit-image==0.26.0)") from e
    try:
        image = np.asarray(getattr(skimage.data, PHOTOS[name].loader)())
    except Exception as e:  # a broken installation; never falls back to a download
        raise RuntimeError(f"skimage.data.{PHOTOS[name].loader}: cannot load the bundled "
                           f"photograph {name!r}: {type(e).__name__}: {e}") from e
    if image.dtype != np.uint8:
        raise RuntimeError(f"skimage.data.{name}: expected uint8, got {image.dtype}")
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=-1)
    image = np.ascontiguousarray(image[..., :3])
    image.setflags(write=False)
    return image


def load_photo(name: str) -> np.ndarray:
    """The photograph ``name`` as read-only ``uint8 [h, w, 3]`` (grey replicated to RGB)."""
    if name not in PHOTOS:
        raise ValueError(f"unknown photograph {name!r}; known: {', '.join(PHOTOS)}")
    return _load_photo_cached(name)


@functools.lru_cache(maxsize=None)
def _photo_image(name: str):
    """The bundled photograph ``name`` as a `virtual_video.PhotoImage` (cached reductions)."""
    from lgtsm_tf.data import virtual_video  # pylint: disable=import-outside-toplevel

    return virtual_video.PhotoImage(load_photo(name), name)


# --------------------------------------------------------------------------------------
# Camera motion
# --------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class CameraMotion:
    """Ranges of the synthetic camera motion (speeds are per frame).

    Attributes:
      zoom: (lo, hi) initial window size as a fraction of the largest window of the output's
        aspect ratio that fits in the photograph (smaller = more zoomed in).
      speed: (lo, hi) pan speed as a fraction of the output width per frame.
      wobble: maximum amplitude of a slow sinusoidal sway added to the pan, fraction of width.
      wobble_period: (lo, hi) period of the sway in frames.
      zoom_rate: maximum |log zoom change| per frame.
      angle: maximum initial rotation in degrees.
      angle_rate: maximum rotation speed in degrees per frame.
    """

    zoom: Tuple[float, float] = (0.5, 0.8)
    speed: Tuple[float, float] = (0.004, 0.025)
    wobble: float = 0.01
    wobble_period: Tuple[float, float] = (12.0, 40.0)
    zoom_rate: float = 0.008
    angle: float = 3.0
    angle_rate: float = 0.15


#: A camera on a tripod: no pan, sway, zoom or rotation change (a fixed initial rotation and
#: zoom are still drawn). Moving foreground layers are then the only motion, as in OpenCV's
#: box/cup/tree clips; what a moving mask hides is at the same place in other frames.
STILL_CAMERA = CameraMotion(speed=(0.0, 0.0), wobble=0.0, zoom_rate=0.0, angle_rate=0.0)


def camera_path(
    num_frames: int,
    photo_size: Tuple[int, int],
    out_size: Tuple[int, int],
    rng: np.random.Generator,
    motion: CameraMotion = CameraMotion(),
) -> np.ndarray:
    """A smooth camera path over a photograph.

    Args:
      num_frames: T.
      photo_size: ``(h, w)`` of the photograph.
      out_size: ``(H, W)`` of the rendered frames.
      rng: random generator.
      motion: ranges of the motion.

    Returns:
      ``float64 [T, 4]``: per frame the window centre ``(cx, cy)`` in photograph pixels, the
      window width in photograph pixels and the rotation in radians. The (rotated) window stays
      inside the photograph on every frame.
    """
    ph, pw = photo_size
    oh, ow = out_size
    fit_w = min(pw, ph * ow / oh)  # largest window of the output aspect ratio in the photo
    zoom0 = rng.uniform(*motion.zoom)
    speed = rng.uniform(*motion.speed) * ow
    direction = rng.uniform(0, 2 * math.pi)
    wobble_amp = rng.uniform(0, motion.wobble) * ow
    wobble_period = rng.uniform(*motion.wobble_period)
    wobble_phase = rng.uniform(0, 2 * math.pi)
    wobble_dir = rng.uniform(0, 2 * math.pi)
    zoom_rate = rng.uniform(-motion.zoom_rate, motion.zoom_rate)
    angle0 = math.radians(rng.uniform(-motion.angle, motion.angle))
    angle_rate = math.radians(rng.uniform(-motion.angle_rate, motion.angle_rate))
    t = np.arange(num_frames, dtype=np.float64)

    for attempt in range(12):
        k = 0.5 ** attempt if attempt < 11 else 0.0  # shrink the motion until the path fits
        width = zoom0 * fit_w * np.exp(k * zoom_rate * t)
        width = np.minimum(width, 0.85 * fit_w)
        angle = (angle0 + angle_rate * t) * k
        # Pan in output pixels, converted to photograph pixels with the current window scale.
        sway = wobble_amp * (np.sin(2 * math.pi * t / wobble_period + wobble_phase)
                             - math.sin(wobble_phase))
        step = k * (speed * np.stack([np.cos(direction) * np.ones_like(t),
                                      np.sin(direction) * np.ones_like(t)], -1))
        out_offset = np.cumsum(step, axis=0) - step[0]
        out_offset = out_offset + k * sway[:, None] * np.array([math.cos(wobble_dir),
                                                               math.sin(wobble_dir)])
        offset = out_offset * (width / ow)[:, None]
        win_h = width * oh / ow
        cos, sin = np.abs(np.cos(angle)), np.abs(np.sin(angle))
        half_x = 0.5 * (width * cos + win_h * sin)
        half_y = 0.5 * (width * sin + win_h * cos)
        lo_x, hi_x = np.max(half_x - offset[:, 0]), np.min(pw - half_x - offset[:, 0])
        lo_y, hi_y = np.max(half_y - offset[:, 1]), np.min(ph - half_y - offset[:, 1])
        if lo_x <= hi_x and lo_y <= hi_y:
            cx = rng.uniform(lo_x, hi_x) if hi_x > lo_x else lo_x
            cy = rng.uniform(lo_y, hi_y) if hi_y > lo_y else lo_y
            return np.stack([cx + offset[:, 0], cy + offset[:, 1], width, angle], -1)
    raise AssertionError("unreachable: a still window of <= 0.85 of the fit always fits")


def _render(name: str, path: np.ndarray, height: int, width: int) -> np.ndarray:
    """Render frames ``[n, height, width, 3]`` of photograph ``name`` along ``path [n, 4]``
    (`lgtsm_tf.data.virtual_video.render_window`)."""
    from lgtsm_tf.data import virtual_video  # pylint: disable=import-outside-toplevel

    return virtual_video.render_window(_photo_image(name), path, height, width)


@dataclasses.dataclass(frozen=True, eq=False)
class EmbeddedVideo:
    """A virtual video: photograph ``photo`` seen along a seeded camera path.

    ``render(indices)`` returns ``uint8 [len(indices), height, width, 3]``; any frame can be
    rendered on its own, so clip sampling with strides costs only the frames it uses.
    """

    photo: str
    seed: Tuple[int, ...]
    num_frames: int
    height: int
    width: int
    motion: CameraMotion = CameraMotion()

    @functools.cached_property
    def path(self) -> np.ndarray:
        rng = np.random.default_rng(list(self.seed))
        return camera_path(self.num_frames, load_photo(self.photo).shape[:2],
                           (self.height, self.width), rng, self.motion)

    def render(self, indices: Optional[Sequence[int]] = None) -> np.ndarray:
        idx = np.arange(self.num_frames) if indices is None else np.asarray(indices, np.int64)
        if idx.size and (idx.min() < 0 or idx.max() >= self.num_frames):
            raise IndexError(f"embedded:{self.photo}: frame index out of range "
                             f"[0, {self.num_frames}): {idx.tolist()}")
        return _render(self.photo, self.path[idx], self.height, self.width)


def _check_positive(**values):
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")


def embedded_sources(
    split: str = "train",
    *,
    videos_per_photo: int = 8,
    num_frames: int = 32,
    height: int = 180,
    width: int = 320,
    seed: int = 0,
    photos: Optional[Sequence[str]] = None,
    motion: CameraMotion = CameraMotion(),
) -> List[sources_lib.VideoSource]:
    """Virtual videos of the bundled photographs, as ``VideoSource(kind="embedded")`` records.

    Frames are rendered on demand (only the photographs are held in memory), at
    ``height x width`` (pass the training size; the pipeline's augmentation then crops/flips).

    Args:
      split: ``"train"`` or ``"validation"`` (disjoint photographs).
      videos_per_photo: virtual videos per photograph, each with its own camera path.
      num_frames: frames per virtual video.
      height, width: rendered frame size.
      seed: the camera paths depend only on ``(seed, photograph, video number)``.
      photos: a subset of ``photo_names(split)`` (default: all of them).
      motion: ranges of the camera motion.

    Returns:
      ``list[VideoSource]`` named ``"<photo>/<video number>"``, ``path`` ``"embedded:<name>"``.
    """
    _check_positive(videos_per_photo=videos_per_photo, num_frames=num_frames, height=height,
                    width=width)
    names = photo_names(split)
    if photos is not None:
        unknown = [p for p in photos if p not in names]
        if unknown:
            raise ValueError(f"photograph(s) {unknown} are not in the {split!r} split "
                             f"({', '.join(names)})")
        names = list(photos)
    out = []
    for name in names:
        photo_id = list(PHOTOS).index(name)
        for v in range(videos_per_photo):
            video = EmbeddedVideo(name, (int(seed), photo_id, v), num_frames, height, width, motion)
            out.append(sources_lib.VideoSource(
                path=f"embedded:{name}/{v:03d}", kind="embedded", num_frames=num_frames,
                size=(height, width), name=f"{name}/{v:03d}", data=video))
    return out


def embedded_clips(
    split: str = "train",
    num_frames: int = 8,
    height: int = 64,
    width: int = 64,
    seed: int = 0,
    *,
    clips_per_photo: int = 1,
    photos: Optional[Sequence[str]] = None,
    motion: CameraMotion = CameraMotion(),
) -> List[np.ndarray]:
    """Rendered clips: ``list`` of ``uint8 [num_frames, height, width, 3]`` arrays.

    One clip per (photograph, clip number) of ``split``, in table order; the same arguments give
    the same arrays (the clips are the videos of :func:`embedded_sources` with the same seed).
    """
    sources = embedded_sources(split, videos_per_photo=clips_per_photo, num_frames=num_frames,
                               height=height, width=width, seed=seed, photos=photos,
                               motion=motion)
    return [s.data.render() for s in sources]
