"""Probing one video or mask set: its kind, frame count (what decodes) and size, checked.

Builds :class:`~lgtsm_tf.data.sources.records.VideoSource` / ``MaskSource`` records; a video
file is decoded once in full, folders have every image header read.
"""

from __future__ import annotations

import os
from typing import Optional, Tuple

from absl import logging
from PIL import Image

from lgtsm_tf import video_io
from lgtsm_tf.data.sources.records import MaskSource, PathLike, VideoSource, _attach_masks
from lgtsm_tf.video_io.frame_sources import _scan_video_file  # pylint: disable=protected-access

# Containers whose frame count comes from a sample index (reliable enough to detect truncation).
_INDEXED_CONTAINERS = (".mp4", ".m4v", ".mov")
# A header may declare a few more frames than decode without a warning (decoders legitimately
# drop one or two, e.g. OpenCV's box.mp4 indexes 456 packets and decodes 455).
_TRUNCATION_SLACK_FRAMES = 2
_TRUNCATION_SLACK_FRACTION = 0.01


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


def _folder_frames(folder: str, verify_images: bool,
                   read_fn) -> Tuple[Tuple[str, ...], Tuple[int, int]]:
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
