"""Finding the videos (and masks) under paths: files, frame folders, YouTube-VOS/DAVIS roots.

Every problem of a dataset is collected and raised as one
:class:`~lgtsm_tf.data.sources.records.SourceError`.
"""

from __future__ import annotations

import concurrent.futures
import os
from typing import Any, Iterable, List, Optional, Sequence, Tuple, Union

from absl import logging

from lgtsm_tf import video_io
from lgtsm_tf.data.sources.probing import probe_masks, probe_video
from lgtsm_tf.data.sources.records import MaskSource, PathLike, SourceError, VideoSource

#: Extensions (lower case) recognised as video files when scanning folders.
VIDEO_EXTENSIONS = (".mp4", ".m4v", ".avi", ".mov", ".mkv", ".webm")


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


def _map_parallel(fn, items: Sequence,
                  num_workers: Optional[int]) -> List[Tuple[Any, Optional[str]]]:
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
