"""Atomic outputs: write under a hidden name beside the target, then rename it into place.

Every writer of lgtsm-tf output (videos, frame folders, reports, TFRecord shards, exported
models, prepared data sets, CSV logs) goes through this module, so they all behave alike:

* **Refusal**: :func:`check_can_write` raises ``FileExistsError`` with the caller's one-line
  message if an output exists and ``overwrite`` is False (an empty folder does not count).
* **Temporary name**: ``.<stem>.<tag>-<8 hex digits><ext>`` in the target's folder (same
  filesystem, so the final rename is atomic). ``tag`` is ``"partial"`` unless the caller
  needs another (the exporters use ``"tmp"``); ``ext`` is the target's extension when the
  writer picks its format by extension (videos, ``.keras``, ``.onnx``), else empty.
* **No half-written output**: on an exception the temporary is removed and the target is
  untouched. A replaced folder is moved aside (``.<name>.old-<hex>``) and deleted only after
  the new one is in place.
* **Stale temporaries**: a process killed outright cannot clean up; the next writer of the
  same target deletes the temporaries matching that target's pattern (never those of other
  targets, of writers open in this process, or those ``in_use`` says are still being written).
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
from typing import Callable, Iterator, List, Optional, Sequence, Union

PathLike = Union[str, "os.PathLike[str]"]

# The usual refusal; ``{first}`` is the first existing output, ``{all}`` all of them
# (comma-separated) and ``{count}`` how many exist.
ALREADY_EXISTS = "{first}: already exists (pass overwrite=True / --overwrite to replace it)"

# Temporaries of the outputs open in this process, never removed as stale.
_LIVE = set()


def existing_outputs(paths: Union[PathLike, Sequence[PathLike]],
                     empty_dir_ok: bool = True) -> List[str]:
    """The paths of ``paths`` (one path or a sequence) that exist; a (dangling) symbolic link
    counts, an empty folder does not unless ``empty_dir_ok`` is False."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    found = []
    for path in map(os.fspath, paths):
        if not os.path.lexists(path):
            continue
        if empty_dir_ok and os.path.isdir(path) and not os.path.islink(path) \
                and not os.listdir(path):
            continue
        found.append(path)
    return found


def check_can_write(paths: Union[PathLike, Sequence[PathLike]], overwrite: bool,
                    message: str = ALREADY_EXISTS, empty_dir_ok: bool = True) -> None:
    """Raise ``FileExistsError(message)`` if any of ``paths`` exists and not ``overwrite``.

    ``message`` is formatted with ``first`` (the first existing path), ``all`` (every existing
    path, comma-separated) and ``count``; see :func:`existing_outputs` for what exists.
    """
    if overwrite:
        return
    found = existing_outputs(paths, empty_dir_ok)
    if found:
        raise FileExistsError(message.format(first=found[0], all=", ".join(found),
                                             count=len(found)))


def _split(path: str, keep_ext: bool):
    parent, name = os.path.split(os.path.abspath(path))
    stem, ext = os.path.splitext(name) if keep_ext else (name, "")
    return parent, stem, ext


def temp_sibling(path: PathLike, keep_ext: bool = False, tag: str = "partial") -> str:
    """A fresh hidden name ``.<stem>.<tag>-<8 hex digits><ext>`` beside ``path``."""
    parent, stem, ext = _split(os.fspath(path), keep_ext)
    return os.path.join(parent, f".{stem}.{tag}-{secrets.token_hex(4)}{ext}")


def remove_stale(path: PathLike, directory: bool = False, keep_ext: bool = False,
                 tag: str = "partial", in_use: Optional[Callable[[str], bool]] = None) -> None:
    """Delete the temporaries an earlier, killed writer of ``path`` left.

    Only names :func:`temp_sibling` makes for this very ``path`` (and ``keep_ext``/``tag``)
    match, and only folders if ``directory`` else files. Temporaries of outputs open in this
    process, and those for which ``in_use(temporary)`` is true, are kept.
    """
    parent, stem, ext = _split(os.fspath(path), keep_ext)
    pattern = re.compile(rf"\.{re.escape(stem)}\.{re.escape(tag)}-[0-9a-f]{{8}}{re.escape(ext)}")
    if not os.path.isdir(parent):
        return
    with os.scandir(parent) as entries:
        stale = [e.path for e in entries if pattern.fullmatch(e.name) and e.path not in _LIVE
                 and (e.is_dir(follow_symlinks=False) if directory
                      else e.is_file(follow_symlinks=False))]
    for temp in stale:
        if in_use is not None and in_use(temp):
            continue
        try:
            if directory:
                shutil.rmtree(temp)
            else:
                os.remove(temp)
        except FileNotFoundError:
            pass


def _remove(path: str) -> None:
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path, ignore_errors=True)
    elif os.path.lexists(path):
        os.remove(path)


class AtomicOutput:
    """A hidden temporary beside ``path`` (:attr:`tmp`) that :meth:`commit` renames to ``path``.

    Args:
      path: the target, a file or (``directory=True``) a folder. Its folder must exist.
      directory: create :attr:`tmp` as an empty folder (else only the name is reserved).
      keep_ext: the temporary keeps ``path``'s extension (default: for files, not folders).
      tag: the word in the temporary's name (``"partial"``; the exporters use ``"tmp"``).
      clean_stale: first delete the temporaries a killed writer of ``path`` left
        (:func:`remove_stale`, with ``in_use``).
      in_use: see :func:`remove_stale`.

    No checks for an existing target are made here (see :func:`check_can_write`).
    """

    def __init__(self, path: PathLike, directory: bool = False, keep_ext: Optional[bool] = None,
                 tag: str = "partial", clean_stale: bool = True,
                 in_use: Optional[Callable[[str], bool]] = None):
        self.path = os.fspath(path)
        self.directory = bool(directory)
        keep_ext = not self.directory if keep_ext is None else bool(keep_ext)
        if clean_stale:
            remove_stale(self.path, self.directory, keep_ext, tag, in_use)
        self.tmp = temp_sibling(self.path, keep_ext, tag)
        if self.directory:
            os.mkdir(self.tmp)
        _LIVE.add(self.tmp)
        self.state = "open"

    def commit(self, merge: bool = False) -> None:
        """Move :attr:`tmp` to ``path``, replacing whatever is there.

        A folder at ``path`` is moved aside and deleted once the new output is in place, or,
        with ``merge`` (folders only), kept: the temporary's entries are moved into it,
        replacing files of the same name. On an error the temporary is removed.
        """
        if self.state != "open":
            raise ValueError(f"{self.path}: output is already {self.state}")
        try:
            target_is_dir = os.path.isdir(self.path) and not os.path.islink(self.path)
            if merge and self.directory and target_is_dir:
                for name in sorted(os.listdir(self.tmp)):
                    os.replace(os.path.join(self.tmp, name), os.path.join(self.path, name))
                os.rmdir(self.tmp)
            elif target_is_dir:
                old = temp_sibling(self.path, tag="old")
                os.rename(self.path, old)
                try:
                    os.rename(self.tmp, self.path)
                except BaseException:
                    os.rename(old, self.path)  # put the old output back
                    raise
                _remove(old)
            else:
                os.replace(self.tmp, self.path)
        except BaseException:
            self.discard()
            raise
        self.state = "committed"
        _LIVE.discard(self.tmp)

    def discard(self) -> None:
        """Remove the temporary; ``path`` is left untouched. Idempotent."""
        if self.state == "committed":
            return
        self.state = "discarded"
        _remove(self.tmp)
        _LIVE.discard(self.tmp)


@contextlib.contextmanager
def atomic_outputs(paths: Sequence[PathLike], overwrite: bool = False, *,
                   message: str = ALREADY_EXISTS, directory: bool = False,
                   keep_ext: Optional[bool] = None, tag: str = "partial",
                   empty_dir_ok: bool = True,
                   require_written: bool = False) -> Iterator[List[str]]:
    """Yield one temporary per path; all are renamed into place if the block succeeds.

    Refuses existing outputs without ``overwrite`` (:func:`check_can_write` with ``message``
    and ``empty_dir_ok``) before the block and again just before the renames. Parent folders
    are created. On an exception every temporary is removed and no target changes. With
    ``require_written`` a temporary the block did not create is an error (RuntimeError), not
    an empty output.
    """
    paths = [os.fspath(p) for p in paths]
    check_can_write(paths, overwrite, message, empty_dir_ok)
    outputs = []
    try:
        for path in paths:
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
            outputs.append(AtomicOutput(path, directory, keep_ext, tag))
        yield [out.tmp for out in outputs]
        for out in outputs:
            if require_written and not os.path.lexists(out.tmp):
                raise RuntimeError(f"internal error: {out.tmp} was not written")
        # Someone may have created one meanwhile.
        check_can_write(paths, overwrite, message, empty_dir_ok)
        for out in outputs:
            out.commit()
    except BaseException:
        for out in outputs:
            out.discard()
        raise


@contextlib.contextmanager
def atomic_file(path: PathLike, overwrite: bool = False, *, message: str = ALREADY_EXISTS,
                keep_ext: bool = True, tag: str = "partial") -> Iterator[str]:
    """Yield a temporary file name beside ``path`` (same extension unless not ``keep_ext``);
    renamed to ``path`` if the block succeeds and wrote it. See :func:`atomic_outputs`."""
    with atomic_outputs([path], overwrite, message=message, keep_ext=keep_ext, tag=tag,
                        require_written=True) as temps:
        yield temps[0]


@contextlib.contextmanager
def atomic_directory(path: PathLike, overwrite: bool = False, *,
                     message: str = ALREADY_EXISTS, tag: str = "partial") -> Iterator[str]:
    """Yield a fresh empty folder beside ``path``; renamed to ``path`` (replacing a folder
    there) if the block succeeds. See :func:`atomic_outputs`."""
    with atomic_outputs([path], overwrite, message=message, directory=True, tag=tag) as temps:
        yield temps[0]


def write_bytes(path: PathLike, data: bytes, overwrite: bool = True) -> None:
    """Write ``data`` to ``path`` atomically (replacing it unless not ``overwrite``)."""
    with atomic_file(path, overwrite) as tmp:
        with open(tmp, "wb") as f:
            f.write(data)


def write_text(path: PathLike, text: str, overwrite: bool = True) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically (replacing it unless not ``overwrite``)."""
    write_bytes(path, text.encode("utf-8"), overwrite)
