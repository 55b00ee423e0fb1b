"""``kgen lint --jobs N``: the units of the input read and checked by N processes, with one process's report.

The input is walked here, without reading any unit (kgen.inputs.InputStream.plan); forked
workers read and check contiguous parts of the units, each a streaming LintRun of its own that
knows only its part, and send back its facts, findings (verdicts that wait for the whole input
still waiting: their settles are plain data), notes and the questions its checks asked. The
parts are taken here in input order, so the run of the whole input is the one a single process
would have made, then it settles as a single process does: a unit whose questions the whole
input answers otherwise is read again here, and waiting verdicts are decided. Without fork, for
small inputs, or when a worker fails (so that the error is raised as one process raises it), the
units are read here.
"""

from __future__ import annotations

from typing import Callable, Iterator

from kgen.findings import LintReport
from kgen.inputs import InputStream, UnitLoader, available_cpus, read_units
from kgen.policies.cluster_policy import ClusterPolicy
from kgen.policies.engine import LintRun, RunPart

# Below this many units a lint is done before worker processes would have started.
PARALLEL_MIN_UNITS = 64
# Parts per worker: small enough that a part of heavy units does not leave the others idle, large
# enough that few questions cross parts (a unit whose answer lies in another part is read again).
PARTS_PER_JOB = 4
MAX_PART_UNITS = 256

# What the forked workers inherit: the units' loaders and how to start the run of a part.
_work: tuple[list[UnitLoader], Callable[[int], LintRun], int] | None = None


def lint_in_processes(units: InputStream, policy: ClusterPolicy, jobs: int, quote: bool = True) -> LintReport:
    """:func:`kgen.policies.engine.lint_stream` of ``units`` by ``jobs`` processes."""
    loaders = units.plan()

    def new_run(first_unit: int) -> LintRun:
        return LintRun(policy, units.again, quote, first_unit)

    run = new_run(0)
    if jobs < 2 or len(loaders) < PARALLEL_MIN_UNITS or not run.parts_cross_processes:
        _read_into(run, loaders, units.took, available_cpus())
        return run.report()
    parts = _ranges(len(loaders), jobs)
    for bounds, checked in zip(parts, _parts_in_processes(loaders, new_run, parts, jobs, units.forget_first_readings)):
        if checked is None:  # read here: one process, or a worker failed
            part = _check_part(loaders, new_run, bounds, units.took, available_cpus())
        else:
            part, held = checked
            for unit_held in held:
                units.took(unit_held)
        run.take(part)
    return run.report()


def _ranges(count: int, jobs: int) -> list[tuple[int, int]]:
    """``count`` units cut into contiguous (start, end) parts, about PARTS_PER_JOB per job."""
    size = min(MAX_PART_UNITS, max(1, -(-count // (jobs * PARTS_PER_JOB))))
    return [(start, min(start + size, count)) for start in range(0, count, size)]


def _parts_in_processes(
    loaders: list[UnitLoader], new_run: Callable[[int], LintRun], parts: list[tuple[int, int]], jobs: int, forked: Callable[[], None]
) -> Iterator[tuple[RunPart, list[bool]] | None]:
    """The parts checked by ``jobs`` forked workers, in order (None: do it here); ``forked`` is
    called once the workers exist (what only they need can go)."""
    import multiprocessing

    try:
        context = multiprocessing.get_context("fork")
    except ValueError:
        yield from (None for _ in parts)
        return
    global _work
    # The workers build Kustomize roots as they read them: the CPUs shared between them.
    _work = (loaders, new_run, max(1, available_cpus() // jobs))
    try:
        with context.Pool(jobs) as pool:
            forked()
            yield from pool.imap(_check_part_in_worker, parts)
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
    (exceptions do not all survive pickling, and a lost one hangs the pool)."""
    assert _work is not None, "a worker runs only when forked by lint_in_processes"
    held: list[bool] = []
    try:
        loaders, new_run, builds_at_once = _work
        return _check_part(loaders, new_run, bounds, held.append, builds_at_once), held
    except Exception:
        return None
