"""Writing files so that a failure never leaves one half-written."""

from __future__ import annotations

import os
import tempfile


def write_atomic(path: str, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same directory and a rename.

    A file that exists keeps its permissions (the temporary file is created private).
    """
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".kgen-", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        if os.path.exists(path):
            os.chmod(tmp, os.stat(path).st_mode & 0o7777)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_output(path: str, text: str) -> None:
    """A report or baseline the user asked for: written atomically, except into a device or FIFO the
    user named (``-o /dev/null``, ``/dev/stdout``), which is written to, never replaced by a file."""
    if os.path.exists(path) and not os.path.isfile(path) and not os.path.isdir(path):
        try:
            with open(path, "w", encoding="utf-8", newline="") as handle:
                handle.write(text)
        except OSError as exc:  # name the target: a failed write() names no file
            raise OSError(exc.errno, exc.strerror, path) from None
        return
    write_atomic(path, text)
