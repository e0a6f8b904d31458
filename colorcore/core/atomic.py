"""Atomic file writes: a crash or a full disk never leaves a half-written file in place of a good one.

Each write goes to a temporary file in the target's folder, is flushed and fsync'ed, then replaces the
target with `os.replace` (atomic on POSIX and Windows); the folder is fsync'ed so the rename survives
a power cut. Torch-free, so every part of the engine can use it.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import BinaryIO, Callable

PathLike = str | os.PathLike


DEFAULT_FILE_MODE = 0o666


def _read_umask() -> int:
    """The process umask (read by setting it and putting it back: done once, at import, before any
    worker thread could create a file in between)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


UMASK = _read_umask()


def fsync_dir(folder: PathLike) -> None:
    """Make a rename inside `folder` durable (no-op where folders cannot be opened, e.g. Windows)."""
    if os.name == "nt":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: PathLike, write: Callable[[BinaryIO], None]) -> Path:
    """Write a file atomically: `write(handle)` into a temp file in the same folder, fsync, replace.

    If `write` raises (or the process dies) the previous file at `path` is untouched. The file gets the
    permissions a plain `open()` would give it (0666 minus the umask), not mkstemp's private 0600.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp_name, DEFAULT_FILE_MODE & ~UMASK)
        os.replace(tmp_name, target)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    fsync_dir(target.parent)
    return target


def atomic_write_bytes(path: PathLike, data: bytes) -> Path:
    """`atomic_write` for a bytes payload."""
    return atomic_write(path, lambda handle: handle.write(data))


def atomic_write_text(path: PathLike, text: str) -> Path:
    """`atomic_write` for UTF-8 text."""
    return atomic_write(path, lambda handle: handle.write(text.encode("utf-8")))


def atomic_copy(source: PathLike, path: PathLike) -> Path:
    """Copy the file `source` to `path` (streamed: a video may be large; parent folders made) so that
    `path` is either its old file or the complete copy."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(source, "rb") as handle:
        return atomic_write(target, lambda out: shutil.copyfileobj(handle, out))


def atomic_link(source: PathLike, path: PathLike) -> Path:
    """Make `path` a copy of the finished file `source`, atomically: a hard link where the file
    system has them (no data written), else a byte copy (fsync'ed). `source` is left as it is.
    """
    target = Path(path)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.link.tmp")
    tmp.unlink(missing_ok=True)
    try:
        try:
            os.link(source, tmp)
        except OSError:  # FAT/exFAT, some network shares
            with open(source, "rb") as src, open(tmp, "wb") as dst:
                shutil.copyfileobj(src, dst)
                dst.flush()
                os.fsync(dst.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(target.parent)
    return target
