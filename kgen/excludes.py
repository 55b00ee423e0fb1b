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
        self._names: list[re.Pattern[str]] = []
        self._paths: list[tuple[re.Pattern[str], str]] = []
        for glob, base in globs:
            glob = glob.strip().rstrip("/")
            if "/" in glob:
                self._paths.append((glob_pattern(glob.lstrip("/")), os.path.abspath(base)))
            elif glob:
                self._names.append(glob_pattern(glob))

    def __bool__(self) -> bool:
        return bool(self._names or self._paths)

    def __call__(self, path: str) -> bool:
        if path == "-" or not self:
            return False
        absolute = os.path.abspath(path)
        if self._names:
            parts = os.path.normpath(path).replace(os.sep, "/").split("/")
            if any(pattern.fullmatch(part) for pattern in self._names for part in parts if part not in (".", "..")):
                return True
        for pattern, base in self._paths:
            relative = os.path.relpath(absolute, base).replace(os.sep, "/")
            if relative.startswith("../") or relative == "..":
                continue
            parts = relative.split("/")
            if any(pattern.fullmatch("/".join(parts[:depth])) for depth in range(1, len(parts) + 1)):
                return True
        return False
