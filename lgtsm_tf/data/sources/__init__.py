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

Modules (this package re-exports their public names): ``records`` (the records, reading by
index, :func:`memory_source`), ``probing`` (one video or mask set) and ``discovery`` (all the
videos under paths).
"""

from lgtsm_tf.data.sources.discovery import (
    VIDEO_EXTENSIONS, discover_mask_sources, discover_sources)
from lgtsm_tf.data.sources.probing import probe_masks, probe_video
from lgtsm_tf.data.sources.records import (
    MaskSource, PathLike, SourceError, VideoSource, memory_source)

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
