"""Atomic, owner-only file writes. Patient data never lands half-written or world-readable."""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from pathlib import Path

OWNER_ONLY = 0o600


class UnsafeOutput(OSError):
    """The target of a write is not a regular file this user may replace (``strerror`` says why)."""

    def __init__(self, path: str | os.PathLike[str], problem: str) -> None:
        super().__init__(errno.EPERM, problem, str(path))


def output_problem(path: str | os.PathLike[str]) -> str | None:
    """Why ``path`` must not be replaced by an output file, or None when it is missing or a regular file
    of this user's that the user may write. Output goes to regular files only: not to a device (as root,
    ``/dev/null`` would become a file of patient data), a FIFO, a socket, a directory or a symbolic link;
    and a file of another user's, or one its owner made read-only, is not replaced."""
    try:
        st = os.lstat(path)
    except OSError:  # missing, or a folder that cannot be reached: the write itself reports it
        return None
    mode = st.st_mode
    kinds = ((stat.S_ISLNK, "is a symbolic link"), (stat.S_ISDIR, "is a directory"),
             (stat.S_ISCHR, "is a device"), (stat.S_ISBLK, "is a device"), (stat.S_ISFIFO, "is a FIFO"),
             (stat.S_ISSOCK, "is a socket"))
    for test, problem in kinds:
        if test(mode):
            return f"{problem}, not a regular file"
    if not stat.S_ISREG(mode):
        return "is not a regular file"
    if hasattr(os, "geteuid") and st.st_uid != os.geteuid():
        return "belongs to another user; not replaced"
    if not mode & stat.S_IWUSR:
        return "is read-only; not replaced"
    return None


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes, mode: int = OWNER_ONLY) -> None:
    """Write ``data`` to ``path`` atomically: temp file in the same folder, fsync, rename.

    The file is created with ``mode`` (owner read/write only by default). An interruption at
    any point leaves either the old file or the new one, never a partial one. A target that is not a
    regular file of this user's (``output_problem``) raises ``UnsafeOutput`` and is left as it was.
    """
    target = Path(path)
    problem = output_problem(target)
    if problem is not None:
        raise UnsafeOutput(target, problem)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        problem = output_problem(target)  # again: it may have changed while the data was written
        if problem is not None:
            raise UnsafeOutput(target, problem)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):
        dir_fd = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def atomic_write_text(path: str | os.PathLike[str], text: str, mode: int = OWNER_ONLY) -> None:
    atomic_write_bytes(path, text.encode("utf-8"), mode)
