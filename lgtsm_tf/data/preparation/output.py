"""The output folder of ``lgtsm_tf.data.prepare``: checks before any work, build folders.

The folder is built under a hidden ``.<name>.partial-<8 hex digits>`` folder beside it
(:mod:`lgtsm_tf.atomic`) holding ``.owner`` (the builder's process id) until it is done.
"""

from __future__ import annotations

import os

import numpy as np
from PIL import Image

from lgtsm_tf import atomic, video_io

MANIFEST = "manifest.json"


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
