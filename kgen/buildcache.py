"""kgen's cache: what an external renderer (Kustomize) printed for given inputs, and indexes
of large package files, kept between runs.

A rendering costs a process (~35-110 ms for ``kubectl kustomize``); a lint of an unchanged
repository would pay it again for every root. The key of a rendering is a digest of everything
the renderer can read: its own binary, its arguments, and the content of every file below the
directories it is allowed to read. A directory whose files cannot all be read, or that holds
more than ``MAX_TREE_BYTES``, is never cached. Entries live in ``$KGEN_CACHE_DIR``, else
``$XDG_CACHE_HOME/kgen``, else ``~/.cache/kgen``, never beside the input; ``KGEN_NO_CACHE=1``
turns the cache off. Writes go through a temporary file and a rename, so concurrent runs
never see half an entry, and a cache that cannot be read or written is simply not used.
hashlib and tempfile are imported only to hash trees and to write: a lookup costs one open.
"""

from __future__ import annotations

import os
import stat
import time

from kgen.fsutil import read_at_most

# Bump when what an entry holds, or how a key is made, changes: old entries are then never read.
_FORMAT = b"kgen-build-cache 1\n"
# A tree that holds more than this (a kustomization at the top of a large repository) is not
# hashed on every lint: its builds are simply not cached.
MAX_TREE_BYTES = 64 * 1024 * 1024
_SKIPPED_DIRS = frozenset({".git"})  # a repository's history: no renderer reads it


def cache_dir() -> str | None:
    """Where entries live, or None when the cache is turned off."""
    if os.environ.get("KGEN_NO_CACHE", "") not in ("", "0"):
        return None
    explicit = os.environ.get("KGEN_CACHE_DIR")
    if explicit:
        return explicit
    base = os.environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(base):  # unset, or relative: the XDG spec says to ignore it
        base = os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "kgen") if os.path.isabs(base) else None  # no HOME: no cache


def binary_identity(path: str) -> bytes:
    """A renderer's binary as a key part: where it is, its size and when it was written."""
    info = os.stat(path)  # the file a link leads to
    return f"{path}\0{info.st_size}\0{info.st_mtime_ns}\0{info.st_ino}".encode()


def tree_digest(directory: str) -> bytes | None:
    """The digest of everything below ``directory`` (names, kinds, contents; links followed), or
    None when some of it cannot be read, is not a regular file or directory, or the whole is
    larger than MAX_TREE_BYTES."""
    found = _tree(os.path.realpath(directory), frozenset())
    return found[0] if found is not None else None


def _tree(real: str, parents: frozenset[str]) -> tuple[bytes, int] | None:
    import hashlib

    if real in parents:  # a link back up the tree: that content is already being hashed
        return b"loop", 0
    tree = hashlib.blake2b()
    size = 0
    try:
        with os.scandir(real) as listing:
            entries = sorted(listing, key=lambda entry: entry.name)
    except OSError:
        return None
    for entry in entries:
        if entry.name in _SKIPPED_DIRS:
            continue
        try:
            info = entry.stat()  # links followed
        except OSError:  # a dangling link: a renderer that reads it fails, nothing to cache
            return None
        if stat.S_ISDIR(info.st_mode):
            # The real path of a folder below a real path is itself, unless it is a link.
            child = _tree(os.path.realpath(entry.path) if entry.is_symlink() else entry.path, parents | {real})
        elif stat.S_ISREG(info.st_mode):
            child = _file(entry.path, info)
        else:  # a FIFO, socket or device: never opened
            return None
        if child is None:
            return None
        size += child[1]
        if size > MAX_TREE_BYTES:
            return None
        tree.update(entry.name.encode("utf-8", "surrogateescape") + b"\0" + child[0])
    return b"d" + tree.digest(), size


# File digests already computed in this process, by settled_signature(): the most recent ones
# (Kustomize roots that share files are read close together), so that a monorepo's lint does
# not hold one for every file it walks.
_FILES: dict[tuple, tuple[bytes, int]] = {}
_MAX_FILES = 4096
_SETTLED_NS = 2_000_000_000


def settled_signature(path: str, info: os.stat_result | None = None) -> tuple | None:
    """What identifies the content of the file at ``path`` for the rest of this process: its
    path, device, inode, size and time stamps; None when it cannot be read or changed in the
    last seconds (a further change may not move its time stamps yet: the clock ticks coarsely)."""
    if info is None:
        try:
            info = os.stat(path)
        except OSError:
            return None
    if time.time_ns() - max(info.st_mtime_ns, info.st_ctime_ns) <= _SETTLED_NS:
        return None
    return (path, info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)


def _file(path: str, info: os.stat_result) -> tuple[bytes, int] | None:
    signature = settled_signature(path, info)
    if signature is not None and signature in _FILES:
        return _FILES[signature]
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as handle:
            opened = os.fstat(fd)
            if not stat.S_ISREG(opened.st_mode):
                return None
            content = read_at_most(handle, opened.st_size, MAX_TREE_BYTES)
    except OSError:
        return None
    import hashlib

    found = b"f" + hashlib.blake2b(content).digest(), len(content)
    if signature is not None:
        if len(_FILES) >= _MAX_FILES:
            del _FILES[next(iter(_FILES))]
        _FILES[signature] = found
    return found


def entry_key(parts: list[bytes]) -> str:
    """The name of the entry for these key parts."""
    import hashlib

    key = hashlib.blake2b(_FORMAT, digest_size=32)
    for part in parts:
        key.update(len(part).to_bytes(8, "little") + part)
    return key.hexdigest()


def has(kind: str, key: str) -> bool:
    """Whether an entry is stored under ``key`` (:func:`lookup` reads it, and may still find it damaged)."""
    directory = cache_dir()
    return directory is not None and os.path.isfile(os.path.join(directory, kind, key[:2], key))


def lookup(kind: str, key: str) -> str | None:
    """The text stored under ``key`` (a file name: a digest, or letters, digits, dots and
    dashes), or None: no entry, cache off or unreadable."""
    directory = cache_dir()
    if directory is None:
        return None
    path = os.path.join(directory, kind, key[:2], key)
    try:
        with open(path, encoding="utf-8") as handle:
            header, _, text = handle.read().partition("\n")
    except (OSError, UnicodeDecodeError):
        return None
    if header != key:  # the header guards against a file put there by hand
        return None
    try:
        os.utime(path)  # used: kept by the next pruning
    except OSError:
        pass
    return text


def store(kind: str, key: str, text: str) -> None:
    """Keep ``text`` under ``key``; a cache that cannot be written is left alone (never an error)."""
    directory = cache_dir()
    if directory is None:
        return
    import tempfile

    folder = os.path.join(directory, kind, key[:2])
    try:
        os.makedirs(folder, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=folder)
    except OSError:
        return
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(f"{key}\n{text}")
        os.replace(tmp, os.path.join(folder, key))  # atomic: a concurrent reader sees all or nothing
    except (OSError, ValueError):  # ValueError: text that cannot be written as UTF-8
        try:
            os.unlink(tmp)
        except OSError:
            pass
        return
    _prune(os.path.join(directory, kind))


# Entries not used for this long are removed, by the first store of a day.
UNUSED_FOR = 30 * 24 * 3600
_PRUNED_MARK = ".pruned"


def _prune(folder: str) -> None:
    mark = os.path.join(folder, _PRUNED_MARK)
    now = time.time()
    try:
        if now - os.stat(mark).st_mtime < 24 * 3600:
            return
    except OSError:
        pass
    try:
        with open(mark, "w"):
            pass
        for sub in os.scandir(folder):
            if sub.is_dir(follow_symlinks=False):
                for entry in os.scandir(sub.path):
                    if now - entry.stat(follow_symlinks=False).st_mtime > UNUSED_FOR:
                        os.unlink(entry.path)
    except OSError:
        pass  # another run prunes at the same time, or the cache is not ours to clean
