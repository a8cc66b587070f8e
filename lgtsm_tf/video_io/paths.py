"""Paths of lgtsm-tf's video files and frame folders: sorting, listing, output checks.

A frame folder holds one image per frame (extensions :data:`IMAGE_EXTENSIONS`, any case),
ordered by :func:`natural_sort_key` (``frame2.png`` before ``frame10.png``). Outputs are
checked up front by :func:`check_output_path` (parent folder exists and is writable).
"""

from __future__ import annotations

import errno
import os
import re
import tempfile
from fractions import Fraction
from typing import Union

PathLike = Union[str, "os.PathLike[str]"]
FrameRate = Union[Fraction, int, float]


#: File extensions (lower case) listed as frames/masks in a folder. Content decides decoding.
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".webp")


_DIGITS = re.compile(r"(\d+)")


def natural_sort_key(path: PathLike) -> tuple:
    """Sort key ordering embedded numbers numerically: ``frame2.png`` < ``frame10.png``.

    The key is built from the whole path string (so it also orders paths across folders);
    text parts compare case-insensitively, and the raw string breaks ties (``frame01`` vs
    ``frame1``) so the order is total and deterministic.
    """
    text = os.fspath(path)
    parts = _DIGITS.split(text)  # text, digits, text, digits, ..., text
    key = tuple(int(p) if i % 2 else p.casefold() for i, p in enumerate(parts))
    return (key, text)


def list_frame_files(folder: PathLike) -> list:
    """Return the image files in ``folder`` (JPEG/PNG/BMP/WebP by extension), naturally sorted.

    Hidden files (names starting with ``.``, e.g. macOS ``._00001.jpg`` resource forks) and
    sub-directories are skipped. Returns a list of ``str`` paths.

    Raises:
      FileNotFoundError: ``folder`` does not exist.
      NotADirectoryError: ``folder`` is not a directory.
      ValueError: the folder contains no image files.
    """
    folder = os.fspath(folder)
    if not os.path.exists(folder):
        raise FileNotFoundError(f"{folder}: no such directory")
    if not os.path.isdir(folder):
        raise NotADirectoryError(f"{folder}: not a directory")
    files = []
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.name.startswith("."):
                continue
            if os.path.splitext(entry.name)[1].lower() not in IMAGE_EXTENSIONS:
                continue
            if entry.is_file():
                files.append(entry.path)
    if not files:
        raise ValueError(
            f"{folder}: no image files ({'/'.join(e[1:] for e in IMAGE_EXTENSIONS)}) in folder"
        )
    files.sort(key=natural_sort_key)
    return files


def _check_exists(path: str) -> None:
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: no such file or directory")


def _check_writable(folder: str, path: str) -> None:
    """Raise naming ``path`` and ``folder`` unless a file can be created in ``folder``."""
    try:
        if not os.access(folder, os.W_OK | os.X_OK):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))
        fd, probe = tempfile.mkstemp(prefix=".lgtsm-write-test-", dir=folder)
        os.close(fd)
        os.remove(probe)
    except OSError as e:
        cls = PermissionError if isinstance(e, PermissionError) else OSError
        raise cls(f"{path}: cannot write to the folder {folder}: "
                  f"{e.strerror or e}") from None


def check_output_path(path: PathLike) -> None:
    """Check that ``path`` can be written, before any work: its parent folder must exist and
    be writable (tested by creating and removing a hidden file), and so must ``path`` itself
    if it is an existing folder (frame folder output).

    Raises:
      FileNotFoundError: ``"{path}: parent directory {parent} does not exist"``.
      PermissionError (or OSError, e.g. read-only file system):
        ``"{path}: cannot write to the folder {folder}: Permission denied"``.
    """
    path = os.fspath(path)
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        raise FileNotFoundError(f"{path}: parent directory {parent} does not exist")
    _check_writable(parent, path)
    if os.path.isdir(path):
        _check_writable(os.path.abspath(path), path)
