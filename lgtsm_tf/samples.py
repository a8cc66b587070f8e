r"""Fetch a few real video clips (OpenCV's sample videos) from Debian's ``opencv-doc`` package.

    python -m lgtsm_tf.samples [--output_dir data/samples] [--overwrite] [--deb FILE.deb]

What it does:

1. ``apt-get download opencv-doc`` into a temporary directory (``apt-get update`` is run, and the
   download retried, only if the first download fails); or uses ``--deb`` if given.
2. Reads the package's data archive (``dpkg-deb --fsys-tarfile``; a pure-Python reader is used
   when ``dpkg-deb`` is missing) and takes only these files:

   ============ ============================================================
   ``box.mp4``  ``usr/share/doc/opencv-doc/opencv4/html/box.mp4.gz`` (gunzipped)
   ``cup.mp4``  ``usr/share/doc/opencv-doc/opencv4/html/cup.mp4.gz`` (gunzipped)
   ``tree.avi`` ``usr/share/doc/opencv-doc/examples/data/tree.avi``
   ============ ============================================================

3. Writes them to ``--output_dir`` with ``LICENSE.txt`` (the package's Debian copyright file:
   OpenCV is Apache-2.0 AND BSD-3-Clause, plus the Apache-2.0 text when the system has it) and
   ``SOURCES.md`` (package, version, where each file came from, sizes, SHA-256, frames).
4. Decodes every clip with :func:`lgtsm_tf.video_io.read_video`; a clip that does not decode is
   removed again and the command fails.

Existing files are never replaced without ``--overwrite`` (checked before anything is fetched).
Needs a Debian/Ubuntu system with ``apt-get``, or a downloaded ``opencv-doc_*.deb`` via ``--deb``.
Train on the result with ``discover_sources("data/samples")``.
"""

from __future__ import annotations

import dataclasses
import glob
import gzip
import hashlib
import io
import lzma
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from typing import Dict, List, Optional, Tuple

from absl import app, flags

from lgtsm_tf import atomic

PACKAGE = "opencv-doc"
DEFAULT_OUTPUT_DIR = os.path.join("data", "samples")
LICENSE_FILE = "LICENSE.txt"
SOURCES_FILE = "SOURCES.md"
_COPYRIGHT_MEMBER = "usr/share/doc/opencv-doc/copyright"
_APACHE_TEXT = "/usr/share/common-licenses/Apache-2.0"


@dataclasses.dataclass(frozen=True)
class Clip:
    """One file to take from the package: ``member`` inside the .deb -> ``name`` on disk."""

    name: str
    member: str
    gzipped: bool


CLIPS = (
    Clip("box.mp4", "usr/share/doc/opencv-doc/opencv4/html/box.mp4.gz", True),
    Clip("cup.mp4", "usr/share/doc/opencv-doc/opencv4/html/cup.mp4.gz", True),
    Clip("tree.avi", "usr/share/doc/opencv-doc/examples/data/tree.avi", False),
)


class SamplesError(RuntimeError):
    """Fetching or verifying the samples failed; the message says what and how to fix it."""


# --------------------------------------------------------------------------------------
# Getting the .deb
# --------------------------------------------------------------------------------------


def _run(cmd: List[str], cwd: Optional[str] = None) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False)


def download_deb(workdir: str, package: str = PACKAGE) -> str:
    """``apt-get download <package>`` into ``workdir`` (``apt-get update`` + retry on failure).

    Returns the path of the .deb. Raises :class:`SamplesError` saying what failed.
    """
    if shutil.which("apt-get") is None:
        raise SamplesError(
            f"apt-get is not available: fetching {package} needs a Debian/Ubuntu system. "
            f"Elsewhere, download {package}_*.deb by hand (https://packages.debian.org/"
            f"bookworm/all/{package}/download) and pass it with --deb")
    result = _run(["apt-get", "download", package], cwd=workdir)
    if result.returncode != 0:
        update = _run(["apt-get", "update"])
        if update.returncode != 0:
            raise SamplesError(
                f"`apt-get download {package}` failed:\n{result.stderr.strip()}\nand "
                f"`apt-get update` failed too (it needs root and network access):\n"
                f"{update.stderr.strip()}")
        result = _run(["apt-get", "download", package], cwd=workdir)
        if result.returncode != 0:
            raise SamplesError(f"`apt-get download {package}` failed after `apt-get update`:\n"
                               f"{result.stderr.strip()}")
    debs = sorted(glob.glob(os.path.join(workdir, f"{package}_*.deb")))
    if not debs:
        raise SamplesError(f"`apt-get download {package}` reported success but no "
                           f"{package}_*.deb appeared in {workdir}")
    return debs[-1]


# --------------------------------------------------------------------------------------
# Reading the .deb
# --------------------------------------------------------------------------------------


def _ar_members(deb: str) -> Dict[str, bytes]:
    """Members of a .deb (an ``ar`` archive): name -> bytes."""
    with open(deb, "rb") as f:
        data = f.read()
    if not data.startswith(b"!<arch>\n"):
        raise SamplesError(f"{deb}: not a .deb file (no ar archive header)")
    members, pos = {}, 8
    while pos + 60 <= len(data):
        header = data[pos:pos + 60]
        name = header[:16].decode("ascii", "replace").strip().rstrip("/")
        size = int(header[48:58].decode("ascii").strip())
        members[name] = data[pos + 60:pos + 60 + size]
        pos += 60 + size + (size & 1)
    return members


def _open_compressed_tar(name: str, blob: bytes, deb: str) -> tarfile.TarFile:
    if name.endswith(".xz"):
        blob = lzma.decompress(blob)
    elif name.endswith(".gz"):
        blob = gzip.decompress(blob)
    elif not name.endswith(".tar"):
        raise SamplesError(f"{deb}: {name} is compressed in a format Python cannot read; "
                           "install dpkg (dpkg-deb)")
    return tarfile.open(fileobj=io.BytesIO(blob), mode="r:")


def _norm(member_name: str) -> str:
    return member_name[2:] if member_name.startswith("./") else member_name


def _extract_from_tar(tar: tarfile.TarFile, wanted: List[str], deb: str) -> Dict[str, bytes]:
    """Regular files whose path is in ``wanted``; a basename match elsewhere is a fallback."""
    exact, by_base = {}, {}
    basenames = {os.path.basename(w): w for w in wanted}
    for member in tar:
        name = _norm(member.name)
        target = name if name in wanted else basenames.get(os.path.basename(name))
        if target is None:
            continue
        if not member.isfile():
            raise SamplesError(f"{deb}: {name} is not a regular file (a link?); cannot use it")
        blob = tar.extractfile(member).read()
        if name in wanted:
            exact[target] = blob
        else:
            by_base.setdefault(target, (name, blob))
    out = dict(exact)
    for target, (name, blob) in by_base.items():
        if target not in out:
            out[target] = blob
    missing = [w for w in wanted if w not in out]
    if missing:
        raise SamplesError(f"{deb}: the package does not contain {', '.join(missing)}")
    return out


def scan_data_tar(deb: str, consume):
    """Returns ``consume(tar)`` for the data archive of a .deb, read as a stream (``tarfile``
    in ``r|`` mode: one pass over its members).

    Uses ``dpkg-deb --fsys-tarfile`` when available, else a pure-Python ar/tar reader (xz, gz
    or plain data archives).
    """
    if not os.path.isfile(deb):
        raise SamplesError(f"{deb}: no such file")
    if shutil.which("dpkg-deb"):
        proc = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", deb], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        try:
            with tarfile.open(fileobj=proc.stdout, mode="r|") as tar:
                result = consume(tar)
        except tarfile.TarError as e:
            proc.kill()
            raise SamplesError(f"{deb}: cannot read its data archive: {e}") from e
        finally:
            proc.stdout.close()
            stderr = proc.stderr.read().decode("utf-8", "replace")
            proc.stderr.close()
            code = proc.wait()
        if code != 0:
            raise SamplesError(f"{deb}: dpkg-deb --fsys-tarfile failed: {stderr.strip()}")
        return result
    members = _ar_members(deb)
    data_name = next((n for n in members if n.startswith("data.tar")), None)
    if data_name is None:
        raise SamplesError(f"{deb}: not a Debian package (no data archive)")
    with _open_compressed_tar(data_name, members[data_name], deb) as tar:
        return consume(tar)


def deb_file_names(deb: str) -> List[str]:
    """Paths (without ``./``) of the regular files in a .deb's data archive."""
    return scan_data_tar(deb, lambda tar: [_norm(m.name) for m in tar if m.isfile()])


def _parse_fields(text: str) -> Dict[str, str]:
    fields = {}
    for line in text.splitlines():
        if ":" in line and not line.startswith(" "):
            key, value = line.split(":", 1)
            fields[key.strip()] = value.strip()
    return fields


def read_deb(deb: str, wanted: List[str]) -> Tuple[Dict[str, bytes], Dict[str, str]]:
    """Files ``wanted`` (paths without ``./``) from a .deb, and its control fields.

    Uses ``dpkg-deb`` when available, else a pure-Python ar/tar reader (xz, gz or plain data
    archives). Returns ``({member: bytes}, {"Package": ..., "Version": ..., ...})``.
    """
    if not os.path.isfile(deb):
        raise SamplesError(f"{deb}: no such file")
    if shutil.which("dpkg-deb"):
        info = _run(["dpkg-deb", "-f", deb])
        if info.returncode != 0:
            raise SamplesError(f"{deb}: dpkg-deb cannot read it: {info.stderr.strip()}")
        fields = _parse_fields(info.stdout)
    else:
        members = _ar_members(deb)
        control_name = next((n for n in members if n.startswith("control.tar")), None)
        if control_name is None:
            raise SamplesError(f"{deb}: not a Debian package (no control archive)")
        fields = {}
        with _open_compressed_tar(control_name, members[control_name], deb) as tar:
            for member in tar:
                if _norm(member.name) == "control":
                    fields = _parse_fields(tar.extractfile(member).read().decode("utf-8"))
    files = scan_data_tar(deb, lambda tar: _extract_from_tar(tar, wanted, deb))
    return files, fields


# --------------------------------------------------------------------------------------
# Writing and verifying
# --------------------------------------------------------------------------------------


def _verify(path: str) -> Dict:
    from lgtsm_tf import video_io  # pylint: disable=import-outside-toplevel

    frames, rate = video_io.read_video(path)
    return {"frames": int(frames.shape[0]), "height": int(frames.shape[1]),
            "width": int(frames.shape[2]), "frame_rate": rate}


def _license_text(copyright_text: str, package: str, version: str) -> str:
    text = [
        f"The videos in this folder come from the Debian package {package} {version}",
        "(OpenCV's documentation and sample data). Debian's copyright file for the package is",
        "reproduced below; the videos fall under its `Files: *` stanza:",
        "OpenCV, License: Apache-2.0 AND BSD-3-Clause.",
        "",
        "=" * 78,
        copyright_text.rstrip(),
        "",
    ]
    if os.path.isfile(_APACHE_TEXT):
        with open(_APACHE_TEXT, encoding="utf-8") as f:
            text += ["=" * 78, f"Apache License 2.0 (from {_APACHE_TEXT}):", "", f.read().rstrip(), ""]
    else:
        text += ["=" * 78, "Apache License 2.0: https://www.apache.org/licenses/LICENSE-2.0", ""]
    return "\n".join(text)


def _sources_md(package: str, version: str, rows: List[Dict]) -> str:
    lines = [
        "# Sample videos",
        "",
        f"Fetched by `python -m lgtsm_tf.samples` on {time.strftime('%Y-%m-%d')} from the Debian "
        f"package `{package}` version `{version}` (`apt-get download {package}`).",
        "Licence: OpenCV, Apache-2.0 AND BSD-3-Clause (see LICENSE.txt).",
        "",
        "| file | from (inside the .deb) | bytes | sha256 | frames | size (WxH) | fps |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        fps = f"{float(r['frame_rate']):.3f}" if r["frame_rate"] else "-"
        lines.append(f"| {r['name']} | `{r['member']}`{' (gunzipped)' if r['gzipped'] else ''} "
                     f"| {r['bytes']} | `{r['sha256']}` | {r['frames']} | "
                     f"{r['width']}x{r['height']} | {fps} |")
    lines += [
        "",
        "Frames are the number that decode with PyAV (`lgtsm_tf.video_io.read_video`). Note: the",
        "AVI header of `tree.avi` declares more frames than the file holds (upstream's file is",
        "shorter than its header says); only the frames that decode are used.",
        "",
    ]
    return "\n".join(lines)


def fetch_samples(output_dir: str = DEFAULT_OUTPUT_DIR, overwrite: bool = False,
                  deb: Optional[str] = None, clips=CLIPS) -> List[Dict]:
    """Fetch, write and verify the sample clips (see the module docstring).

    Returns one dict per clip: ``name, path, member, gzipped, bytes, sha256, frames, height,
    width, frame_rate``. Raises :class:`SamplesError` / ``FileExistsError`` with the reason.
    """
    targets = [os.path.join(output_dir, c.name) for c in clips]
    targets += [os.path.join(output_dir, LICENSE_FILE), os.path.join(output_dir, SOURCES_FILE)]
    atomic.check_can_write(targets, overwrite, "{first}: already exists ({count} of the sample "
                           "files are present); pass --overwrite to replace them",
                           empty_dir_ok=False)
    with tempfile.TemporaryDirectory(prefix="lgtsm_samples_") as workdir:
        deb_path = deb if deb else download_deb(workdir)
        files, fields = read_deb(deb_path, [c.member for c in clips] + [_COPYRIGHT_MEMBER])
    package = fields.get("Package", PACKAGE)
    version = fields.get("Version", "unknown")
    os.makedirs(output_dir, exist_ok=True)
    rows, written = [], []
    try:
        for clip in clips:
            blob = files[clip.member]
            if clip.gzipped:
                try:
                    blob = gzip.decompress(blob)
                except (OSError, EOFError) as e:
                    raise SamplesError(f"{clip.member}: cannot gunzip: {e}") from e
            path = os.path.join(output_dir, clip.name)
            atomic.write_bytes(path, blob)
            written.append(path)
            try:
                info = _verify(path)
            except (ValueError, OSError) as e:
                raise SamplesError(f"{path}: written but does not decode: {e}") from e
            rows.append({"name": clip.name, "path": path, "member": clip.member,
                         "gzipped": clip.gzipped, "bytes": len(blob),
                         "sha256": hashlib.sha256(blob).hexdigest(), **info})
    except BaseException:
        for path in written:
            if os.path.exists(path):
                os.remove(path)
        raise
    copyright_text = files[_COPYRIGHT_MEMBER].decode("utf-8", "replace")
    atomic.write_text(os.path.join(output_dir, LICENSE_FILE),
                      _license_text(copyright_text, package, version))
    atomic.write_text(os.path.join(output_dir, SOURCES_FILE), _sources_md(package, version, rows))
    return rows


def define_flags(flag_values=flags.FLAGS) -> None:
    """Defines the CLI's flags on ``flag_values`` (called by :func:`run`, not at import, so
    importing this module never clashes with other CLIs' ``--output_dir``/``--overwrite``)."""
    flags.DEFINE_string("output_dir", DEFAULT_OUTPUT_DIR, "Where to write the sample videos.",
                        flag_values=flag_values)
    flags.DEFINE_bool("overwrite", False, "Replace sample files that already exist.",
                      flag_values=flag_values)
    flags.DEFINE_string("deb", None, f"Use this {PACKAGE}_*.deb instead of `apt-get download`.",
                        flag_values=flag_values)


def main(argv, flag_values=flags.FLAGS):
    """Fetch the samples as the flags say; prints one line per clip. Returns 0 or 1."""
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {' '.join(argv[1:])}")
    began = time.time()
    try:
        rows = fetch_samples(flag_values.output_dir, overwrite=flag_values.overwrite,
                             deb=flag_values.deb)
    except (SamplesError, FileExistsError) as e:
        print(f"lgtsm samples: error: {e}", file=sys.stderr)
        return 1
    for r in rows:
        print(f"{r['path']}: {r['frames']} frames, {r['width']}x{r['height']}, "
              f"{float(r['frame_rate'] or 0):.2f} fps, {r['bytes']} bytes")
    print(f"Wrote {len(rows)} clips, {LICENSE_FILE} and {SOURCES_FILE} to "
          f"{flag_values.output_dir} in {time.time() - began:.1f} s")
    return 0


def run():
    define_flags()
    app.run(main)


if __name__ == "__main__":
    run()
