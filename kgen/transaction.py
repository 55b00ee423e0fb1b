"""Replace a set of files in a directory as one step, whatever moment the process is killed at.

A commit stages every new file in a ``.kgen-stage-*`` folder beside the files it replaces,
then writes a journal (``.kgen-journal.json``, fsynced, renamed into place: the commit
point), then renames the staged files into place and removes the files that go away. The
next holder of the lock calls :func:`recover` first: a journal is completed (rolled
forward; every step is idempotent), staging without a journal is thrown away (rolled
back). So after a kill and the next run the directory holds either every old file or
every new one. Only this process's own kill is covered: the staged files are not fsynced
one by one (342 fsyncs cost seconds), so a power loss right after a build is the file
system's business.

``locked`` serialises builds into one directory with ``flock`` on the directory itself,
which writes nothing.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import stat
import tempfile
from contextlib import contextmanager
from typing import Callable, Iterator

JOURNAL = ".kgen-journal.json"
_JOURNAL_DRAFT = ".kgen-journal.tmp"
_STAGE_PREFIX = ".kgen-stage-"
_LEGACY_STAGE_PREFIX = ".kgen-build-"  # staging folders of kgen before the journal (directories only)


class JournalError(Exception):
    """A journal that cannot be completed (unreadable, or written by something else)."""


@contextmanager
def locked(directory: str, on_wait: Callable[[], None] | None = None) -> Iterator[None]:
    """Hold an exclusive lock on ``directory`` (which must exist); wait for another holder."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if on_wait is not None:
                on_wait()
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def leftovers(directory: str) -> list[str]:
    """Names in ``directory`` that an interrupted commit left behind."""
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return []
    return sorted(name for name in names if _is_leftover(directory, name))


def _is_leftover(directory: str, name: str) -> bool:
    if name in (JOURNAL, _JOURNAL_DRAFT) or name.startswith(_STAGE_PREFIX):
        return True
    return name.startswith(_LEGACY_STAGE_PREFIX) and os.path.isdir(os.path.join(directory, name))


def recover(directory: str) -> bool:
    """Complete a committed journal and throw away uncommitted staging; True if there was any."""
    found = leftovers(directory)
    if JOURNAL in found:
        journal_path = os.path.join(directory, JOURNAL)
        try:
            with open(journal_path, encoding="utf-8") as handle:
                journal = json.load(handle)
            stage, moves, removals = journal["stage"], journal["moves"], journal["removals"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise JournalError(f"cannot complete the interrupted build recorded in {JOURNAL}: {exc}") from None
        if not isinstance(stage, str) or not stage.startswith(_STAGE_PREFIX) or "/" in stage:
            raise JournalError(f"{JOURNAL} names an unexpected staging folder {stage!r}")
        if not all(isinstance(name, str) and name.isdigit() for name, _ in moves) or not all(map(_relative, [rel for _, rel in moves] + removals)):
            raise JournalError(f"{JOURNAL} names a path outside the folder; remove it if you did not write it")
        try:
            _apply(directory, stage, moves, removals)
        except OSError as exc:
            raise JournalError(f"cannot complete the interrupted build recorded in {JOURNAL}: {exc.strerror or exc} "
                               f"({exc.filename}); fix that and run kgen again") from None
        os.unlink(journal_path)
        _sync_dir(directory)
    for name in found:
        path = os.path.join(directory, name)
        if name == JOURNAL:
            continue
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path, ignore_errors=True)
        elif os.path.lexists(path):
            os.unlink(path)
    return bool(found)


def _relative(rel: object) -> bool:
    return isinstance(rel, str) and bool(rel) and not os.path.isabs(rel) and ".." not in rel.split("/")


def commit(directory: str, files: dict[str, str], removals: list[str]) -> None:
    """Write ``files`` (relative path -> text) and remove ``removals`` under ``directory`` as one step.

    The caller holds :func:`locked`, has called :func:`recover`, and has checked every path
    (inside the directory, no symlinks, writable): a failure here is an I/O error, after
    which the directory still holds the old files (before the journal) or the next
    :func:`recover` completes the new ones (after it).
    """
    stage = tempfile.mkdtemp(prefix=_STAGE_PREFIX, dir=directory)
    try:
        moves = []
        for index, (rel, text) in enumerate(files.items()):
            name = str(index)
            staged = os.path.join(stage, name)
            with open(staged, "w", encoding="utf-8", newline="") as handle:
                handle.write(text)  # a new file gets the umask's mode, like any file the user writes
            _keep_mode(staged, os.path.join(directory, rel))
            moves.append([name, rel])
        _write_journal(directory, {"stage": os.path.basename(stage), "moves": moves, "removals": removals})
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        draft = os.path.join(directory, _JOURNAL_DRAFT)
        if os.path.lexists(draft):
            os.unlink(draft)
        raise
    _apply(directory, os.path.basename(stage), moves, removals)
    os.unlink(os.path.join(directory, JOURNAL))
    _sync_dir(directory)
    shutil.rmtree(stage, ignore_errors=True)


def _keep_mode(staged: str, final: str) -> None:
    """A replaced file keeps its permissions."""
    try:
        mode = os.stat(final).st_mode
    except (FileNotFoundError, NotADirectoryError):
        return
    os.chmod(staged, stat.S_IMODE(mode))


def _write_journal(directory: str, journal: dict) -> None:
    """The commit point: the journal exists complete and durable, or not at all."""
    draft = os.path.join(directory, _JOURNAL_DRAFT)
    with open(draft, "w", encoding="utf-8") as handle:
        json.dump(journal, handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(draft, os.path.join(directory, JOURNAL))
    _sync_dir(directory)


def _apply(directory: str, stage: str, moves: list[list[str]], removals: list[str]) -> None:
    """Rename every staged file into place and remove the files that go; safe to repeat."""
    touched: set[str] = set()
    for name, rel in moves:
        staged = os.path.join(directory, stage, name)
        final = os.path.join(directory, rel)
        if not os.path.lexists(staged):
            continue  # moved before the interruption
        folder = os.path.dirname(final)
        if folder not in touched:
            os.makedirs(folder, exist_ok=True)
            touched.add(folder)
        os.replace(staged, final)
    for rel in removals:
        path = os.path.join(directory, rel)
        if os.path.lexists(path):
            os.unlink(path)
        touched.add(_prune_empty(directory, os.path.dirname(rel)))
    for folder in sorted(touched):
        _sync_dir(folder)


def _prune_empty(directory: str, rel_dir: str) -> str:
    """Remove folders a removal left empty, up to ``directory``; the folder that remains."""
    while rel_dir:
        try:
            os.rmdir(os.path.join(directory, rel_dir))
        except OSError:
            break
        rel_dir = os.path.dirname(rel_dir)
    return os.path.join(directory, rel_dir) if rel_dir else directory


def _sync_dir(path: str) -> None:
    """Make the renames and removals in ``path`` durable."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    except FileNotFoundError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
