"""Streaming readers: :class:`VideoReader` (frames) and :class:`MaskReader` (masks).

Frames are ``uint8 [H, W, 3]`` RGB in 0..255, masks ``uint8 [H, W]`` in ``{0, 1}`` with
1 = hole; one is decoded at a time, so memory does not grow with the video's length.
:func:`read_video` / :func:`read_masks` load everything into ``[T, H, W, 3]`` / ``[T, H, W]``.
"""

from __future__ import annotations

import os
import warnings
from fractions import Fraction
from typing import Optional, Tuple

import numpy as np

from lgtsm_tf.video_io.frame_sources import (
    _FolderSource, _ImageSource, _VideoFileSource, _is_single_image, _to_fraction,
)
from lgtsm_tf.video_io.images import (
    DEFAULT_VIDEO_MASK_THRESHOLD, _binarize_video_mask, _warn_soft_mask, read_image, read_mask,
)
from lgtsm_tf.video_io.paths import FrameRate, PathLike, _check_exists

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
