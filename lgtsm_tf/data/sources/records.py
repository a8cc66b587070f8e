"""Dataset records: :class:`VideoSource` (a video's frames) and :class:`MaskSource` (its masks).

Frames are read as ``uint8 [T, H, W, 3]`` RGB in 0..255, masks as ``uint8 [T, H, W]`` in
``{0, 1}`` with 1 = hole, by frame index (video files seek by timestamp when they can).
Problems are reported as :class:`SourceError`, one ``"<file>: <what is wrong>"`` line each.
"""

from __future__ import annotations

import dataclasses
import os
from fractions import Fraction
from typing import Any, Iterator, Optional, Sequence, Tuple, Union

import av
import numpy as np

from lgtsm_tf import video_io
# video_io's YUV -> RGB conversion flags, so seeking returns the same pixels as its readers
# (checked by tests/test_data_sources.py).
from lgtsm_tf.video_io.frame_sources import _SWS_FLAGS  # pylint: disable=protected-access

PathLike = Union[str, "os.PathLike[str]"]


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


def memory_source(frames, masks=None, *, name: str = "memory",
                  invert_masks: bool = False) -> VideoSource:
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
