"""``kgen lint --jobs N``: the per-object checks of a lint in N processes, with one process's findings.

The input is loaded once, here; the workers are forked from this process, so they share the
loaded objects, the inventory and the compiled rules without copying or pickling any of them.
Each worker checks contiguous ranges of the objects and sends back its findings without their
owner (the object as loaded, which would drag its node tree through the pipe) but with the
owner's index; the ranges are put back together in order, so the findings come in the order
one process makes them; what depends on the whole input settles afterwards, here. Without fork
(or when a worker fails, so that the error is raised as one process raises it) everything
runs here.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Callable

from kgen.findings import Finding
from kgen.loader import KubeObject

# (objects, notes to append to) -> findings: kgen.policies.engine.ObjectChecks.
ObjectChecks = Callable[[list[KubeObject], list[str]], list[Finding]]
# Ranges per worker: small enough that a range of heavy objects does not leave the others idle.
RANGES_PER_JOB = 4

# What the forked workers inherit: the checks and the objects, and each object's index by id.
_work: tuple[ObjectChecks, list[KubeObject], dict[int, int]] | None = None


def available_cpus() -> int:
    """The CPUs this process may run on (its affinity mask, not the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def object_findings_in_processes(
    checks: ObjectChecks, objects: list[KubeObject], notes: list[str], jobs: int
) -> list[Finding]:
    """``checks(objects, notes)`` run by ``jobs`` forked workers."""
    import multiprocessing

    try:
        context = multiprocessing.get_context("fork")
    except ValueError:
        return checks(objects, notes)
    global _work
    _work = (checks, objects, {id(obj): index for index, obj in enumerate(objects)})
    ranges = _ranges(len(objects), jobs * RANGES_PER_JOB)
    try:
        with context.Pool(jobs) as pool:
            parts = pool.map(_check_range, ranges)
    finally:
        _work = None
    if any(part is None for part in parts):  # a worker failed (KGEN_DEBUG crash): fail here, with the whole error
        return checks(objects, notes)
    findings: list[Finding] = []
    for part_findings, part_notes in parts:  # type: ignore[misc]
        findings += [dataclasses.replace(finding, owner=objects[owner]) for owner, finding in part_findings]
        notes += part_notes
    return findings


def _ranges(count: int, parts: int) -> list[tuple[int, int]]:
    """``count`` items cut into at most ``parts`` contiguous, nearly equal (start, end) ranges."""
    size = max(1, -(-count // max(1, parts)))
    return [(start, min(start + size, count)) for start in range(0, count, size)]


def _check_range(bounds: tuple[int, int]) -> tuple[list[tuple[int, Finding]], list[str]] | None:
    """In a worker: the findings of one range, each with its owner's index instead of the owner, and
    its notes; None when the checks raised (exceptions do not all survive pickling, and a lost one
    hangs the pool)."""
    assert _work is not None, "a worker runs only when forked by object_findings_in_processes"
    checks, objects, index_of = _work
    start, end = bounds
    notes: list[str] = []
    try:
        findings = checks(objects[start:end], notes)
        return [(index_of[id(f.owner)], dataclasses.replace(f, owner=None)) for f in findings], notes
    except Exception:
        return None
