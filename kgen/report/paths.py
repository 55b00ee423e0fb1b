"""Where a finding's file is for CI platforms: its path from the repository root.

Code scanning and workflow annotations resolve paths against the checkout, so a path as
the user typed it (absolute, with ``..``, from a subdirectory) would point at the wrong
file or none.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path


@lru_cache(maxsize=None)
def _repository_root(directory: Path) -> Path | None:
    """The nearest directory at or above ``directory`` that holds ``.git``."""
    if (directory / ".git").exists():
        return directory
    return None if directory.parent == directory else _repository_root(directory.parent)


def repository_path(file: str) -> str | None:
    """``file`` relative to its repository root (POSIX separators); None for input that is
    not a file on disk (``<stdin>``) or a file outside any repository."""
    if file.startswith("<"):
        return None
    path = Path(os.path.abspath(file))
    root = _repository_root(path.parent) or _repository_root(Path.cwd())
    if root is None or not path.is_relative_to(root):
        return None
    return path.relative_to(root).as_posix()
