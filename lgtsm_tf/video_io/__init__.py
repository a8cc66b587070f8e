"""File I/O for videos, frame folders and masks (numpy + Pillow + PyAV; no TensorFlow).

The package re-exports every public name of its modules, each with one job:

* :mod:`~lgtsm_tf.video_io.paths`: frame folders' files, natural order, output checks.
* :mod:`~lgtsm_tf.video_io.images`: single images and masks (Pillow, by content).
* :mod:`~lgtsm_tf.video_io.frame_sources`: decoding video files / folders / images,
  and exact frame counts.
* :mod:`~lgtsm_tf.video_io.readers`: streaming :class:`VideoReader` / :class:`MaskReader`.
* :mod:`~lgtsm_tf.video_io.writers`: atomic :class:`VideoWriter` / :class:`FrameFolderWriter`.

Conventions used throughout this package:

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

from lgtsm_tf.video_io.frame_sources import count_frames
from lgtsm_tf.video_io.images import DEFAULT_VIDEO_MASK_THRESHOLD, read_image, read_mask
from lgtsm_tf.video_io.paths import (
    IMAGE_EXTENSIONS, FrameRate, PathLike, check_output_path, list_frame_files,
    natural_sort_key)
from lgtsm_tf.video_io.readers import (
    MaskReader, VideoReader, open_masks, open_video, read_masks, read_video)
from lgtsm_tf.video_io.writers import (
    FrameFolderWriter, VideoWriter, write_frame_folder, write_video)

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
