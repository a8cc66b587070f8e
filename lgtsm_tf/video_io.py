"""File I/O for videos, frame folders and masks (numpy + Pillow + PyAV; no TensorFlow).

Conventions used throughout this module:

* A **frame** is a ``uint8`` numpy array of shape ``[H, W, 3]``, RGB, values 0..255.
  A stack of frames is ``uint8 [T, H, W, 3]``.
* A **mask** is a ``uint8`` numpy array of shape ``[H, W]`` with values in ``{0, 1}``,
  where **1 = hole** (the region to inpaint) and 0 = valid. A stack is ``uint8 [T, H, W]``.
  On disk any nonzero pixel is a hole (see :func:`read_mask` for the exact rule per image
  mode, and :func:`open_masks` for mask videos, which use a ``> 127`` threshold).
* Frame rates are :class:`fractions.Fraction` (e.g. ``Fraction(25, 2)`` for 12.5 fps) when
  they come from a container, or ``None`` for frame folders / single images unless the caller
  supplied one.

Images are decoded **by content, not by extension** (Pillow sniffs the format), so a PNG
saved as ``00001.jpg`` reads correctly. Every error raised here names the offending file.

Readers are streaming: :class:`VideoReader` and :class:`MaskReader` decode one frame at a
time, so memory does not grow with video length. :func:`read_video` / :func:`read_masks`
load everything into one array for convenience.

Writers (:class:`VideoWriter`, :class:`FrameFolderWriter`) write to a hidden temporary name
next to the destination (``.<name>.partial-<8 hex digits>[.ext]``) and rename it into place
only when closed successfully; an exception inside the ``with`` block (or :meth:`abort`)
removes the temporary, so failures never leave partial output. A process killed outright
(SIGKILL, power loss) cannot clean up: the next writer of the same destination deletes the
temporaries matching that destination's pattern (:mod:`lgtsm_tf.atomic`). Both refuse to
replace existing output unless ``overwrite=True``, and check up front that the destination's
folder exists and is writable (:func:`check_output_path`), naming the path.

Frame counts are what decodes (:func:`count_frames`, :attr:`VideoReader.num_frames`), never a
container header's claim, which is kept as :attr:`VideoReader.estimated_frames` for progress
bars only.
"""

from __future__ import annotations

import errno
import math
import os
import re
import tempfile
import threading
import warnings
from fractions import Fraction
from typing import Iterable, Optional, Tuple, Union

import numpy as np
from PIL import Image

from lgtsm_tf import atomic

import av
from av.video.reformatter import ColorRange, Colorspace, Interpolation

PathLike = Union[str, "os.PathLike[str]"]
FrameRate = Union[Fraction, int, float]

__all__ = [
    "IMAGE_EXTENSIONS",
    "natural_sort_key",
    "list_frame_files",
    "read_image",
    "read_mask",
    "count_frames",
    "VideoReader",
    "open_video",
    "read_video",
    "MaskReader",
    "open_masks",
    "read_masks",
    "VideoWriter",
    "FrameFolderWriter",
    "write_video",
    "write_frame_folder",
    "check_output_path",
]

#: File extensions (lower case) listed as frames/masks in a folder. Content decides decoding.
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".webp")

#: Container extensions :class:`VideoWriter` accepts, mapped to the FFmpeg muxer name.
_VIDEO_MUXERS = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska"}

# swscale flags for YUV <-> RGB: full chroma interpolation and accurate rounding. The
# swscale default (bilinear, nearest-neighbour chroma upsampling on the fast path) costs
# ~10 dB PSNR on a yuv420p round trip of smooth content (35.5 dB -> 48 dB measured on a
# 48x64 synthetic clip, conversion only). Exact for RGB-family formats (gbrp -> rgb24).
_SWS_FLAGS = (
    Interpolation.BICUBIC
    | Interpolation.FULL_CHR_H_INT
    | Interpolation.FULL_CHR_H_INP
    | Interpolation.ACCURATE_RND
)

# Default threshold for binarising mask *videos* (lossy codecs add noise around 0 and 255).
DEFAULT_VIDEO_MASK_THRESHOLD = 127


# --------------------------------------------------------------------------------------
# Paths and folders
# --------------------------------------------------------------------------------------

_DIGITS = re.compile(r"(\d+)")


def natural_sort_key(path: PathLike) -> tuple:
    """Sort key ordering embedded numbers numerically: ``frame2.png`` < ``frame10.png``.

    The key is built from the whole path string (so it also orders paths across folders);
    text parts compare case-insensitively, and the raw string breaks ties (``frame01`` vs
    ``frame1``) so the order is total and deterministic.
    """
    text = os.fspath(path)
    parts = _DIGITS.split(text)  # text, digits, text, digits, ..., text
    key = tuple(int(p) if i % 2 else p.casefold() for i, p in enumerate(parts))
    return (key, text)


def list_frame_files(folder: PathLike) -> list:
    """Return the image files in ``folder`` (JPEG/PNG/BMP/WebP by extension), naturally sorted.

    Hidden files (names starting with ``.``, e.g. macOS ``._00001.jpg`` resource forks) and
    sub-directories are skipped. Returns a list of ``str`` paths.

    Raises:
      FileNotFoundError: ``folder`` does not exist.
      NotADirectoryError: ``folder`` is not a directory.
      ValueError: the folder contains no image files.
    """
    folder = os.fspath(folder)
    if not os.path.exists(folder):
        raise FileNotFoundError(f"{folder}: no such directory")
    if not os.path.isdir(folder):
        raise NotADirectoryError(f"{folder}: not a directory")
    files = []
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.name.startswith("."):
                continue
            if os.path.splitext(entry.name)[1].lower() not in IMAGE_EXTENSIONS:
                continue
            if entry.is_file():
                files.append(entry.path)
    if not files:
        raise ValueError(
            f"{folder}: no image files ({'/'.join(e[1:] for e in IMAGE_EXTENSIONS)}) in folder"
        )
    files.sort(key=natural_sort_key)
    return files


def _check_exists(path: str) -> None:
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: no such file or directory")


# --------------------------------------------------------------------------------------
# Single images and masks
# --------------------------------------------------------------------------------------


def _open_image(path: str) -> Image.Image:
    """Open and fully decode an image with Pillow (content sniffing), or raise ValueError."""
    _check_exists(path)
    if os.path.isdir(path):
        raise IsADirectoryError(f"{path}: is a directory, not an image file")
    try:
        with Image.open(path) as img:
            img.load()  # Pillow is lazy: force decoding so truncation errors surface here.
    except (MemoryError, KeyboardInterrupt):
        raise
    except Exception as e:  # UnidentifiedImageError, OSError (truncated), SyntaxError, ...
        raise ValueError(f"{path}: cannot decode image: {type(e).__name__}: {e}") from e
    return img


def _high_bit_depth_to_uint8(arr: np.ndarray) -> np.ndarray:
    """Map 16/32-bit integer or float grey pixel values to uint8 (16-bit: keep the top byte)."""
    if arr.dtype == np.uint8:
        return arr
    if np.issubdtype(arr.dtype, np.floating):
        return np.clip(np.rint(arr), 0, 255).astype(np.uint8)
    arr = arr.astype(np.int64)
    if arr.size and arr.max() > 255:
        arr = arr >> 8
    return np.clip(arr, 0, 255).astype(np.uint8)


def _image_to_rgb(img: Image.Image) -> np.ndarray:
    mode = img.mode
    if mode == "RGB":
        rgb = np.asarray(img, dtype=np.uint8)
    elif mode.startswith("I") or mode == "F":  # 16-bit / 32-bit grey
        grey = _high_bit_depth_to_uint8(np.asarray(img))
        rgb = np.repeat(grey[..., None], 3, axis=-1)
    else:
        if mode in ("P", "PA"):
            # Palette with transparency: go via RGBA (Pillow warns otherwise); alpha is dropped.
            img = img.convert("RGBA")
        rgb = np.asarray(img.convert("RGB"), dtype=np.uint8)  # L, LA, RGBA, CMYK, YCbCr, 1...
    return np.ascontiguousarray(rgb)


def read_image(path: PathLike) -> np.ndarray:
    """Read an image file as RGB, decoding by content (a PNG named ``.jpg`` works).

    Palette, grey, grey+alpha, RGBA, CMYK and 1-bit images are converted to RGB (alpha is
    dropped, not composited). 16-bit grey keeps the top byte. EXIF orientation is *not*
    applied (pixels are returned as stored, matching how masks are read).

    Returns:
      ``uint8 [H, W, 3]``, values 0..255.

    Raises:
      FileNotFoundError: the file does not exist.
      ValueError: ``"{path}: cannot decode image: ..."`` for unreadable/truncated files.
    """
    path = os.fspath(path)
    return _image_to_rgb(_open_image(path))


def _webp_is_lossy(path: str) -> bool:
    """True if a WebP file holds a lossy ``VP8 `` bitstream (``VP8L`` is lossless)."""
    with open(path, "rb") as f:
        data = f.read(1 << 20)
    pos = 12  # after "RIFF" <size> "WEBP"
    while pos + 8 <= len(data):
        fourcc = data[pos : pos + 4]
        if fourcc == b"VP8 ":
            return True
        if fourcc == b"VP8L":
            return False
        size = int.from_bytes(data[pos + 4 : pos + 8], "little")
        pos += 8 + size + (size & 1)
    return True  # unknown: assume lossy (the safer threshold for noisy data)


_ALPHA_MODES = ("RGBA", "LA", "RGBa", "La")


def _alpha_mask_channel(arr: np.ndarray, mode: str, path: str, lossy: bool) -> np.ndarray:
    """The channel an RGBA / LA mask's hole is read from: ``[H, W]`` colour or alpha.

    Alpha that is the same everywhere carries no drawing: the colour decides (any channel).
    Alpha that varies over a colour that is the same everywhere (a brush of one colour on a
    transparent layer, as image editors export) is the drawing: alpha decides. When both vary
    they must mark the same hole, else the mask is ambiguous and refused with how to convert.
    """
    colour, alpha = arr[..., :-1].max(axis=-1), arr[..., -1]
    if np.all(alpha == alpha.flat[0]):
        return colour
    flat = arr[..., :-1].reshape(-1, arr.shape[-1] - 1)
    if np.all(flat == flat[0]):
        return alpha
    hole = (lambda a: a > DEFAULT_VIDEO_MASK_THRESHOLD) if lossy else (lambda a: a != 0)
    if np.array_equal(hole(colour), hole(alpha)):
        return colour
    raise ValueError(
        f"{path}: {mode} mask whose colour and alpha channels mark different holes; save it "
        "without alpha, either the colour (hole = nonzero colour; ImageMagick: convert IN "
        "-alpha off OUT.png) or the alpha channel (hole = opaque; ImageMagick: convert IN "
        f"-alpha extract OUT.png; Pillow: Image.open(IN).getchannel('A').save(OUT))")


def _mask_channel(img: Image.Image, path: str) -> np.ndarray:
    """The ``[H, W]`` values a non-palette mask image is binarised on (see read_mask)."""
    mode = img.mode
    arr = np.asarray(img)
    if mode in _ALPHA_MODES:
        return _alpha_mask_channel(arr, mode, path, _is_lossy_image(img, path))
    if mode == "CMYK" or mode == "YCbCr" or mode == "LAB" or mode == "HSV":
        arr = np.asarray(img.convert("RGB"))
    if arr.ndim == 3:
        arr = arr.max(axis=-1)
    if arr.ndim != 2:
        raise ValueError(f"{path}: unsupported mask image mode {mode!r}")
    return arr


def _binarize_image_mask(img: Image.Image, path: str) -> np.ndarray:
    mode = img.mode
    if mode in ("P", "PA"):
        # Binarise on the palette *index*, never on the colour: DAVIS/YouTube-VOS annotations
        # may use dark palette colours (e.g. (1, 0, 0)) that a grey conversion maps to 0.
        index = np.asarray(img.getchannel(0) if mode == "PA" else img)
        return (index != 0).astype(np.uint8)
    arr = _mask_channel(img, path)
    # Lossy formats: JPEG ringing puts small nonzero values around edges and in flat black
    # areas; threshold at > 127 like lossy mask videos. Lossless formats: any nonzero.
    if _is_lossy_image(img, path) and arr.dtype == np.uint8:
        return (arr > DEFAULT_VIDEO_MASK_THRESHOLD).astype(np.uint8)
    return (arr != 0).astype(np.uint8)


def _is_lossy_image(img: Image.Image, path: str) -> bool:
    fmt = (img.format or "").upper()
    return fmt in ("JPEG", "MPO") or (fmt == "WEBP" and _webp_is_lossy(path))


def _is_soft_mask(img: Image.Image, path: str) -> bool:
    """An 8-bit grey/RGB mask drawn as 0/255 with values in between (antialiased or resampled
    edges), which binarising as nonzero = hole silently widens. Instance-label images (small
    labels 1, 2, ...), palette images and lossy files (thresholded at > 127) are not soft."""
    if img.mode not in ("L", "RGB", "RGBA", "LA") or _is_lossy_image(img, path):
        return False
    arr = np.asarray(img)
    if img.mode in _ALPHA_MODES:
        arr = _alpha_mask_channel(arr, img.mode, path, lossy=False)
    elif arr.ndim == 3:
        arr = arr[..., :3]
    values = np.unique(arr)
    return bool(values[-1] == 255 and np.any((values > 0) & (values < 255)))


def _warn_soft_mask(path: str, once_for=None) -> None:
    where = f"{once_for}: masks such as {path}" if once_for else path
    warnings.warn(f"{where}: mask is not binary (values between 0 and 255); thresholded as "
                  f"nonzero = hole", UserWarning, stacklevel=3)


def read_mask(path: PathLike, invert: bool = False) -> np.ndarray:
    """Read one mask image; nonzero = hole.

    Rules by image mode (content-sniffed, the extension is ignored):

    * palette (``"P"``, DAVIS / YouTube-VOS annotations): hole where the palette **index**
      is nonzero. The palette colours are never looked at, so a dark colour such as
      ``(1, 0, 0)`` at index 1 is still a hole.
    * RGB: hole where any colour channel > 0.
    * RGBA / grey + alpha (``"LA"``): alpha that is the same on every pixel is ignored and the
      colour decides as for RGB / grey. Alpha that varies over a single colour (a brush
      painted on a transparent layer, a common export of image editors; the colour may even
      be black) is the drawing: hole where alpha > 0. If colour and alpha both vary they must
      mark the same hole; otherwise ``ValueError`` naming the file says how to convert it
      (drop alpha, or keep only alpha).
    * grey (``"L"``, ``"1"``, 16-bit ``"I;16"``, ``"I"`` instance-label images): hole where
      value > 0, so every nonzero instance label counts as hole.
    * lossy files (JPEG, lossy WebP): threshold > 127 instead of > 0, because compression
      noise makes black pixels slightly nonzero.
    * a lossless 8-bit 0/255 mask with values in between (antialiased edges) is binarised the
      same way (nonzero = hole) with a `UserWarning` naming the file.

    Args:
      path: mask image file.
      invert: flip polarity, for masks drawn with 0 = hole (after binarising).

    Returns:
      ``uint8 [H, W]`` with values in ``{0, 1}``; 1 = hole.

    Raises:
      FileNotFoundError / ValueError naming the file.
    """
    path = os.fspath(path)
    img = _open_image(path)
    if _is_soft_mask(img, path):
        _warn_soft_mask(path)
    mask = _binarize_image_mask(img, path)
    if invert:
        mask = 1 - mask
    return np.ascontiguousarray(mask, dtype=np.uint8)


def _binarize_video_mask(rgb: np.ndarray, threshold: int, invert: bool) -> np.ndarray:
    mask = (rgb.max(axis=-1) > threshold).astype(np.uint8)
    return 1 - mask if invert else mask


# --------------------------------------------------------------------------------------
# Frame sources (internal): video file, frame folder, single image
# --------------------------------------------------------------------------------------


def _sniff_image(path: str) -> Optional[str]:
    """Header sniff with Pillow: ``"single"``/``"multi"`` frame image, or None if not an image."""
    try:
        with Image.open(path) as img:
            return "single" if getattr(img, "n_frames", 1) == 1 else "multi"
    except (MemoryError, KeyboardInterrupt):
        raise
    except Exception:
        return None


def _is_single_image(path: str) -> bool:
    """True if ``path`` is a single-frame image. Files named like images (``.png``, ``.jpg``,
    ...) that Pillow cannot identify raise the image decoding error instead of being handed
    to FFmpeg, so a corrupt ``mask.png`` is reported as an image problem. Multi-frame images
    (animated GIF/PNG/WebP) return False and are decoded as videos."""
    kind = _sniff_image(path)
    if kind is None and os.path.splitext(path)[1].lower() in IMAGE_EXTENSIONS:
        _open_image(path)  # raises ValueError("{path}: cannot decode image: ...")
    return kind == "single"


def _to_fraction(rate) -> Optional[Fraction]:
    if rate is None:
        return None
    if isinstance(rate, Fraction):
        frac = rate
    elif isinstance(rate, int):
        frac = Fraction(rate)
    else:
        value = float(rate)
        if not math.isfinite(value):  # Fraction() raises a message without the rate for these
            raise ValueError(f"frame rate must be a positive finite number, got {rate!r}")
        frac = Fraction(value).limit_denominator(1_000_000)
    if frac <= 0:
        raise ValueError(f"frame rate must be positive, got {rate!r}")
    return frac


# --------------------------------------------------------------------------------------
# Frame counts: the frames that decode, not the number a container header declares
# --------------------------------------------------------------------------------------

# (real path, device, inode, size, mtime) -> frames that decode. Bounded: oldest dropped.
_FRAME_COUNTS: dict = {}
_FRAME_COUNTS_MAX = 256
_FRAME_COUNTS_LOCK = threading.Lock()


def _count_key(path: str) -> tuple:
    st = os.stat(path)
    return (os.path.realpath(path), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def _scan_video_file(path: str, visit=None) -> Tuple[int, int]:
    """Decode the first video stream of ``path`` once, discarding the pixels.

    Decoding is single-threaded, like the readers': FFmpeg's frame threading swallows the
    decode error of a cut-off last packet. No colour conversion is done and one frame is held
    at a time, so this costs a fraction of reading the video and no memory.

    Args:
      path: video file.
      visit: optional ``visit(index, frame)`` called with every decoded ``av.VideoFrame``
        (it may raise to stop the scan).

    Returns:
      ``(frames, packets)``: how many frames decode and how many non-empty packets the
      stream has. The frame count is remembered for :func:`count_frames`.

    Raises:
      ValueError naming the file: empty file, cannot open, no video stream, decoding failed.
    """
    key = _count_key(path)
    if key[3] == 0:
        raise ValueError(f"{path}: cannot open video: file is empty (0 bytes)")
    frames = packets = 0
    try:
        container = av.open(os.path.abspath(path), mode="r")
    except av.FFmpegError as e:
        raise ValueError(f"{path}: cannot open video: {e}") from e
    try:
        if not container.streams.video:
            raise ValueError(f"{path}: no video stream in container (or it holds no frames)")
        for packet in container.demux(container.streams.video[0]):
            if packet.size:
                packets += 1
            for frame in packet.decode():
                if visit is not None:
                    visit(frames, frame)
                frames += 1
    except av.FFmpegError as e:
        raise ValueError(f"{path}: corrupt or truncated video: decoding failed after "
                         f"{frames} frame(s): {e}") from e
    finally:
        try:
            container.close()
        except av.FFmpegError:
            pass
    if _count_key(path) == key:  # unchanged while it was read
        with _FRAME_COUNTS_LOCK:
            _FRAME_COUNTS[key] = frames
            while len(_FRAME_COUNTS) > _FRAME_COUNTS_MAX:
                del _FRAME_COUNTS[next(iter(_FRAME_COUNTS))]
    return frames, packets


def _count_video_frames(path: str) -> int:
    """Frames of a video file that decode; cached per (path, size, mtime) in this process."""
    key = _count_key(path)
    with _FRAME_COUNTS_LOCK:
        count = _FRAME_COUNTS.get(key)
    if count is None:
        count, _ = _scan_video_file(path)
    return count


def count_frames(path: PathLike) -> int:
    """Number of frames :class:`VideoReader` yields for ``path``, counted exactly.

    * a video file: the frames that **decode**, found by decoding the first video stream once
      (pixels discarded, single-threaded, flat memory; a few percent of the time inpainting
      takes). Container headers are not trusted: an AVI header may declare frames the file
      does not hold (OpenCV's ``tree.avi`` declares 444 and holds 68), an mp4 edit list may
      hide frames, a packet may decode to nothing (OpenCV's ``box.mp4``: 456 packets, 455
      frames), a file may be cut short. The count is cached per (path, size, modification
      time) within the process, so asking again is free;
    * a frame folder: the number of image files (:func:`list_frame_files`);
    * a single image: 1.

    Raises:
      FileNotFoundError / ValueError naming the file (unreadable, corrupt or truncated video:
      the error the reader would raise when it got there).
    """
    path = os.fspath(path)
    _check_exists(path)
    if os.path.isdir(path):
        return len(list_frame_files(path))
    if _is_single_image(path):
        return 1
    return _count_video_frames(path)


class _VideoFileSource:
    """Lazily decodes the first video stream of a container with PyAV."""

    kind = "video"

    def __init__(self, path: str):
        self.path = path
        if os.path.getsize(path) == 0:
            raise ValueError(f"{path}: cannot open video: file is empty (0 bytes)")
        try:
            self._container = av.open(os.path.abspath(path), mode="r")
        except av.FFmpegError as e:
            raise ValueError(f"{path}: cannot open video: {e}") from e
        try:
            streams = self._container.streams.video
            if not streams:
                raise ValueError(f"{path}: no video stream in container (or it holds no frames)")
            stream = streams[0]
            self._stream = stream
            rate = stream.average_rate or stream.guessed_rate or stream.base_rate
            self.frame_rate = Fraction(rate) if rate else None
            # What the header declares: a first guess only (see count_frames).
            self.estimated_frames = int(stream.frames) or None
            self._num_frames = None
            self._decoder = self._container.decode(stream)
        except BaseException:
            self.close()
            raise
        self._index = 0

    @property
    def num_frames(self) -> int:
        """Frames that decode: the file is decoded once to count them (cached)."""
        if self._num_frames is None:
            self._num_frames = _count_video_frames(self.path)
        return self._num_frames

    def next(self) -> np.ndarray:
        try:
            frame = next(self._decoder)
        except StopIteration:
            raise
        except av.FFmpegError as e:
            raise ValueError(
                f"{self.path}: corrupt or truncated video: decoding failed after "
                f"{self._index} frame(s): {e}"
            ) from e
        self._index += 1
        return frame.to_ndarray(format="rgb24", interpolation=_SWS_FLAGS)

    def close(self) -> None:
        container = getattr(self, "_container", None)
        if container is not None:
            self._container = None
            self._decoder = None
            try:
                container.close()
            except av.FFmpegError:
                pass


class _FolderSource:
    kind = "folder"

    def __init__(self, path: str, read_fn):
        self.path = path
        self.files = list_frame_files(path)
        self.num_frames = self.estimated_frames = len(self.files)
        self.frame_rate = None
        self._read = read_fn
        self._index = 0

    @property
    def current_file(self) -> Optional[str]:
        return self.files[self._index - 1] if self._index else None

    def next(self):
        if self._index >= len(self.files):
            raise StopIteration
        file = self.files[self._index]
        self._index += 1
        return self._read(file)

    def close(self) -> None:
        pass


class _ImageSource:
    kind = "image"

    def __init__(self, path: str, read_fn, repeat: bool = False):
        self.path = path
        self.num_frames = self.estimated_frames = None if repeat else 1
        self.frame_rate = None
        self._value = read_fn(path)
        self._repeat = repeat
        self._done = False

    def next(self):
        if self._done:
            raise StopIteration
        if not self._repeat:
            self._done = True
        return self._value.copy()

    def close(self) -> None:
        pass


class _StreamBase:
    """Iterator / context-manager plumbing shared by VideoReader and MaskReader."""

    _what = "frame"

    def _start(self, source) -> None:
        self._source = source
        self._closed = False
        self._count = 0
        try:
            first = source.next()  # decode one item now: fails fast, gives size
        except StopIteration:
            source.close()
            raise ValueError(f"{self.path}: contains no {self._what}s (zero-length)") from None
        except BaseException:
            source.close()
            raise
        self._pending = first
        self._size = tuple(int(s) for s in first.shape[:2])

    @property
    def kind(self) -> str:
        """``"video"``, ``"folder"`` or ``"image"``."""
        return self._source.kind

    @property
    def num_frames(self) -> Optional[int]:
        """Number of items the iterator yields in all (``None`` for a repeating mask image).

        Exact: folders count their files, video files are decoded once to count the frames
        that decode (:func:`count_frames`; done on first access, then cached), never taken
        from the container header.
        """
        return self._source.num_frames

    @property
    def estimated_frames(self) -> Optional[int]:
        """A first guess at :attr:`num_frames` that costs nothing: the container header's
        frame count for video files (often wrong; ``None`` when absent), else the exact count.
        Good for progress bars, not for checks."""
        return self._source.estimated_frames

    @property
    def size(self) -> Tuple[int, int]:
        """``(H, W)`` of every item (checked while iterating)."""
        return self._size

    @property
    def frames_read(self) -> int:
        """How many items have been returned so far."""
        return self._count

    def __iter__(self):
        return self

    def __next__(self) -> np.ndarray:
        if self._closed:
            raise StopIteration
        if self._pending is not None:
            item, self._pending = self._pending, None
        else:
            try:
                item = self._source.next()
            except StopIteration:
                self.close()
                raise
            if tuple(item.shape[:2]) != self._size:
                where = getattr(self._source, "current_file", None) or self.path
                self.close()
                raise ValueError(
                    f"{where}: {self._what} {self._count} has size {tuple(item.shape[:2])}, "
                    f"expected {self._size} like the first {self._what}"
                )
        self._count += 1
        return item

    def close(self) -> None:
        """Release the file handle / decoder. Idempotent."""
        if not getattr(self, "_closed", True):
            self._closed = True
            self._pending = None
            self._source.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass


class VideoReader(_StreamBase):
    """Streaming reader of RGB frames from a video file, a frame folder or a single image.

    Iterating yields ``uint8 [H, W, 3]`` RGB frames one at a time (lazy decoding; memory does
    not grow with video length). The reader is a single-pass iterator and a context manager::

        with VideoReader("clip.mp4") as reader:
            print(reader.frame_rate, reader.num_frames, reader.size)
            for frame in reader:
                ...

    What ``path`` is decides the source:

    * a directory: frame folder (:func:`list_frame_files`, natural order, decoded by content);
    * a file Pillow recognises as a single-frame image: a 1-frame video;
    * any other file: a video container opened with PyAV/FFmpeg (mp4, avi, mov, mkv, webm,
      animated gif, ...); the first video stream is decoded, audio is ignored. Display
      rotation metadata and non-square pixel aspect ratios are not applied.

    The first frame is decoded in the constructor, so missing, empty, corrupt, truncated or
    zero-frame inputs fail immediately. Corruption found later raises ``ValueError`` from
    ``next()``; a frame whose size differs from the first raises ``ValueError``.

    Args:
      path: video file, frame folder or image file.
      frame_rate: frame rate to report for frame folders and single images (which carry none);
        ignored for video files, whose container rate is used.

    Attributes:
      path: the path as given (``str``).
      frame_rate: ``Fraction`` (video files, e.g. ``Fraction(25, 2)``), or for folders/images
        the ``frame_rate`` argument as a ``Fraction`` (``None`` if not given).
      num_frames: the number of frames that decode (folders: image files; video files are
        decoded once on first access to count them, see :func:`count_frames`).
      estimated_frames: the container header's frame count (free, often wrong, may be
        ``None``); folders and images: the exact count.
      size: ``(H, W)``.

    Raises:
      FileNotFoundError: ``path`` does not exist.
      ValueError: unreadable, corrupt, truncated or zero-frame input (message names the file).
    """

    _what = "frame"

    def __init__(self, path: PathLike, frame_rate: Optional[FrameRate] = None):
        self.path = os.fspath(path)
        _check_exists(self.path)
        if os.path.isdir(self.path):
            source = _FolderSource(self.path, read_image)
        elif _is_single_image(self.path):
            source = _ImageSource(self.path, read_image)
        else:
            source = _VideoFileSource(self.path)
        if source.kind != "video":
            source.frame_rate = _to_fraction(frame_rate)
        self._start(source)

    @property
    def frame_rate(self) -> Optional[Fraction]:
        """Frames per second as a ``Fraction`` (or ``None`` for folders/images without one)."""
        return self._source.frame_rate


def open_video(path: PathLike, frame_rate: Optional[FrameRate] = None) -> VideoReader:
    """Open a video file, frame folder or single image as a streaming :class:`VideoReader`.

    The source type is chosen by what ``path`` is (directory / image content / other file),
    not by its extension. See :class:`VideoReader` for attributes and errors.
    """
    return VideoReader(path, frame_rate=frame_rate)


def read_video(
    path: PathLike,
    max_frames: Optional[int] = None,
    frame_rate: Optional[FrameRate] = None,
) -> Tuple[np.ndarray, Optional[Fraction]]:
    """Read a whole video, frame folder or image into memory.

    Args:
      path: video file, frame folder or image file (see :class:`VideoReader`).
      max_frames: stop after this many frames (``None`` = all).
      frame_rate: rate to report for folders/images (ignored for video files).

    Returns:
      ``(frames, frame_rate)``: ``uint8 [T, H, W, 3]`` RGB and a ``Fraction`` (or ``None``).
    """
    if max_frames is not None and max_frames < 1:
        raise ValueError(f"max_frames must be >= 1 or None, got {max_frames}")
    with open_video(path, frame_rate=frame_rate) as reader:
        frames = []
        for frame in reader:
            frames.append(frame)
            if max_frames is not None and len(frames) >= max_frames:
                break
        return np.stack(frames), reader.frame_rate


# --------------------------------------------------------------------------------------
# Masks
# --------------------------------------------------------------------------------------


class MaskReader(_StreamBase):
    """Streaming reader of binary masks (``uint8 [H, W]``, 1 = hole).

    Sources, chosen by what ``path`` is:

    * a directory of mask images (natural order; each read with :func:`read_mask`, so palette
      PNGs are binarised on the palette index, instance labels count as holes, ...);
    * a mask video: hole where **any channel > ``video_threshold``** (default 127). Lossy
      codecs (H.264 yuv420p etc.) blur 0/255 masks into nearby values and shift black by a
      few levels, so "nonzero" would be wrong there; ``> 127`` is robust for masks drawn as
      black/white. Pass ``video_threshold=0`` for losslessly coded mask videos with dark
      label colours;
    * ONE image file: the same mask is used for every frame. The iterator then **repeats
      forever** (``repeats`` is True, ``num_frames`` is None): the frame count comes from the
      video it is paired with, e.g. ``for frame, mask in zip(video_reader, mask_reader)``.

    Args:
      path: mask folder, mask video or single mask image.
      invert: flip polarity after binarising (for masks drawn with 0 = hole).
      video_threshold: binarisation threshold for mask videos only.

    Raises:
      FileNotFoundError / ValueError naming the file (see :class:`VideoReader`).
    """

    _what = "mask"

    def __init__(
        self,
        path: PathLike,
        invert: bool = False,
        video_threshold: int = DEFAULT_VIDEO_MASK_THRESHOLD,
    ):
        self.path = os.fspath(path)
        self.invert = bool(invert)
        _check_exists(self.path)
        warned = []

        def read(p):
            # One warning per mask source for soft (non-binary) masks, not one per frame.
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                mask = read_mask(p, invert=self.invert)
            if caught and not warned:
                warned.append(p)
                _warn_soft_mask(p, once_for=self.path)
            return mask

        if os.path.isdir(self.path):
            source = _FolderSource(self.path, read)
        elif _is_single_image(self.path):
            source = _ImageSource(self.path, read, repeat=True)
        else:
            source = _MaskVideoSource(self.path, int(video_threshold), self.invert)
        self._start(source)

    @property
    def repeats(self) -> bool:
        """True for a single-image source, which yields the same mask indefinitely."""
        return self._source.kind == "image"


class _MaskVideoSource(_VideoFileSource):
    def __init__(self, path: str, threshold: int, invert: bool):
        super().__init__(path)
        self._threshold = threshold
        self._invert = invert

    def next(self) -> np.ndarray:
        return _binarize_video_mask(super().next(), self._threshold, self._invert)


def open_masks(
    path: PathLike,
    invert: bool = False,
    video_threshold: int = DEFAULT_VIDEO_MASK_THRESHOLD,
) -> MaskReader:
    """Open a mask folder, mask video or single mask image as a streaming :class:`MaskReader`.

    Yields ``uint8 [H, W]`` masks in ``{0, 1}`` (1 = hole). Mask videos are binarised with
    ``any channel > video_threshold`` (127 by default, tolerant of lossy-codec noise). A
    single image repeats indefinitely; take the count from the frames (``zip`` with the
    :class:`VideoReader`, or ``read_masks(..., num_frames=T)``).
    """
    return MaskReader(path, invert=invert, video_threshold=video_threshold)


def read_masks(
    path: PathLike,
    invert: bool = False,
    num_frames: Optional[int] = None,
    video_threshold: int = DEFAULT_VIDEO_MASK_THRESHOLD,
) -> np.ndarray:
    """Read masks into memory as ``uint8 [T, H, W]`` in ``{0, 1}`` (1 = hole).

    Args:
      path: mask folder, mask video or single mask image (see :class:`MaskReader`).
      invert: flip polarity (for masks drawn with 0 = hole).
      num_frames: number of masks wanted, normally the number of video frames. A folder or
        video must then hold at least that many masks (extra ones are ignored); a single image
        is repeated ``num_frames`` times. With ``None``: all masks of a folder/video, and
        ``[1, H, W]`` for a single image (broadcastable against ``[T, H, W]``).
      video_threshold: binarisation threshold for mask videos.

    Raises:
      ValueError: fewer masks than ``num_frames``, or the errors of :class:`MaskReader`.
    """
    if num_frames is not None and num_frames < 1:
        raise ValueError(f"num_frames must be >= 1 or None, got {num_frames}")
    with open_masks(path, invert=invert, video_threshold=video_threshold) as reader:
        if reader.repeats:
            mask = next(reader)
            return np.repeat(mask[None], num_frames or 1, axis=0)
        masks = []
        for mask in reader:
            masks.append(mask)
            if num_frames is not None and len(masks) >= num_frames:
                break
    if num_frames is not None and len(masks) < num_frames:
        raise ValueError(
            f"{os.fspath(path)}: has only {len(masks)} mask(s) but {num_frames} were requested"
        )
    return np.stack(masks)


# --------------------------------------------------------------------------------------
# Writers
# --------------------------------------------------------------------------------------


def _as_rgb_frame(frame, where: str) -> np.ndarray:
    """Validate a frame for writing: uint8 [H, W, 3] (or [H, W] / [H, W, 1] grey -> RGB)."""
    arr = np.asarray(frame)
    if arr.dtype != np.uint8:
        raise TypeError(
            f"{where}: frames must be uint8 in 0..255, got dtype {arr.dtype} "
            "(convert e.g. with np.clip(np.rint(x * 255), 0, 255).astype(np.uint8))"
        )
    if arr.ndim == 3 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    if arr.ndim == 2:
        arr = np.repeat(arr[..., None], 3, axis=-1)
    if arr.ndim != 3 or arr.shape[-1] != 3 or arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"{where}: expected a frame of shape [H, W, 3], got {arr.shape}")
    return np.ascontiguousarray(arr)


def _check_writable(folder: str, path: str) -> None:
    """Raise naming ``path`` and ``folder`` unless a file can be created in ``folder``."""
    try:
        if not os.access(folder, os.W_OK | os.X_OK):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))
        fd, probe = tempfile.mkstemp(prefix=".lgtsm-write-test-", dir=folder)
        os.close(fd)
        os.remove(probe)
    except OSError as e:
        cls = PermissionError if isinstance(e, PermissionError) else OSError
        raise cls(f"{path}: cannot write to the folder {folder}: "
                  f"{e.strerror or e}") from None


def check_output_path(path: PathLike) -> None:
    """Check that ``path`` can be written, before any work: its parent folder must exist and
    be writable (tested by creating and removing a hidden file), and so must ``path`` itself
    if it is an existing folder (frame folder output).

    Raises:
      FileNotFoundError: ``"{path}: parent directory {parent} does not exist"``.
      PermissionError (or OSError, e.g. read-only file system):
        ``"{path}: cannot write to the folder {folder}: Permission denied"``.
    """
    path = os.fspath(path)
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        raise FileNotFoundError(f"{path}: parent directory {parent} does not exist")
    _check_writable(parent, path)
    if os.path.isdir(path):
        _check_writable(os.path.abspath(path), path)


_check_parent = check_output_path


class _AtomicWriter:
    """Shared behaviour of the writers: a context manager that commits on a clean exit and
    discards everything on an exception; `write`, `close` and `abort` are the subclass's."""

    _state = "closed"
    _count = 0
    _size = None

    @property
    def frames_written(self) -> int:
        return self._count

    @property
    def size(self) -> Optional[Tuple[int, int]]:
        """``(H, W)`` fixed by the first frame (``None`` before it)."""
        return self._size

    def write_frames(self, frames: Iterable) -> None:
        """Append every frame of an iterable or a ``uint8 [T, H, W, 3]`` array."""
        for frame in frames:
            self.write(frame)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    def __del__(self):
        # Never commit from a finaliser: an unclosed writer is discarded.
        try:
            if self._state == "open":
                self.abort()
        except Exception:
            pass


class VideoWriter(_AtomicWriter):
    """Write RGB frames to an H.264 video (mp4 by default; .m4v/.mov/.mkv also accepted).

    Use as a context manager; the file appears at ``path`` only when the block exits without
    an exception (it is written to a hidden ``.<name>.partial-XXXXXXXX.<ext>`` first and
    renamed; such files left by a killed earlier writer of ``path`` are deleted when the
    writer is created)::

        with VideoWriter("out.mp4", frame_rate=Fraction(25, 2)) as writer:
            for frame in frames:          # uint8 [H, W, 3]
                writer.write(frame)

    Encoding:

    * ``lossless=False``: ``libx264``, ``crf`` (default 18), 4:2:0 ``yuv420p`` tagged BT.709
      limited range, for broad player compatibility. H.264 4:2:0 cannot represent odd widths
      or heights, so for odd sizes ``yuv444p`` (High 4:4:4 profile) is used instead: the size
      is preserved exactly, but some hardware/browser players cannot play 4:4:4.
    * ``lossless=True``: ``libx264rgb`` with ``qp=0`` in RGB (``rgb24``): frames round-trip
      bit-exactly through :class:`VideoReader` (any size). Files are large and need a
      4:4:4-capable player.

    mp4/mov files are written with ``+faststart`` (index at the front).

    Args:
      path: output file; the parent directory must exist and be writable. Extension selects
        the container.
      frame_rate: frames per second (``Fraction`` preferred, e.g. ``Fraction(30000, 1001)``;
        floats are converted with ``Fraction(x).limit_denominator(10**6)``).
      lossless: see above.
      overwrite: replace an existing ``path``; otherwise ``FileExistsError``.
      crf: x264 constant rate factor for lossy mode (0..51, lower = better).
      preset: x264 preset (``"ultrafast"`` ... ``"veryslow"``).

    Frames passed to :meth:`write` are ``uint8 [H, W, 3]`` RGB (``[H, W]`` / ``[H, W, 1]`` grey
    is replicated to RGB); the size is fixed by the first frame.
    """

    def __init__(
        self,
        path: PathLike,
        frame_rate: FrameRate,
        lossless: bool = False,
        overwrite: bool = False,
        crf: int = 18,
        preset: str = "medium",
    ):
        self.path = os.fspath(path)
        ext = os.path.splitext(self.path)[1].lower()
        if ext not in _VIDEO_MUXERS:
            raise ValueError(
                f"{self.path}: unsupported video extension {ext!r}; use one of "
                f"{', '.join(sorted(_VIDEO_MUXERS))}"
            )
        self.frame_rate = _to_fraction(frame_rate)
        if self.frame_rate is None:
            raise ValueError(f"{self.path}: frame_rate is required")
        self.lossless = bool(lossless)
        self.overwrite = bool(overwrite)
        self.crf = int(crf)
        self.preset = str(preset)
        if os.path.isdir(self.path):
            raise IsADirectoryError(f"{self.path}: is a directory")
        atomic.check_can_write(self.path, self.overwrite,
                               "{first}: already exists (pass overwrite=True to replace)")
        _check_parent(self.path)
        self._muxer = _VIDEO_MUXERS[ext]
        self._output = atomic.AtomicOutput(self.path)  # removes a killed writer's temporaries
        self._tmp = self._output.tmp
        self._container = None
        self._stream = None
        self._size = None
        self._count = 0
        self._state = "open"

    def _open_stream(self, height: int, width: int) -> None:
        options = {"movflags": "+faststart"} if self._muxer in ("mp4", "mov") else {}
        self._container = av.open(self._tmp, mode="w", format=self._muxer, options=options)
        if self.lossless:
            stream = self._container.add_stream("libx264rgb", rate=self.frame_rate)
            stream.pix_fmt = "rgb24"
            stream.options = {"qp": "0", "preset": self.preset}
        else:
            stream = self._container.add_stream("libx264", rate=self.frame_rate)
            odd = height % 2 or width % 2
            stream.pix_fmt = "yuv444p" if odd else "yuv420p"
            stream.options = {"crf": str(self.crf), "preset": self.preset}
            ctx = stream.codec_context
            ctx.colorspace = 1  # AVCOL_SPC_BT709 (matrix used in _encode_frame)
            ctx.color_range = int(ColorRange.MPEG)
            ctx.color_primaries = 1  # BT.709 / sRGB
            ctx.color_trc = 1  # BT.709
        stream.width = width
        stream.height = height
        stream.codec_context.time_base = 1 / self.frame_rate
        self._stream = stream

    def write(self, frame) -> None:
        """Append one frame: ``uint8 [H, W, 3]`` RGB (``[H, W]`` grey also accepted)."""
        if self._state != "open":
            raise ValueError(f"{self.path}: writer is {self._state}")
        frame = _as_rgb_frame(frame, f"{self.path} (frame {self._count})")
        size = frame.shape[:2]
        try:
            if self._size is None:
                self._size = (int(size[0]), int(size[1]))
                self._open_stream(*self._size)
            elif size != self._size:
                raise ValueError(
                    f"{self.path}: frame {self._count} has size {size}, expected {self._size}"
                )
            vf = av.VideoFrame.from_ndarray(frame, format="rgb24")
            if not self.lossless:
                vf = vf.reformat(
                    format=self._stream.pix_fmt,
                    dst_colorspace=Colorspace.ITU709,
                    dst_color_range=ColorRange.MPEG,
                    interpolation=_SWS_FLAGS,
                )
            vf.pts = self._count
            vf.time_base = self._stream.codec_context.time_base
            for packet in self._stream.encode(vf):
                self._container.mux(packet)
        except BaseException:
            self.abort()
            raise
        self._count += 1

    def close(self) -> None:
        """Flush, close and move the file into place. Raises if no frame was written."""
        if self._state != "open":
            return
        try:
            if self._count == 0:
                raise ValueError(f"{self.path}: no frames written; nothing to save")
            for packet in self._stream.encode():
                self._container.mux(packet)
            self._container.close()
            self._container = None
            atomic.check_can_write(
                self.path, self.overwrite,
                "{first}: appeared while writing (pass overwrite=True to replace)")
            self._output.commit()
        except BaseException:
            self.abort()
            raise
        self._state = "closed"

    def abort(self) -> None:
        """Discard everything written so far; ``path`` is left untouched. Idempotent."""
        if self._state == "closed":
            return
        self._state = "aborted"
        container, self._container = self._container, None
        if container is not None:
            try:
                container.close()
            except Exception:
                pass
        self._output.discard()


class FrameFolderWriter(_AtomicWriter):
    """Write frames as ``00000.png``, ``00001.png``, ... into ``folder`` (lossless).

    Frames go to a hidden sibling folder ``.<name>.partial-XXXXXXXX`` and are moved into
    ``folder`` on successful close; an exception inside the ``with`` block (or :meth:`abort`)
    deletes them. Such folders left by a killed earlier writer of ``folder`` are deleted when
    the writer is created.

    Existing output: if ``folder`` exists and is non-empty, ``FileExistsError`` unless
    ``overwrite=True``. With ``overwrite=True`` the image files already in ``folder`` (the
    ones :func:`list_frame_files` would list) are deleted on close so no stale frames remain;
    other files and sub-directories are left alone. The parent directory must exist and be
    writable (and ``folder`` too if it exists).

    Args:
      folder: destination directory.
      overwrite: replace existing frames.
      compress_level: PNG zlib level 0..9 (1 = fast, larger files).
    """

    def __init__(self, folder: PathLike, overwrite: bool = False, compress_level: int = 1):
        self.folder = os.fspath(folder)
        self.path = self.folder
        self.overwrite = bool(overwrite)
        self.compress_level = int(compress_level)
        if os.path.exists(self.folder) and not os.path.isdir(self.folder):
            raise NotADirectoryError(f"{self.folder}: exists and is not a directory")
        atomic.check_can_write(self.folder, self.overwrite,
                               "{first}: already exists and is not empty "
                               "(pass overwrite=True to replace its frames)")
        _check_parent(self.folder)
        # A hidden empty folder beside ``folder``; removes a killed writer's temporaries.
        self._output = atomic.AtomicOutput(self.folder, directory=True)
        self._tmp = self._output.tmp
        self._size = None
        self._count = 0
        self._state = "open"

    def write(self, frame) -> None:
        """Append one ``uint8 [H, W, 3]`` RGB frame (grey ``[H, W]`` also accepted)."""
        if self._state != "open":
            raise ValueError(f"{self.folder}: writer is {self._state}")
        name = f"{self._count:05d}.png"
        try:
            frame = _as_rgb_frame(frame, f"{self.folder} (frame {self._count})")
            if self._size is None:
                self._size = frame.shape[:2]
            elif frame.shape[:2] != self._size:
                raise ValueError(
                    f"{self.folder}: frame {self._count} has size {frame.shape[:2]}, "
                    f"expected {self._size}"
                )
            Image.fromarray(frame).save(
                os.path.join(self._tmp, name), format="PNG", compress_level=self.compress_level
            )
        except BaseException:
            self.abort()
            raise
        self._count += 1

    def close(self) -> None:
        """Move the frames into ``folder``. Raises if no frame was written."""
        if self._state != "open":
            return
        try:
            if self._count == 0:
                raise ValueError(f"{self.folder}: no frames written; nothing to save")
            atomic.check_can_write(self.folder, self.overwrite,
                                   "{first}: became non-empty while writing "
                                   "(pass overwrite=True to replace its frames)")
            if os.path.isdir(self.folder) and os.listdir(self.folder):
                try:
                    stale = list_frame_files(self.folder)
                except ValueError:
                    stale = []
                for file in stale:
                    os.remove(file)
            self._output.commit(merge=True)  # other files in ``folder`` stay
        except BaseException:
            self.abort()
            raise
        self._state = "closed"

    def abort(self) -> None:
        """Discard the frames written so far; ``folder`` is left untouched. Idempotent."""
        if self._state == "closed":
            return
        self._state = "aborted"
        self._output.discard()


def write_video(
    path: PathLike,
    frames,
    frame_rate: FrameRate,
    lossless: bool = False,
    overwrite: bool = False,
    crf: int = 18,
    preset: str = "medium",
) -> int:
    """Write ``uint8 [T, H, W, 3]`` frames (or an iterable of ``[H, W, 3]``) to an H.264 file.

    See :class:`VideoWriter` for the arguments. Returns the number of frames written. On any
    error nothing is left at ``path``.
    """
    with VideoWriter(
        path, frame_rate, lossless=lossless, overwrite=overwrite, crf=crf, preset=preset
    ) as writer:
        writer.write_frames(frames)
    return writer.frames_written


def write_frame_folder(folder: PathLike, frames, overwrite: bool = False) -> int:
    """Write frames as ``00000.png``... (see :class:`FrameFolderWriter`). Returns the count."""
    with FrameFolderWriter(folder, overwrite=overwrite) as writer:
        writer.write_frames(frames)
    return writer.frames_written
