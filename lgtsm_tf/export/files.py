"""Atomic outputs for the exporters: write under a hidden temporary name, then rename.

Every exporter refuses to replace an existing output unless `overwrite=True`, and on any
error leaves nothing at the destination (the temporary is removed). A replaced directory is
moved aside first and deleted only after the new one is in place, so a crash at any point
leaves either the old or the new output (plus, at worst, a hidden `.<name>.old-*` directory).

Temporary names start with "." and are not numbers, so TF Serving (which loads only
numeric version directories under a model's base path) never sees a half-written version.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
from typing import Iterator


def check_output(path: str, overwrite: bool) -> None:
    """Raises FileExistsError if `path` exists (an empty directory does not count) and
    `overwrite` is False."""
    if os.path.lexists(path) and not overwrite:
        if os.path.isdir(path) and not os.path.islink(path) and not os.listdir(path):
            return
        raise FileExistsError(f"{path}: already exists (pass --overwrite / overwrite=True "
                              "to replace it)")


def _sibling(path: str, tag: str) -> str:
    parent, name = os.path.split(os.path.abspath(path))
    return os.path.join(parent, f".{name}.{tag}-{secrets.token_hex(4)}")


def _remove(path: str) -> None:
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path, ignore_errors=True)
    elif os.path.lexists(path):
        os.remove(path)


def _commit(tmp: str, path: str) -> None:
    """Moves `tmp` to `path`, replacing whatever is there (file or directory)."""
    if os.path.lexists(path):
        old = _sibling(path, "old")
        os.rename(path, old)
        try:
            os.rename(tmp, path)
        except BaseException:
            os.rename(old, path)  # put the old output back
            raise
        _remove(old)
    else:
        os.rename(tmp, path)


@contextlib.contextmanager
def atomic_directory(path: str, overwrite: bool = False) -> Iterator[str]:
    """Yields a fresh temporary directory beside `path`; renamed to `path` on success.

    Raises FileExistsError up front if `path` exists and `overwrite` is False.
    """
    path = os.path.abspath(os.fspath(path))
    check_output(path, overwrite)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = _sibling(path, "tmp")
    os.mkdir(tmp)
    try:
        yield tmp
        check_output(path, overwrite)  # someone may have created it meanwhile
        _commit(tmp, path)
    except BaseException:
        _remove(tmp)
        raise


@contextlib.contextmanager
def atomic_file(path: str, overwrite: bool = False) -> Iterator[str]:
    """Yields a temporary file name beside `path` (same extension); renamed to `path` if the
    block succeeds and the file was written."""
    path = os.path.abspath(os.fspath(path))
    check_output(path, overwrite)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    ext = os.path.splitext(path)[1]
    tmp = _sibling(path, "tmp") + ext
    try:
        yield tmp
        if not os.path.exists(tmp):
            raise RuntimeError(f"internal error: {tmp} was not written")
        check_output(path, overwrite)
        _commit(tmp, path)
    except BaseException:
        _remove(tmp)
        raise
