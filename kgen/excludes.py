"""Paths taken out of a lint run: ``--exclude GLOB`` and a policy's ``spec.lint.exclude``.

Globs read as in .gitignore and ruff: a glob without ``/`` matches a file or directory
name at any depth (``vendor``, ``*.generated.yaml``); a glob with ``/`` matches the path
relative to its base directory (the current directory for ``--exclude``, the policy
file's directory for ``spec.lint.exclude``), ``**`` spanning directories. A matching
directory excludes everything below it.
"""

from __future__ import annotations

import os
import re
from typing import Iterable


def glob_pattern(glob: str) -> re.Pattern[str]:
    """The regular expression of one glob: ``*`` and ``?`` stay within a path segment."""
    out, index = [], 0
    while index < len(glob):
        if glob.startswith("**/", index):
            out.append("(?:.*/)?")
            index += 3
        elif glob.startswith("**", index):
            out.append(".*")
            index += 2
        elif glob[index] == "*":
            out.append("[^/]*")
            index += 1
        elif glob[index] == "?":
            out.append("[^/]")
            index += 1
        else:
            out.append(re.escape(glob[index]))
            index += 1
    return re.compile("".join(out))


class Excludes:
    """A predicate on paths: ``excludes(path)`` is true when some glob matches it."""

    def __init__(self, globs: Iterable[tuple[str, str]] = ()) -> None:
        # (pattern, base directory, whether it matches one name at any depth)
        self._globs: list[tuple[re.Pattern[str], str, bool]] = []
        for glob, base in globs:
            glob = glob.strip().rstrip("/")
            if glob:
                self._globs.append((glob_pattern(glob.lstrip("/")), os.path.abspath(base), "/" not in glob))

    def __bool__(self) -> bool:
        return bool(self._globs)

    def __call__(self, path: str) -> bool:
        if path == "-" or not self._globs:
            return False
        absolute = os.path.abspath(path)
        for pattern, base, any_depth in self._globs:
            relative = os.path.relpath(absolute, base).replace(os.sep, "/")
            inside = not (relative == ".." or relative.startswith("../"))
            if any_depth:
                # Below the base only: a folder above it that happens to match does not count.
                given = relative if inside else os.path.normpath(path).replace(os.sep, "/")
                if any(pattern.fullmatch(part) for part in given.split("/") if part not in (".", "..")):
                    return True
            elif inside:
                parts = relative.split("/")
                if any(pattern.fullmatch("/".join(parts[:depth])) for depth in range(1, len(parts) + 1)):
                    return True
        return False
