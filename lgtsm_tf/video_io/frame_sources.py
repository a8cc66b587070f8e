"""Where frames come from (internal): a video file (PyAV), a frame folder, or one image.

Each source yields ``uint8 [H, W, 3]`` RGB frames in 0..255. Frame counts are what decodes
(:func:`count_frames`, cached per file), never a container header's claim. Frame rates are
:class:`fractions.Fraction` (or ``None`` for folders and images).
"""

from __future__ import annotations

import math
import os
import threading
from fractions import Fraction
from typing import Optional, Tuple

import av
import numpy as np
from av.video.reformatter import Interpolation
from PIL import Image

from lgtsm_tf.video_io.images import _open_image
from lgtsm_tf.video_io.paths import IMAGE_EXTENSIONS, PathLike, _check_exists, list_frame_files

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
