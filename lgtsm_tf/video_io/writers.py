"""Atomic writers: :class:`VideoWriter` (H.264 file) and :class:`FrameFolderWriter` (PNGs).

Frames written are ``uint8 [H, W, 3]`` RGB in 0..255 (``[H, W]`` grey is replicated). The
output appears only when the writer closes without an error (:mod:`lgtsm_tf.atomic`:
written under ``.<name>.partial-<8 hex digits>[.ext]`` beside it, then renamed); existing
output is replaced only with ``overwrite=True``.
"""

from __future__ import annotations

import os
from typing import Iterable, Optional, Tuple

import av
import numpy as np
from av.video.reformatter import ColorRange, Colorspace
from PIL import Image

from lgtsm_tf import atomic
from lgtsm_tf.video_io.frame_sources import _SWS_FLAGS, _to_fraction
from lgtsm_tf.video_io.paths import FrameRate, PathLike, check_output_path, list_frame_files

#: Container extensions :class:`VideoWriter` accepts, mapped to the FFmpeg muxer name.
_VIDEO_MUXERS = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska"}


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


class _AtomicWriter:
    """Shared behaviour of the writers: a context manager that commits on a clean exit and
    discards everything on an exception; `write`, `_commit` and `abort` are the subclass's."""

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

    def close(self) -> None:
        """Finish the output and move it into place (see the subclass's ``_commit``). Raises
        if no frame was written; on any error everything written is discarded."""
        if self._state != "open":
            return
        try:
            if self._count == 0:
                raise ValueError(f"{self.path}: no frames written; nothing to save")
            self._commit()
        except BaseException:
            self.abort()
            raise
        self._state = "closed"

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
        check_output_path(self.path)
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

    def _commit(self) -> None:
        """Flush, close and move the file into place."""
        for packet in self._stream.encode():
            self._container.mux(packet)
        self._container.close()
        self._container = None
        atomic.check_can_write(self.path, self.overwrite,
                               "{first}: appeared while writing (pass overwrite=True to replace)")
        self._output.commit()

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
        check_output_path(self.folder)
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

    def _commit(self) -> None:
        """Move the frames into ``folder`` (replacing its old frames)."""
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
