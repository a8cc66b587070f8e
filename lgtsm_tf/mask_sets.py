r"""Sets of free-form moving video masks on disk (`write_mask_set`; the lgtsm-make-masks command,
`lgtsm_tf.cli.make_masks`, writes them).

Layout: ``OUTPUT_DIR/<video_id>/00000.png, 00001.png, ...`` (8-bit grayscale PNG, 255 = hole,
0 = known), with ``<video_id>`` = ``00000``, ``00001``, ... With ``cluster_by_area`` each video
goes to ``OUTPUT_DIR/<bin>/<video_id>/`` where ``<bin>`` is its mean hole ratio in percent,
``00-10``, ``10-20``, ..., ``90-100``.

Existing non-empty video folders are never written into unless ``overwrite`` is given; with
``overwrite`` only the old frame files (``NNNNN.png``) of the regenerated videos are removed.
"""

from __future__ import annotations

import os
import re
import time

import numpy as np
from absl import logging
from PIL import Image

from lgtsm_tf import masks as masks_lib

BOX_PRESET = "box"
_FRAME_RE = re.compile(r"^\d{5}\.png$")
_BINS = [f"{lo:02d}-{lo + 10:02d}" for lo in range(0, 100, 10)]


def area_bin(ratio: float) -> str:
    """Sub-folder name of a mean hole ratio in [0, 1]: '00-10', '10-20', ..., '90-100'."""
    return _BINS[min(int(ratio * 10), 9)]


def _existing_frames(path: str) -> list[str]:
    return sorted(f for f in os.listdir(path) if _FRAME_RE.match(f)) if os.path.isdir(path) else []


def _video_dirs(output_dir: str, video_id: str, cluster_by_area: bool) -> list[str]:
    """Every folder a video could be written to (all bins when clustering)."""
    if cluster_by_area:
        return [os.path.join(output_dir, b, video_id) for b in _BINS]
    return [os.path.join(output_dir, video_id)]


def write_mask_set(
    output_dir: str,
    num_videos: int,
    num_frames: int,
    height: int,
    width: int,
    presets=("object_like_middle",),
    seed: int = 0,
    area_range=None,
    num_strokes=(1, 20),
    max_tries: int = 200,
    cluster_by_area: bool = False,
    overwrite: bool = False,
) -> dict:
    """Generates ``num_videos`` mask videos and writes them as PNG files (255 = hole).

    Video ``i`` uses its own generator spawned from ``seed``, so a video does not depend on
    ``num_videos`` or on rejections in other videos.

    Returns:
      ``{"num_videos": int, "mean_hole_ratio": float, "ratios": list[float],
         "dirs": list[str]}``.

    Raises:
      FileExistsError: a target video folder is non-empty and ``overwrite`` is False (checked for
        all videos before anything is written).
      ValueError: invalid arguments (see ``lgtsm_tf.masks``).
    """
    if not output_dir:
        raise ValueError("output_dir must be given")
    if isinstance(presets, str):
        presets = [p for p in presets.split(",") if p]
    presets = list(presets)
    box = BOX_PRESET in presets
    if box and len(presets) > 1:
        raise ValueError(f"'{BOX_PRESET}' cannot be combined with stroke presets")
    if not box:
        for p in presets:
            masks_lib.get_preset(p)
    if area_range is not None:
        area_range = masks_lib._check_area_range(area_range)  # pylint: disable=protected-access
    video_ids = [f"{i:05d}" for i in range(num_videos)]

    # Refuse before writing anything.
    occupied = [d for vid in video_ids for d in _video_dirs(output_dir, vid, cluster_by_area)
                if os.path.isdir(d) and os.listdir(d)]
    if occupied and not overwrite:
        raise FileExistsError(
            f"{len(occupied)} target video folder(s) already exist and are not empty "
            f"(e.g. {occupied[0]}); pass --overwrite to replace their frames or choose another "
            f"--output_dir")

    children = np.random.SeedSequence(seed).spawn(num_videos)
    ratios, dirs = [], []
    start = time.time()
    for i, (vid, child) in enumerate(zip(video_ids, children)):
        rng = np.random.default_rng(child)
        if box:
            masks = masks_lib.box_masks(num_frames, height, width, rng)
            if area_range is not None and not area_range[0] <= masks_lib.hole_ratio(masks) <= area_range[1]:
                raise ValueError(f"Box masks cannot be constrained to area range {area_range}")
        elif area_range is not None:
            masks = masks_lib.sample_masks(num_frames, height, width, rng, presets, area_range,
                                           num_strokes, max_tries)
        else:
            preset = presets[int(rng.integers(len(presets)))]
            masks = masks_lib.moving_stroke_masks(num_frames, height, width, preset, num_strokes, rng)
        ratio = masks_lib.hole_ratio(masks)

        for d in _video_dirs(output_dir, vid, cluster_by_area):
            stale = _existing_frames(d)
            if stale:
                logging.warning("Overwriting: removing %d old frame(s) in %s", len(stale), d)
                for f in stale:
                    os.remove(os.path.join(d, f))
            if cluster_by_area and os.path.isdir(d) and not os.listdir(d):
                os.rmdir(d)  # an old copy of this video in another area bin
                parent = os.path.dirname(d)
                if not os.listdir(parent):
                    os.rmdir(parent)
        if cluster_by_area:
            video_dir = os.path.join(output_dir, area_bin(ratio), vid)
        else:
            video_dir = os.path.join(output_dir, vid)
        os.makedirs(video_dir, exist_ok=True)
        for t, frame in enumerate(masks):
            Image.fromarray((frame * 255).astype(np.uint8)).save(
                os.path.join(video_dir, f"{t:05d}.png"))
        ratios.append(ratio)
        dirs.append(video_dir)
        logging.info("[%d/%d] %s: hole ratio %.3f (%.1fs)", i + 1, num_videos, video_dir, ratio,
                     time.time() - start)
    return {"num_videos": num_videos, "mean_hole_ratio": float(np.mean(ratios)),
            "ratios": ratios, "dirs": dirs}
