"""Finding and pairing evaluation inputs, and reading them frame by frame with checks.

Each of ``--ground_truth``, ``--results`` and ``--masks`` is either **one video** or a **folder
of videos**:

* one video: a video file (mp4, avi, mov, mkv, webm, ...), a folder of frame images (a folder
  holding at least one image file directly is a frame folder), or one image;
* a folder of videos: a folder that holds no image file directly; its entries are videos,
  named by the file name without its extension (``bear.mp4`` -> ``bear``) or by the sub-folder
  name (``bear/00000.png ...`` -> ``bear``). Hidden entries (``.name``) and files of other types
  (``metrics.json``, ``notes.txt``) are ignored. For ``--masks`` an entry may also be one mask
  image (``bear.png``), used for every frame of that video.

What ``--ground_truth`` is decides the mode; ``--results`` (and ``--masks``) must then be of the
same kind (with folders of videos, ``--masks`` is always read as a folder with one entry per
video, even when those entries are all images). Folders of videos are matched **by name**:
every ground-truth video needs a result and every result a ground truth (the error lists the
unmatched names on both sides), and every video needs masks when ``--masks`` is given (extra
mask entries are ignored and reported).

Frames are decoded to ``uint8`` by `lgtsm_tf.video_io` (PyAV / Pillow) and masks binarised by its
rules (1 = hole; any nonzero pixel of a mask image, ``> 127`` in a mask video).
"""

from __future__ import annotations

import dataclasses
import os
from typing import Iterator, Optional, Tuple

import numpy as np

from lgtsm_tf import video_io

#: File extensions (lower case) taken as video files inside a folder of videos.
VIDEO_EXTENSIONS = (".mp4", ".m4v", ".mov", ".mkv", ".avi", ".webm", ".gif", ".mpg", ".mpeg",
                    ".ts", ".y4m", ".flv", ".wmv")


@dataclasses.dataclass(frozen=True)
class VideoInputs:
    """One video to evaluate: its name and the paths of its ground truth, result and masks."""

    name: str
    ground_truth: str
    result: str
    masks: Optional[str] = None


@dataclasses.dataclass(frozen=True)
class PairedInputs:
    """The videos to evaluate, in natural name order, and the mask entries nobody used."""

    videos: Tuple[VideoInputs, ...]
    collection: bool
    unused_masks: Tuple[str, ...] = ()


def _exists(path: str, flag: str) -> None:
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: no such file or directory ({flag})")


def _has_images(folder: str) -> bool:
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.name.startswith("."):
                continue
            if (os.path.splitext(entry.name)[1].lower() in video_io.IMAGE_EXTENSIONS
                    and entry.is_file()):
                return True
    return False


def is_single_video(path: str) -> bool:
    """True for a file or a frame folder (a folder with an image file directly inside)."""
    return not os.path.isdir(path) or _has_images(path)


def _video_name(path: str) -> str:
    base = os.path.basename(os.path.normpath(path))
    return base if os.path.isdir(path) else os.path.splitext(base)[0]


def list_videos(folder: str, allow_images: bool = False) -> dict:
    """{name: path} of the videos in a folder of videos (see the module docstring).

    Raises ValueError if two entries have the same name (``bear.mp4`` and ``bear/``).
    """
    found = {}
    with os.scandir(folder) as entries:
        for entry in sorted(entries, key=lambda e: e.name):
            if entry.name.startswith("."):
                continue
            ext = os.path.splitext(entry.name)[1].lower()
            if entry.is_dir():
                name = entry.name
            elif entry.is_file() and (ext in VIDEO_EXTENSIONS
                                      or (allow_images and ext in video_io.IMAGE_EXTENSIONS)):
                name = os.path.splitext(entry.name)[0]
            else:
                continue
            if name in found:
                raise ValueError(f"{folder}: two entries are named {name!r}: "
                                 f"{os.path.basename(found[name])} and {entry.name}")
            found[name] = entry.path
    return found


def _names(names) -> str:
    names = sorted(names, key=video_io.natural_sort_key)
    shown = ", ".join(names[:20])
    return shown + (f", ... ({len(names)} in all)" if len(names) > 20 else "")


def pair_inputs(ground_truth, results, masks=None) -> PairedInputs:
    """Pairs ground truth, results and masks (one video each, or folders matched by name).

    Raises FileNotFoundError for a missing path and ValueError (listing the names) when the
    inputs are of different kinds or folders of videos do not match.
    """
    ground_truth, results = os.fspath(ground_truth), os.fspath(results)
    masks = None if masks is None else os.fspath(masks)
    _exists(ground_truth, "--ground_truth")
    _exists(results, "--results")
    if masks is not None:
        _exists(masks, "--masks")
    if is_single_video(ground_truth):
        if not is_single_video(results):
            raise ValueError(
                f"{results}: is a folder of videos (no image file directly inside) but "
                f"--ground_truth {ground_truth} is one video; give one result video or frame "
                "folder, or folders of videos for both")
        name = _video_name(ground_truth)
        return PairedInputs((VideoInputs(name, ground_truth, results, masks),), collection=False)

    if is_single_video(results):
        raise ValueError(
            f"{results}: is one video but --ground_truth {ground_truth} is a folder of videos; "
            "give a folder of result videos named like the ground-truth videos")
    truth = list_videos(ground_truth)
    if not truth:
        raise ValueError(f"{ground_truth}: no videos (video files or frame folders) found")
    found = list_videos(results)
    missing, extra = set(truth) - set(found), set(found) - set(truth)
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"no result in {results} for: {_names(missing)}")
        if extra:
            parts.append(f"no ground truth in {ground_truth} for: {_names(extra)}")
        raise ValueError("unmatched video names: " + "; ".join(parts))
    mask_paths, unused = {}, ()
    if masks is not None:
        if not os.path.isdir(masks):
            raise ValueError(
                f"{masks}: is one mask file but --ground_truth {ground_truth} is a folder of "
                "videos; give a folder with one mask folder, mask video or mask image per "
                "video, named like the videos")
        mask_paths = list_videos(masks, allow_images=True)
        no_masks = set(truth) - set(mask_paths)
        if no_masks:
            raise ValueError(f"unmatched video names: no masks in {masks} for: "
                             f"{_names(no_masks)}")
        unused = tuple(sorted(set(mask_paths) - set(truth), key=video_io.natural_sort_key))
    videos = tuple(
        VideoInputs(name, truth[name], found[name], mask_paths.get(name))
        for name in sorted(truth, key=video_io.natural_sort_key))
    return PairedInputs(videos, collection=True, unused_masks=unused)


def _count_rest(reader) -> int:
    n = 0
    for _ in reader:
        n += 1
    return n


def iter_frames(video: VideoInputs, invert_masks: bool = False
                ) -> Iterator[Tuple[np.ndarray, np.ndarray, Optional[np.ndarray]]]:
    """Yields (ground_truth uint8 [H, W, 3], result uint8 [H, W, 3], mask uint8 [H, W] or None).

    Streams (one frame of each in memory). Raises ValueError naming both files when the frame
    sizes or counts differ, and naming the mask source when its size or count differs from the
    video's (one mask image is used for every frame).
    """
    with video_io.open_video(video.ground_truth) as truth, \
            video_io.open_video(video.result) as result:
        if truth.size != result.size:
            raise ValueError(
                f"frame size differs: ground truth {video.ground_truth} is "
                f"{truth.size[1]}x{truth.size[0]} (WxH), result {video.result} is "
                f"{result.size[1]}x{result.size[0]}")
        n_truth, n_result = truth.num_frames, result.num_frames
        if n_truth is not None and n_result is not None and n_truth != n_result:
            raise ValueError(f"frame count differs: ground truth {video.ground_truth} has "
                             f"{n_truth} frames, result {video.result} has {n_result}")
        masks = None
        if video.masks is not None:
            masks = video_io.open_masks(video.masks, invert=invert_masks)
        try:
            if masks is not None and masks.size != truth.size:
                raise ValueError(
                    f"mask size differs: masks {video.masks} are {masks.size[1]}x{masks.size[0]}"
                    f" (WxH), ground truth {video.ground_truth} is "
                    f"{truth.size[1]}x{truth.size[0]}")
            count = 0
            for gt in truth:
                try:
                    res = next(result)
                except StopIteration:
                    total = count + 1 + _count_rest(truth)
                    raise ValueError(
                        f"frame count differs: ground truth {video.ground_truth} has {total} "
                        f"frames, result {video.result} has {count}") from None
                mask = None
                if masks is not None:
                    try:
                        mask = next(masks)
                    except StopIteration:
                        total = count + 1 + _count_rest(truth)
                        raise ValueError(
                            f"mask count differs: masks {video.masks} has {count} masks, ground "
                            f"truth {video.ground_truth} has {total} frames") from None
                count += 1
                yield gt, res, mask
            extra = _count_rest(result)
            if extra:
                raise ValueError(
                    f"frame count differs: ground truth {video.ground_truth} has {count} "
                    f"frames, result {video.result} has {count + extra}")
            if masks is not None and not masks.repeats:
                extra = _count_rest(masks)
                if extra:
                    raise ValueError(
                        f"mask count differs: masks {video.masks} has {count + extra} masks, "
                        f"ground truth {video.ground_truth} has {count} frames")
        finally:
            if masks is not None:
                masks.close()
