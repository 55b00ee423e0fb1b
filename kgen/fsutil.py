"""Files: read without over-allocating, real paths resolved once per folder, and writes that a
failure never leaves half-done."""

from __future__ import annotations

import os
from typing import BinaryIO, Callable, Iterable, Iterator


def read_at_most(handle: BinaryIO, size: int, limit: int) -> bytes:
    """The content of an open file whose size was ``size`` (at most ``limit`` + 1 bytes: one more
    says it is too large). Asking for the file's own size: ``read(limit + 1)`` makes Python
    allocate (map) ``limit`` bytes for every file, however small."""
    data = handle.read(min(size, limit) + 1)
    if len(data) > size and len(data) <= limit:  # it grew since: the rest, up to the limit
        data += handle.read(limit + 1 - len(data))
    return data


KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")


def kustomization_file(path: str) -> str | None:
    """The kustomization of folder ``path``, if it has one (asked of every path a lint is given:
    kgen.kustomize itself loads only for a Kustomize folder)."""
    for name in KUSTOMIZATION_FILES:
        candidate = os.path.join(path, name)
        if os.path.isfile(candidate):
            return candidate
    return None


def walk(top: str, onerror: Callable[[OSError], None]) -> Iterator[tuple[str, list[str], list[str], frozenset[str]]]:
    """``os.walk(top, onerror=onerror)`` (top down, into the folders the caller leaves in the
    list, not into linked ones), with the names of each folder's entries that are links: the
    listing says so already (:func:`real_path` of a file that is not one asks the system nothing)."""
    folders = [top]
    while folders:
        current = folders.pop()
        try:
            with os.scandir(current) as listing:
                entries = list(listing)
        except OSError as error:
            onerror(error)
            continue
        dirs: list[str] = []
        names: list[str] = []
        links: set[str] = set()
        for entry in entries:
            try:
                is_dir = entry.is_dir()
            except OSError:
                is_dir = False
            (dirs if is_dir else names).append(entry.name)
            if entry.is_symlink():
                links.add(entry.name)
        yield current, dirs, names, frozenset(links) if links else _NO_LINKS
        folders += [os.path.join(current, name) for name in reversed(dirs) if name not in links]


_NO_LINKS: frozenset[str] = frozenset()


def real_path(path: str, real_folders: dict[str, str], links: dict[str, frozenset[str]] | None = None) -> str:
    """``os.path.realpath(path)``, the folder's part taken from (and kept in) ``real_folders``:
    realpath asks the system about every component of every path (ten calls for a file of a
    corpus); a file that is not a link costs one, none in a folder ``links`` lists (a walk's)."""
    folder, name = os.path.split(path)
    if name in ("", ".", "..") or (name in links[folder] if links is not None and folder in links else os.path.islink(path)):
        return os.path.realpath(path)
    if folder not in real_folders:
        real_folders[folder] = os.path.realpath(folder)
    return os.path.join(real_folders[folder], name)


def write_atomic(path: str, text: str | Iterable[str]) -> None:
    """Write ``text`` (or its pieces, in order) to ``path`` through a temporary file in the same
    directory and a rename.

    A file that exists keeps its permissions; a new one gets what the umask allows (0644
    under 022), as any other tool's output would, not the temporary file's private 0600.
    """
    import tempfile

    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".kgen-", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            _write(handle, text)
        os.chmod(tmp, os.stat(path).st_mode & 0o7777 if os.path.exists(path) else 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _umask() -> int:
    """The process umask (reading it means setting it; set it straight back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _write(handle: object, text: str | Iterable[str]) -> None:
    for piece in [text] if isinstance(text, str) else text:
        handle.write(piece)  # type: ignore[attr-defined]


def write_output(path: str, text: str | Iterable[str]) -> None:
    """A report or baseline the user asked for: written atomically, except into a device or FIFO the
    user named (``-o /dev/null``, ``/dev/stdout``), which is written to, never replaced by a file."""
    if os.path.exists(path) and not os.path.isfile(path) and not os.path.isdir(path):
        try:
            with open(path, "w", encoding="utf-8", newline="") as handle:
                _write(handle, text)
        except OSError as exc:  # name the target: a failed write() names no file
            raise OSError(exc.errno, exc.strerror, path) from None
        return
    write_atomic(path, text)
