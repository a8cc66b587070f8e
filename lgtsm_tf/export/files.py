"""Atomic outputs for the exporters (:mod:`lgtsm_tf.atomic` with the exporters' settings).

Every exporter refuses to replace an existing output unless `overwrite=True`, and on any
error leaves nothing at the destination (the temporary is removed). A replaced directory is
moved aside first and deleted only after the new one is in place, so a crash at any point
leaves either the old or the new output (plus, at worst, a hidden `.<name>.old-*` directory).

Temporary names are `.<name>.tmp-<8 hex digits>[.ext]`: they start with "." and are not
numbers, so TF Serving (which loads only numeric version directories under a model's base
path) never sees a half-written version.
"""

from __future__ import annotations

import os
from typing import ContextManager

from lgtsm_tf import atomic

MESSAGE = "{first}: already exists (pass --overwrite / overwrite=True to replace it)"
TAG = "tmp"


def check_output(path: str, overwrite: bool) -> None:
    """Raises FileExistsError if `path` exists (an empty directory does not count) and
    `overwrite` is False."""
    atomic.check_can_write(os.fspath(path), overwrite, MESSAGE)


def atomic_directory(path: str, overwrite: bool = False) -> ContextManager[str]:
    """Yields a fresh temporary directory beside `path`; renamed to `path` on success.

    Raises FileExistsError up front if `path` exists and `overwrite` is False.
    """
    return atomic.atomic_directory(os.path.abspath(os.fspath(path)), overwrite,
                                   message=MESSAGE, tag=TAG)


def atomic_file(path: str, overwrite: bool = False) -> ContextManager[str]:
    """Yields a temporary file name beside `path` (same extension); renamed to `path` if the
    block succeeds and the file was written."""
    return atomic.atomic_file(os.path.abspath(os.fspath(path)), overwrite, message=MESSAGE,
                              tag=TAG)
