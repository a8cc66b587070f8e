"""Discover and validate training videos and their masks (numpy + Pillow + PyAV; no TensorFlow).

A dataset is a list of :class:`VideoSource` records. Each one says where a video's frames are,
what kind of storage it is, how many frames it has and their size, and optionally where its
masks are (a :class:`MaskSource`). The records are built up front by :func:`probe_video` /
:func:`discover_sources`, which validate everything that can be checked cheaply so that a
training run fails at start-up, not hours later, and always with the file name in the message.

Supported layouts (what a path *is* decides, see :func:`discover_sources`):

* a video file: ``.mp4 .m4v .avi .mov .mkv .webm`` (decoded with PyAV);
* a frame folder: JPEG/PNG/BMP/WebP images in natural order (``frame2`` < ``frame10``),
  decoded by content, so a PNG named ``00001.jpg`` works;
* the YouTube-VOS / DAVIS layout ``ROOT/JPEGImages/<video>/*.jpg`` with masks in
  ``ROOT/Annotations/<video>/*.png`` (picked up automatically), or masks in any folder given by
  path (``mask_root/<video>`` as a folder, a mask video or a single mask image);
* a folder holding any mix of the above videos and frame folders (one level deep);
* in-memory arrays (:func:`memory_source`) and procedurally rendered videos (``kind="embedded"``,
  see :mod:`lgtsm_tf.data.embedded`).

Masks (:class:`MaskSource`): ``uint8 [T, H, W]`` in ``{0, 1}`` with **1 = hole**. On disk any
nonzero pixel of a lossless mask image is a hole (palette / instance-label PNGs: every nonzero
label is a hole, see :func:`lgtsm_tf.video_io.read_mask`); mask videos use ``> 127`` because
lossy codecs blur 0/255. ``invert_masks=True`` is for masks drawn with 0 = hole.

Validation done up front (every problem of a dataset is collected and reported in one
``ValueError``, one line per file):

* video files are decoded once in full (single-threaded, so decode errors are not swallowed):
  unreadable, corrupt or truncated files fail, and the frame count is the number of frames
  that actually decode (container metadata is often off by one or missing). For indexed
  containers (mp4/m4v/mov) fewer packets in the file than the index lists is reported as
  truncation; AVI headers are not trusted for this (OpenCV's own ``tree.avi`` declares 444
  frames and holds 68), a mismatch there is only logged;
* frame and mask folders: every file's header is read (format and size), so a non-image, an
  empty folder or mixed frame sizes fail; ``verify_images=True`` also decodes every pixel
  (slower; otherwise a corrupt image body is reported, with its name, when first read);
* masks: the mask count must equal the frame count (a single mask image is repeated) and the
  mask size must equal the frame size.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import os
from fractions import Fraction
from typing import Any, Iterable, Iterator, List, Optional, Sequence, Tuple, Union

import av
import numpy as np
from absl import logging
from PIL import Image

from lgtsm_tf import video_io
# The YUV -> RGB conversion flags of lgtsm_tf.video_io, so seeking returns the same pixels as
# its readers (checked by tests/test_data_sources.py), and its one-pass decoder.
from lgtsm_tf.video_io.frame_sources import (  # pylint: disable=protected-access
    _SWS_FLAGS, _scan_video_file)

PathLike = Union[str, "os.PathLike[str]"]

__all__ = [
    "VIDEO_EXTENSIONS",
    "SourceError",
    "MaskSource",
    "VideoSource",
    "probe_masks",
    "probe_video",
    "discover_sources",
    "discover_mask_sources",
    "memory_source",
]

#: Extensions (lower case) recognised as video files when scanning folders.
VIDEO_EXTENSIONS = (".mp4", ".m4v", ".avi", ".mov", ".mkv", ".webm")
# Containers whose frame count comes from a sample index (reliable enough to detect truncation).
_INDEXED_CONTAINERS = (".mp4", ".m4v", ".mov")
# A header may declare a few more frames than decode without a warning (decoders legitimately
# drop one or two, e.g. OpenCV's box.mp4 indexes 456 packets and decodes 455).
_TRUNCATION_SLACK_FRAMES = 2
_TRUNCATION_SLACK_FRACTION = 0.01
_MAX_LISTED_PROBLEMS = 20


class SourceError(ValueError):
    """Invalid dataset input. ``problems`` lists ``"<file>: <what is wrong>"`` strings."""

    def __init__(self, problems: Sequence[str]):
        self.problems = list(problems)
        if len(self.problems) == 1:
            message = self.problems[0]
        else:
            shown = self.problems[:_MAX_LISTED_PROBLEMS]
            more = len(self.problems) - len(shown)
            message = f"{len(self.problems)} problems in the dataset:\n  " + "\n  ".join(shown)
            if more:
                message += f"\n  ... and {more} more"
        super().__init__(message)


# --------------------------------------------------------------------------------------
# Records
# --------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, eq=False)
class MaskSource:
    """Where the masks of one video are. Read with :meth:`read`.

    Attributes:
      path: mask folder, mask video or mask image (``"<memory>"`` for arrays).
      kind: ``"folder"``, ``"video"``, ``"image"`` (one mask for every frame) or ``"memory"``.
      num_frames: number of masks; ``None`` for ``"image"`` (repeats for any frame index).
      size: ``(H, W)``.
      invert: masks were drawn with 0 = hole and are flipped after binarising.
      files: the mask files of a folder, in natural order.
      data: ``uint8 [T, H, W]`` in ``{0, 1}`` for ``"memory"``.
    """

    path: str
    kind: str
    num_frames: Optional[int]
    size: Tuple[int, int]
    invert: bool = False
    files: Tuple[str, ...] = dataclasses.field(default=(), repr=False)
    data: Any = dataclasses.field(default=None, repr=False)

    def read(self, indices: Sequence[int]) -> np.ndarray:
        """Masks at ``indices`` (any order, repeats allowed) as ``uint8 [n, H, W]`` in {0, 1}.

        Raises ``ValueError`` naming the file if it cannot be read, is shorter than expected
        or a mask has another size than :attr:`size` (the file changed after validation).
        """
        indices = _check_indices(indices, self.num_frames, self.path)
        if self.kind == "memory":
            return np.ascontiguousarray(self.data[indices])
        if self.kind == "image":
            mask = video_io.read_mask(self.path, invert=self.invert)
            _check_item_size(mask, self.size, self.path, "mask")
            return np.repeat(mask[None], len(indices), axis=0)
        if self.kind == "folder":
            out = []
            for i in indices:
                mask = video_io.read_mask(self.files[i], invert=self.invert)
                _check_item_size(mask, self.size, self.files[i], "mask")
                out.append(mask)
            return np.stack(out)
        if self.kind == "video":
            reader = video_io.open_masks(self.path, invert=self.invert)
            return _gather_stream(reader, indices, self.path, self.size, "mask")
        raise ValueError(f"{self.path}: unknown mask source kind {self.kind!r}")


@dataclasses.dataclass(frozen=True, eq=False)
class VideoSource:
    """One validated video: where its frames are, how many, their size, optional masks.

    Attributes:
      path: video file or frame folder (``"<memory>"`` / ``"embedded:<photo>"`` otherwise).
      kind: ``"video"`` (a container decoded with PyAV), ``"folder"`` (image files),
        ``"memory"`` (``data`` is ``uint8 [T, H, W, 3]``) or ``"embedded"`` (``data`` has a
        ``render(indices) -> uint8 [n, H, W, 3]`` method, see :mod:`lgtsm_tf.data.embedded`).
      num_frames: frames that decode (videos are counted by decoding, not from metadata).
      size: ``(H, W)`` of every frame.
      masks: a :class:`MaskSource` with ``num_frames`` masks of the same size, or ``None``.
      name: short name (file stem or folder name), used to pair masks and in messages.
      frame_rate: ``Fraction`` frames per second for video files, else ``None``.
      files: the frame files of a folder, in natural order.
      frame_pts: presentation timestamp of every frame of a video file (recorded when it was
        validated), used to seek straight to a clip instead of decoding from the start.
    """

    path: str
    kind: str
    num_frames: int
    size: Tuple[int, int]
    masks: Optional[MaskSource] = None
    name: str = ""
    frame_rate: Optional[Fraction] = None
    files: Tuple[str, ...] = dataclasses.field(default=(), repr=False)
    frame_pts: Tuple[Optional[int], ...] = dataclasses.field(default=(), repr=False)
    data: Any = dataclasses.field(default=None, repr=False)

    @property
    def has_masks(self) -> bool:
        return self.masks is not None

    @property
    def mask_path(self) -> Optional[str]:
        return None if self.masks is None else self.masks.path

    def read_frames(self, indices: Sequence[int]) -> np.ndarray:
        """Frames at ``indices`` (any order, repeats allowed) as ``uint8 [n, H, W, 3]`` RGB.

        Video files seek to the keyframe before the first wanted frame and identify frames by
        their presentation timestamps (recorded at validation), so a clip costs at most one GOP
        of extra decoding; if timestamps are missing or the seek lands wrongly the video is
        decoded from the start instead (same pixels, slower).

        Raises ``ValueError`` naming the file on decode errors, or if the file now has fewer
        frames or another frame size than when it was validated.
        """
        indices = _check_indices(indices, self.num_frames, self.path)
        if self.kind == "memory":
            return np.ascontiguousarray(self.data[indices])
        if self.kind == "embedded":
            frames = np.asarray(self.data.render(indices))
            if frames.shape != (len(indices), *self.size, 3) or frames.dtype != np.uint8:
                raise ValueError(
                    f"{self.path}: renderer returned {frames.dtype} {frames.shape}, expected "
                    f"uint8 {(len(indices), *self.size, 3)}")
            return frames
        if self.kind == "folder":
            out = []
            for i in indices:
                frame = video_io.read_image(self.files[i])
                _check_item_size(frame, self.size, self.files[i], "frame")
                out.append(frame)
            return np.stack(out)
        if self.kind == "video":
            frames = _seek_frames(self.path, self.frame_pts, indices, self.size)
            if frames is None:
                frames = _gather_stream(video_io.open_video(self.path), indices, self.path,
                                        self.size, "frame")
            return frames
        raise ValueError(f"{self.path}: unknown source kind {self.kind!r}")

    def iter_frames(self, indices: Sequence[int]) -> Iterator[Tuple[int, np.ndarray]]:
        """Yields ``(index, uint8 [H, W, 3])`` for the sorted unique ``indices``, streaming.

        Unlike :meth:`read_frames` this holds one frame at a time, so it suits writing many
        clips of a long video (one sequential decode for all of them).
        """
        wanted = sorted(set(_check_indices(indices, self.num_frames, self.path).tolist()))
        if self.kind != "video":
            for i in wanted:
                yield i, self.read_frames([i])[0]
            return
        with video_io.open_video(self.path) as reader:
            pos = 0
            for i, frame in enumerate(reader):
                if i == wanted[pos]:
                    _check_item_size(frame, self.size, self.path, "frame")
                    yield i, frame
                    pos += 1
                    if pos == len(wanted):
                        return
        raise ValueError(
            f"{self.path}: decoded only {i + 1} frame(s) but frame {wanted[pos]} was requested "
            f"(validated count {self.num_frames}); did the file change since it was validated?")


def _check_indices(indices, num_frames: Optional[int], path: str) -> np.ndarray:
    idx = np.asarray(indices, dtype=np.int64).reshape(-1)
    if idx.size == 0:
        raise ValueError(f"{path}: no frame indices requested")
    if idx.min() < 0 or (num_frames is not None and idx.max() >= num_frames):
        raise IndexError(f"{path}: frame index out of range [0, {num_frames}): {idx.tolist()}")
    return idx


def _check_item_size(item: np.ndarray, size, path: str, what: str) -> None:
    if tuple(item.shape[:2]) != tuple(size):
        raise ValueError(
            f"{path}: {what} has size {tuple(item.shape[:2])}, expected {tuple(size)} "
            "(the file changed since it was validated?)")


def _gather_stream(reader, indices: np.ndarray, path: str, size, what: str) -> np.ndarray:
    """Decode a stream from the start up to max(indices); return the items at ``indices``."""
    last = int(indices.max())
    wanted = set(indices.tolist())
    found = {}
    with reader:
        count = 0
        for i, item in enumerate(reader):
            count = i + 1
            if i in wanted:
                _check_item_size(item, size, path, what)
                found[i] = item
            if i >= last:
                break
    if len(found) != len(wanted):
        raise ValueError(
            f"{path}: decoded only {count} {what}(s) but {what} {last} was requested; "
            "did the file change since it was validated?")
    return np.stack([found[int(i)] for i in indices])


def _seek_frames(path: str, frame_pts, indices: np.ndarray, size) -> Optional[np.ndarray]:
    """Frames at ``indices`` by seeking; ``None`` when seeking cannot be trusted here.

    After the seek, the first decoded frame must be a keyframe and the timestamps of the
    decoded frames must continue the sequence recorded at validation exactly (same frames,
    same order, nothing dropped), which pins down the index of every frame; anything else
    falls back to a full decode from the start.
    """
    first, last = int(indices.min()), int(indices.max())
    if first == 0 or len(frame_pts) <= last or any(p is None for p in frame_pts):
        return None
    if len(set(frame_pts)) != len(frame_pts):
        return None  # repeated timestamps cannot identify frames
    position = {p: i for i, p in enumerate(frame_pts)}
    wanted = set(int(i) for i in indices)
    found = {}
    try:
        with av.open(os.path.abspath(path)) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            container.seek(min(frame_pts[first:last + 1]), stream=stream, backward=True,
                           any_frame=False)
            index = None
            for frame in container.decode(stream):
                if index is None:  # where the seek landed
                    index = position.get(frame.pts)
                    if index is None or index > first or not frame.key_frame:
                        # Unknown frame, the seek overshot, or output starts before the
                        # keyframe (open-GOP leading frames, decoded without references).
                        return None
                else:
                    index += 1
                    if index >= len(frame_pts) or frame_pts[index] != frame.pts:
                        return None  # not the recorded sequence
                if index in wanted:
                    rgb = frame.to_ndarray(format="rgb24", interpolation=_SWS_FLAGS)
                    _check_item_size(rgb, size, path, "frame")
                    found[index] = rgb
                if index >= last:
                    break
    except av.FFmpegError:
        return None  # the sequential path reports the error with its usual message
    if len(found) != len(wanted):
        return None
    return np.stack([found[int(i)] for i in indices])


# --------------------------------------------------------------------------------------
# Probing single videos and mask sets
# --------------------------------------------------------------------------------------


def _image_header_size(path: str) -> Tuple[int, int]:
    """(H, W) from the image header (cheap), or ValueError naming the file."""
    try:
        with Image.open(path) as img:
            width, height = img.size
    except (MemoryError, KeyboardInterrupt):
        raise
    except Exception as e:  # UnidentifiedImageError, OSError, SyntaxError, ...
        raise ValueError(f"{path}: cannot decode image: {type(e).__name__}: {e}") from e
    return int(height), int(width)


def _folder_frames(folder: str, verify_images: bool, read_fn) -> Tuple[Tuple[str, ...], Tuple[int, int]]:
    """Files and common (H, W) of a frame/mask folder; raises naming the folder or file."""
    if not os.listdir(folder):
        raise ValueError(f"{folder}: empty folder")
    files = tuple(video_io.list_frame_files(folder))
    size = None
    for file in files:
        if verify_images:
            file_size = tuple(int(s) for s in read_fn(file).shape[:2])
        else:
            file_size = _image_header_size(file)
        if size is None:
            size = file_size
        elif file_size != size:
            raise ValueError(
                f"{file}: size {file_size[0]}x{file_size[1]} differs from the first file of "
                f"the folder ({os.path.basename(files[0])}: {size[0]}x{size[1]}); a frame "
                "folder must hold frames of one size")
    return files, size


def _check_declared(declared: Optional[int], count: int, path: str) -> None:
    """Log when a container header declares more frames than decode (AVI headers lie)."""
    if declared and count < declared:
        missing = declared - count
        slack = max(_TRUNCATION_SLACK_FRAMES, int(declared * _TRUNCATION_SLACK_FRACTION))
        if missing > slack:
            logging.warning("%s: the header declares %d frames but %d decode; using %d", path,
                            declared, count, count)


def _scan_video(path: str, size: Tuple[int, int], declared: Optional[int]):
    """Decode every frame of a video file; return ``(num_frames, frame_pts)``.

    ``declared`` is the header's frame count (``VideoReader.estimated_frames``). The frames are
    counted by ``lgtsm_tf.video_io``'s scan, the one behind ``VideoReader.num_frames``.
    Decoding is single-threaded on purpose: FFmpeg's frame threading swallows the decode error
    of a cut-off last packet, which is exactly how a truncated file shows up. For indexed
    containers (mp4/m4v/mov) the number of packets present is also compared with the index:
    fewer packets than the index lists means the file was cut. No colour conversion is done.
    """
    ext = os.path.splitext(path)[1].lower()
    pts = []

    def visit(index, frame):
        if (frame.height, frame.width) != tuple(size):
            raise ValueError(f"{path}: frame {index} has size {(frame.height, frame.width)}, "
                             f"expected {tuple(size)} like the first frame")
        pts.append(frame.pts)

    # The readers' own count (video_io.count_frames), so training and inference agree.
    _, packets = _scan_video_file(path, visit)
    if not pts:
        raise ValueError(f"{path}: contains no frames (zero-length)")
    if ext in _INDEXED_CONTAINERS and declared and packets < declared:
        raise ValueError(f"{path}: truncated video: the container index lists {declared} "
                         f"frames but only {packets} are present in the file")
    _check_declared(declared, len(pts), path)
    return len(pts), tuple(pts)


def probe_masks(path: PathLike, invert: bool = False, verify_images: bool = False) -> MaskSource:
    """Validate one mask set: a folder of mask images, a mask video or a single mask image.

    Returns a :class:`MaskSource` (``num_frames`` is ``None`` for a single image, which is
    used for every frame). Raises ``FileNotFoundError`` / ``ValueError`` naming the file.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: mask path does not exist")
    read = lambda p: video_io.read_mask(p, invert=invert)  # noqa: E731
    if os.path.isdir(path):
        files, size = _folder_frames(path, verify_images, read)
        return MaskSource(path, "folder", len(files), size, invert, files)
    if os.path.getsize(path) == 0:
        raise ValueError(f"{path}: empty file (0 bytes)")
    with video_io.open_masks(path, invert=invert) as reader:  # its open errors name the file
        repeats, size, declared = reader.repeats, reader.size, reader.estimated_frames
    if repeats:
        return MaskSource(path, "image", None, size, invert)
    count, _ = _scan_video(path, size, declared)
    return MaskSource(path, "video", count, size, invert)


def _attach_masks(source: VideoSource, masks: Optional[MaskSource]) -> VideoSource:
    if masks is None:
        return source
    if tuple(masks.size) != tuple(source.size):
        where = masks.files[0] if masks.files else masks.path
        raise ValueError(
            f"{where}: mask size {masks.size[0]}x{masks.size[1]} differs from the frame size "
            f"{source.size[0]}x{source.size[1]} of {source.path}")
    if masks.num_frames is not None and masks.num_frames != source.num_frames:
        raise ValueError(
            f"{masks.path}: has {masks.num_frames} mask(s) but {source.path} has "
            f"{source.num_frames} frame(s); the counts must match")
    return dataclasses.replace(source, masks=masks)


def probe_video(
    path: PathLike,
    mask_path: Optional[PathLike] = None,
    *,
    invert_masks: bool = False,
    verify_images: bool = False,
    name: Optional[str] = None,
) -> VideoSource:
    """Validate one video (a video file or a frame folder) and, optionally, its masks.

    Args:
      path: video file (any container PyAV reads) or a folder of frame images.
      mask_path: mask folder, mask video or single mask image for this video, or ``None``.
      invert_masks: masks are drawn with 0 = hole.
      verify_images: decode every image of frame/mask folders now (default: headers only).
      name: short name (default: file stem or folder name).

    Returns:
      A :class:`VideoSource`.

    Raises:
      FileNotFoundError / ValueError naming the file: missing, unreadable, truncated or empty
      input, a single image instead of a video, mixed frame sizes, mask count or size differing
      from the frames.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: no such file or directory")
    if name is None:
        base = os.path.basename(os.path.normpath(path))
        name = base if os.path.isdir(path) else os.path.splitext(base)[0]
    if os.path.isdir(path):
        files, size = _folder_frames(path, verify_images, video_io.read_image)
        source = VideoSource(path, "folder", len(files), size, name=name, files=files)
    else:
        if os.path.getsize(path) == 0:
            raise ValueError(f"{path}: cannot open video: file is empty (0 bytes)")
        if os.path.splitext(path)[1].lower() in video_io.IMAGE_EXTENSIONS:
            raise ValueError(
                f"{path}: is a single image, not a video; put the frames of a video in a folder")
        with video_io.open_video(path) as reader:  # its open errors name the file
            size, rate, declared = reader.size, reader.frame_rate, reader.estimated_frames
        count, pts = _scan_video(path, size, declared)
        source = VideoSource(path, "video", count, size, name=name, frame_rate=rate,
                             frame_pts=pts)
    if mask_path is not None:
        source = _attach_masks(
            source, probe_masks(mask_path, invert=invert_masks, verify_images=verify_images))
    return source


# --------------------------------------------------------------------------------------
# Discovery
# --------------------------------------------------------------------------------------


def _visible_entries(folder: str) -> List[os.DirEntry]:
    with os.scandir(folder) as it:
        entries = [e for e in it if not e.name.startswith(".")]
    entries.sort(key=lambda e: video_io.natural_sort_key(e.name))
    return entries


def _has_images(folder: str) -> bool:
    return any(e.is_file() and os.path.splitext(e.name)[1].lower() in video_io.IMAGE_EXTENSIONS
               for e in _visible_entries(folder))


def _is_vos_root(folder: str) -> bool:
    return os.path.isdir(os.path.join(folder, "JPEGImages"))


def _candidates(path: str) -> Tuple[List[Tuple[str, str]], Optional[str]]:
    """(name, path) of every video under ``path`` and the VOS mask root it implies."""
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: no such file or directory")
    if os.path.isfile(path):
        return [(os.path.splitext(os.path.basename(path))[0], path)], None
    if _is_vos_root(path):
        images = os.path.join(path, "JPEGImages")
        entries = [e for e in _visible_entries(images) if e.is_dir()]
        if not entries:
            raise ValueError(f"{images}: no video folders in the JPEGImages folder")
        annotations = os.path.join(path, "Annotations")
        return [(e.name, e.path) for e in entries], (
            annotations if os.path.isdir(annotations) else None)
    entries = _visible_entries(path)
    if not entries:
        raise ValueError(f"{path}: empty folder (no videos, frame folders or images)")
    if _has_images(path):
        return [(os.path.basename(os.path.normpath(path)), path)], None
    found, skipped = [], []
    for e in entries:
        if e.is_dir():
            found.append((e.name, e.path))
        elif os.path.splitext(e.name)[1].lower() in VIDEO_EXTENSIONS:
            found.append((os.path.splitext(e.name)[0], e.path))
        else:
            skipped.append(e.name)
    if skipped:
        logging.info("%s: skipping %d file(s) that are not videos: %s", path, len(skipped),
                     ", ".join(skipped[:5]) + (" ..." if len(skipped) > 5 else ""))
    if not found:
        raise ValueError(
            f"{path}: no videos ({', '.join(VIDEO_EXTENSIONS)}) or frame folders found "
            f"(files seen: {', '.join(skipped[:5])})")
    return found, None


def _mask_for(mask_root: str, name: str) -> Optional[str]:
    """``mask_root/<name>`` as a folder, or ``mask_root/<name>.<ext>`` as a video or image."""
    folder = os.path.join(mask_root, name)
    if os.path.isdir(folder):
        return folder
    for ext in VIDEO_EXTENSIONS + video_io.IMAGE_EXTENSIONS:
        for cased in (ext, ext.upper()):
            candidate = folder + cased
            if os.path.isfile(candidate):
                return candidate
    return None


def _map_parallel(fn, items: Sequence, num_workers: Optional[int]) -> List[Tuple[Any, Optional[str]]]:
    """[(result, None) or (None, "error message")] in input order. Decoders release the GIL."""
    def safe(item):
        try:
            return fn(item), None
        except (FileNotFoundError, ValueError, IndexError, OSError) as e:
            return None, str(e)

    workers = num_workers or min(8, os.cpu_count() or 1)
    if workers <= 1 or len(items) <= 1:
        return [safe(item) for item in items]
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        return list(pool.map(safe, items))


def discover_sources(
    paths: Union[PathLike, Iterable[PathLike]],
    *,
    mask_root: Union[str, PathLike, None] = "auto",
    invert_masks: bool = False,
    verify_images: bool = False,
    num_workers: Optional[int] = None,
) -> List[VideoSource]:
    """Find and validate every video under ``paths``.

    Each path may be:

    * a video file (``.mp4 .m4v .avi .mov .mkv .webm`` or anything else PyAV opens);
    * a frame folder (it directly holds image files);
    * a YouTube-VOS / DAVIS root (it has a ``JPEGImages`` sub-folder): every
      ``JPEGImages/<video>`` folder is a video, with masks from ``Annotations/<video>`` when
      that folder exists and ``mask_root="auto"``;
    * a folder of videos and frame folders (one level deep; other files such as ``meta.json``
      are skipped and logged; a sub-folder without images is an error).

    Args:
      paths: one path or several.
      mask_root: ``"auto"`` (the VOS ``Annotations`` folder when present, no masks otherwise),
        ``None`` (ignore masks), or a folder holding the masks of each video as
        ``<mask_root>/<name>`` (a folder), ``<name>.<video ext>`` or ``<name>.<image ext>``
        (one mask for every frame). For a single discovered video ``mask_root`` may also be
        the video's own mask folder or mask video.
      invert_masks: masks are drawn with 0 = hole.
      verify_images: also decode every image now (default: image headers only).
      num_workers: threads used to validate (default ``min(8, cpu_count)``).

    Returns:
      ``list[VideoSource]`` in discovery order (paths in the given order, natural order inside
      folders).

    Raises:
      FileNotFoundError: a path does not exist.
      SourceError (a ValueError): listing every invalid file, one ``"<file>: <problem>"`` per
        line (unreadable/truncated video, empty folder, mixed frame sizes, missing masks, mask
        count or size different from the frames, ...).
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    paths = [os.fspath(p) for p in paths]
    if not paths:
        raise ValueError("discover_sources: no paths given")
    auto = isinstance(mask_root, str) and mask_root == "auto"
    explicit_root = None if (auto or mask_root is None) else os.fspath(mask_root)
    if explicit_root is not None and not os.path.exists(explicit_root):
        raise FileNotFoundError(f"{explicit_root}: mask_root does not exist")

    jobs, problems = [], []
    for path in paths:
        try:
            found, vos_masks = _candidates(path)
        except FileNotFoundError:
            raise
        except ValueError as e:
            problems.append(str(e))
            continue
        for name, video_path in found:
            jobs.append((name, video_path, vos_masks if auto else explicit_root))

    single = len(jobs) == 1
    resolved = []
    for name, video_path, root in jobs:
        mask = None
        if root is not None:
            mask = _mask_for(root, name)
            if mask is None and single and explicit_root is not None:
                mask = explicit_root  # the mask folder / video of the one video itself
            if mask is None:
                problems.append(
                    f"{video_path}: no masks found for video {name!r} in {root} (expected a "
                    f"folder {name}/ or a file {name}.<ext>); pass mask_root=None to ignore masks")
                continue
        resolved.append((name, video_path, mask))

    results = _map_parallel(
        lambda job: probe_video(job[1], job[2], invert_masks=invert_masks,
                                verify_images=verify_images, name=job[0]),
        resolved, num_workers)
    sources = []
    for source, error in results:
        if error is not None:
            problems.append(error)
        else:
            sources.append(source)
    if problems:
        raise SourceError(problems)
    return sources


def discover_mask_sources(
    paths: Union[PathLike, Iterable[PathLike]],
    *,
    invert: bool = False,
    verify_images: bool = False,
    num_workers: Optional[int] = None,
) -> List[MaskSource]:
    """Find and validate a pool of mask videos (e.g. the output of ``lgtsm-make-masks``).

    Each path is a mask video, a mask folder (it holds images), or a folder searched
    recursively for those (so ``OUTPUT_DIR/<bin>/<video>/`` from ``--cluster_by_area`` works).

    Returns ``list[MaskSource]``; raises :class:`SourceError` listing every invalid mask set.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    found, problems = [], []
    for path in map(os.fspath, paths):
        if not os.path.exists(path):
            raise FileNotFoundError(f"{path}: no such file or directory")
        if os.path.isfile(path) or _has_images(path):
            found.append(path)
            continue
        before = len(found)
        for dirpath, dirnames, filenames in os.walk(path):
            dirnames[:] = sorted((d for d in dirnames if not d.startswith(".")),
                                 key=video_io.natural_sort_key)
            if _has_images(dirpath):
                found.append(dirpath)
                dirnames[:] = []
                continue
            for f in sorted(filenames, key=video_io.natural_sort_key):
                if not f.startswith(".") and os.path.splitext(f)[1].lower() in VIDEO_EXTENSIONS:
                    found.append(os.path.join(dirpath, f))
        if len(found) == before:
            problems.append(f"{path}: no mask folders or mask videos found")
    results = _map_parallel(
        lambda p: probe_masks(p, invert=invert, verify_images=verify_images), found, num_workers)
    masks = []
    for mask, error in results:
        if error is not None:
            problems.append(error)
        else:
            masks.append(mask)
    if problems:
        raise SourceError(problems)
    return masks


def memory_source(frames, masks=None, *, name: str = "memory", invert_masks: bool = False) -> VideoSource:
    """A :class:`VideoSource` over in-memory arrays (``kind="memory"``).

    Args:
      frames: ``uint8 [T, H, W, 3]`` RGB (T >= 1). Other dtypes are refused, so float frames
        in [0, 1] are never silently misread as 0..255.
      masks: optional ``[T, H, W]`` or ``[T, H, W, 1]`` array of any numeric/bool dtype;
        nonzero = hole (or 0 = hole with ``invert_masks``).
      name: short name for messages.

    Returns:
      A :class:`VideoSource` whose arrays are kept by reference (not copied).
    """
    where = f"<memory:{name}>"
    frames = np.asarray(frames)
    if frames.dtype != np.uint8:
        raise TypeError(f"{where}: frames must be uint8 [T, H, W, 3] in 0..255, got {frames.dtype}")
    if frames.ndim != 4 or frames.shape[-1] != 3 or 0 in frames.shape:
        raise ValueError(f"{where}: frames must have shape [T, H, W, 3], got {frames.shape}")
    size = (int(frames.shape[1]), int(frames.shape[2]))
    source = VideoSource(where, "memory", int(frames.shape[0]), size, name=name, data=frames)
    if masks is not None:
        masks = np.asarray(masks)
        if masks.ndim == 4 and masks.shape[-1] == 1:
            masks = masks[..., 0]
        if masks.ndim != 3:
            raise ValueError(f"{where}: masks must have shape [T, H, W] or [T, H, W, 1], got "
                             f"{masks.shape}")
        binary = (masks != 0).astype(np.uint8)
        if invert_masks:
            binary = 1 - binary
        mask_source = MaskSource(where + "/masks", "memory", int(masks.shape[0]),
                                 (int(masks.shape[1]), int(masks.shape[2])), invert_masks,
                                 data=binary)
        source = _attach_masks(source, mask_source)
    return source
