"""``kgen lint [--jobs N]``: the units of the input read and checked by N processes (one: here),
with one process's report.

The input is walked here, without reading any unit (kgen.inputs.InputStream.plan), and cut into
contiguous parts where projects meet; forked workers read and check the parts, heaviest first,
each a streaming LintRun of its own that knows only its part (and checks again a unit whose
questions a later unit of the part answers otherwise: a custom resource before its CRD), and
send back its facts, findings (verdicts that wait for the whole input still waiting: their
settles are plain data), notes and the questions its checks asked. The parts are taken here in
input order, so the run of the whole input is the one a single process would have made, then
it settles as a single process does: a unit whose questions another part answers otherwise is
read again here, and waiting verdicts are decided. Without fork, for small inputs, or when a
worker fails or dies (so that an error is raised as one process raises it), units are read here.
"""

from __future__ import annotations

import os
import stat
from typing import Callable, Iterator

from kgen.findings import LintReport
from kgen.inputs import InputStream, UnitLoader, available_cpus, read_units, unit_place
from kgen.policies.cluster_policy import ClusterPolicy
from kgen.policies.engine import LintRun, RunPart

# Below this many units a lint is done before worker processes would have started.
PARALLEL_MIN_UNITS = 64
# Parts per worker: small enough that a part of heavy units does not leave the others idle, large
# enough that few questions cross parts (a unit whose answer lies in another part is read again).
PARTS_PER_JOB = 4
MAX_PART_UNITS = 256
# What a chart or a Kustomize root is guessed to cost, as bytes of YAML, to give out the heaviest parts first.
FOLDER_WEIGHT = 64 * 1024

# What the forked workers inherit: the units' loaders and how to start the run of a part.
_work: tuple[list[UnitLoader], Callable[[int], LintRun], int] | None = None


def lint_in_processes(units: InputStream, policy: ClusterPolicy, jobs: int, quote: bool = True) -> LintReport:
    """:func:`kgen.policies.engine.lint_stream` of ``units`` by ``jobs`` processes (one: this one)."""
    loaders = units.plan()

    def new_run(first_unit: int) -> LintRun:
        return LintRun(policy, units.again, quote, first_unit)

    run = new_run(0)
    if jobs < 2 or len(loaders) < PARALLEL_MIN_UNITS or not run.parts_cross_processes:
        _read_into(run, loaders, units.took, available_cpus())
        return _reported(run.report(), units.unreported)
    places = [unit_place(load) for load in loaders]
    parts = _ranges(places, jobs)
    for bounds, checked in zip(parts, _parts_in_processes(loaders, new_run, parts, _weights(places, parts), jobs, units.forget_first_readings)):
        if checked is None:  # read here: one process, or a worker failed
            part = _check_part(loaders, new_run, bounds, units.took, available_cpus())
        else:
            part, held = checked
            for unit_held in held:
                units.took(unit_held)
        run.take(part)
    return _reported(run.report(), units.unreported)


def _reported(report: LintReport, unreported: set[str]) -> LintReport:
    """``report`` without the findings located in files the input only informs (the other files of
    a Kustomize root that builds a named resource: kgen.inputs.InputStream.unreported)."""
    if unreported:
        report.findings = [finding for finding in report.findings if os.path.realpath(finding.file) not in unreported]
    return report


def _ranges(places: list[str], jobs: int) -> list[tuple[int, int]]:
    """The units (from ``places``, their paths) cut into contiguous (start, end) parts, about
    PARTS_PER_JOB per job, each cut moved (by up to half a part) to where the paths part
    highest in the tree: a project's custom resources and their CRDs, its workloads and their
    LimitRanges stay in one part, whose worker settles their questions (else the whole-input
    run reads them again, one after the other)."""
    count = len(places)
    if not count:
        return []
    size = min(MAX_PART_UNITS, max(1, -(-count // (jobs * PARTS_PER_JOB))))
    folders = [os.path.dirname(place).split(os.sep) for place in places]

    def shared_depth(cut: int) -> int:  # how many folders the units on either side of ``cut`` share
        return len(os.path.commonprefix([folders[cut - 1], folders[cut]]))

    cuts = [0]
    while count - cuts[-1] > size:
        nominal = cuts[-1] + size
        window = range(max(cuts[-1] + 1, nominal - size // 2), min(count - 1, nominal + size // 2, cuts[-1] + MAX_PART_UNITS) + 1)
        cuts.append(min(window, key=lambda cut: (shared_depth(cut), abs(cut - nominal))))
    return list(zip(cuts, [*cuts[1:], count]))


def _weights(places: list[str], parts: list[tuple[int, int]]) -> list[int]:
    """What each part is guessed to cost: the bytes of its files, a folder (chart, Kustomize root)
    as FOLDER_WEIGHT, anything else (standard input, a walk's problems) nothing."""

    def weight(place: str) -> int:
        try:
            info = os.stat(place)
        except OSError:
            return 0
        return info.st_size if stat.S_ISREG(info.st_mode) else FOLDER_WEIGHT if stat.S_ISDIR(info.st_mode) else 0

    return [sum(weight(place) for place in places[start:end]) for start, end in parts]


def _parts_in_processes(
    loaders: list[UnitLoader],
    new_run: Callable[[int], LintRun],
    parts: list[tuple[int, int]],
    weights: list[int],
    jobs: int,
    forked: Callable[[], None],
) -> Iterator[tuple[RunPart, list[bool]] | None]:
    """The parts checked by ``jobs`` forked workers, given out heaviest first (``weights``) so that
    no heavy part starts last, and yielded in input order (None: do it here, as for the parts
    left when a worker dies: killed for memory, the pool is broken, never waited on forever);
    ``forked`` is called once the workers exist (what only they need can go)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    try:
        context = multiprocessing.get_context("fork")
    except ValueError:
        yield from (None for _ in parts)
        return
    global _work
    # The workers build Kustomize roots as they read them: the CPUs shared between them.
    _work = (loaders, new_run, max(1, available_cpus() // jobs))
    pool = ProcessPoolExecutor(jobs, mp_context=context)
    try:
        heaviest_first = sorted(range(len(parts)), key=lambda index: -weights[index])
        checking = {index: pool.submit(_check_part_in_worker, parts[index]) for index in heaviest_first}
        forked()
        for index in range(len(parts)):
            try:
                checked = checking[index].result()
            except BrokenProcessPool:
                checked = None
            yield checked
    except BaseException:  # Ctrl-C, or the lint ends early (a path with nothing to lint): stop now
        workers = list((getattr(pool, "_processes", None) or {}).values())  # shutdown forgets them
        pool.shutdown(wait=False, cancel_futures=True)
        for worker in workers:
            worker.terminate()
        raise
    else:
        pool.shutdown()
    finally:
        _work = None


def _check_part(
    loaders: list[UnitLoader], new_run: Callable[[int], LintRun], bounds: tuple[int, int], took: Callable[[bool], None], builds_at_once: int
) -> RunPart:
    """The run of the units from ``bounds``' start to its end; ``took`` is told whether each held
    an object or a problem (InputStream.took)."""
    start, end = bounds
    run = new_run(start)
    _read_into(run, loaders[start:end], took, builds_at_once)
    return run.part()


def _read_into(run: LintRun, loaders: list[UnitLoader], took: Callable[[bool], None], builds_at_once: int) -> None:
    """Read the units of ``loaders`` in turn into ``run`` (up to ``builds_at_once`` Kustomize
    builds side by side), telling ``took`` whether each held something."""
    for unit in read_units(loaders, builds_at_once):
        took(bool(unit.objects or unit.problems))
        run.add(unit)


def _check_part_in_worker(bounds: tuple[int, int]) -> tuple[RunPart, list[bool]] | None:
    """In a worker: :func:`_check_part`, and whether each unit held something; None when it raised
    (exceptions do not all survive pickling)."""
    assert _work is not None, "a worker runs only when forked by lint_in_processes"
    held: list[bool] = []
    try:
        loaders, new_run, builds_at_once = _work
        return _check_part(loaders, new_run, bounds, held.append, builds_at_once), held
    except Exception:
        return None
