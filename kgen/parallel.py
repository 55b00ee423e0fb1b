"""``kgen lint [--jobs N]``: the units of the input read and checked by N processes (one: here),
with one process's report.

The input is walked here, without reading any unit (kgen.inputs.InputStream.plan), and cut into
contiguous parts where projects meet; this process and N - 1 forked workers read and check the
parts, each taking the heaviest part left, each part a streaming LintRun of its own that knows
only its part (and checks again a unit whose questions a later unit of the part answers
otherwise: a custom resource before its CRD); a worker sends back its facts, findings (verdicts that wait for the whole input still waiting: their
settles are plain data), notes and the questions its checks asked. The parts are taken here in
input order, so the run of the whole input is the one a single process would have made, then
it settles as a single process does: a unit whose questions another part answers otherwise is
read again here, and waiting verdicts are decided. Without fork, for small inputs, or when a
part's checks fail or its worker dies (so that an error is raised as one process raises it, in
input order), units are read here in turn.
"""

from __future__ import annotations

import functools
import os
import stat
from typing import TYPE_CHECKING, Callable, Iterator

from kgen.findings import LintReport
from kgen.inputs import InputStream, UnitLoader, available_cpus, read_units, unit_place
from kgen.policies.cluster_policy import ClusterPolicy
from kgen.policies.engine import LintRun, RunPart

if TYPE_CHECKING:
    from multiprocessing.connection import Connection
    from multiprocessing.context import ForkContext

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
    """The parts checked by this process and ``jobs - 1`` forked workers, each taking the heaviest
    part left (``weights``) so that no heavy part starts last, and yielded in input order (None:
    do it here, as for a part whose checks raised, or that a worker took and died with: killed for
    memory, it is never waited on forever); ``forked`` is called once this process takes no more
    parts (what only the workers still need can go).

    This process checks parts too: a part checked here is neither pickled nor read back, and what
    the report does after the parts (checks again, settled verdicts) finds its modules imported
    and its validators compiled."""
    import multiprocessing

    try:
        context = multiprocessing.get_context("fork")
    except ValueError:
        yield from (None for _ in parts)
        return
    global _work
    # Each process builds Kustomize roots as it reads them: the CPUs shared between them.
    _work = (loaders, new_run, max(1, available_cpus() // jobs))
    heaviest_first = sorted(range(len(parts)), key=lambda index: -weights[index])
    handed_out = context.Value("i", 0)  # how many of heaviest_first are taken
    taken_by = context.RawArray("i", [-1] * len(parts))  # by this process (0) or worker n (n)

    def next_part(taker: int) -> int | None:
        with handed_out.get_lock():
            if handed_out.value == len(parts):
                return None
            index = heaviest_first[handed_out.value]
            handed_out.value += 1
            taken_by[index] = taker
        return index

    workers: list[_Worker] = []
    try:
        for number in range(1, jobs):
            workers.append(_Worker(context, parts, functools.partial(next_part, number)))
            workers[-1].start()
        here: dict[int, tuple[RunPart, list[bool]] | None] = {}
        while (index := next_part(0)) is not None:
            here[index] = _part_checked(parts[index])
        forked()
        for index in range(len(parts)):
            yield here.pop(index) if index in here else workers[taken_by[index] - 1].result(index) if taken_by[index] > 0 else None
    except BaseException:  # Ctrl-C, or the lint ends early (a path with nothing to lint): stop now
        for worker in workers:
            worker.stop()
        raise
    else:
        for worker in workers:
            worker.process.join()
    finally:
        _work = None


class _Worker:
    """A forked process that checks the parts ``next_part`` gives it and sends each back as it is
    done (pickled); a thread here receives them, so that the worker never waits for this process."""

    def __init__(self, context: ForkContext, parts: list[tuple[int, int]], next_part: Callable[[], int | None]) -> None:
        import threading

        self.receiving, self.sending = context.Pipe(duplex=False)
        self.process = context.Process(target=_work_on_parts, args=(self.receiving, self.sending, parts, next_part), daemon=True)
        self.sent: dict[int, bytes] = {}
        self.ended = threading.Condition()
        self.done = False

    def start(self) -> None:
        import threading

        self.process.start()
        self.sending.close()
        threading.Thread(target=self._receive, args=(self.receiving,), daemon=True).start()

    def _receive(self, receiving: Connection) -> None:
        """Each part as sent (index, then the pickled part), until the worker ends or dies."""
        try:
            while True:
                index = receiving.recv()
                data = receiving.recv_bytes()
                with self.ended:
                    self.sent[index] = data
                    self.ended.notify_all()
        except (EOFError, OSError):
            pass
        finally:
            receiving.close()
            with self.ended:
                self.done = True
                self.ended.notify_all()

    def result(self, index: int) -> tuple[RunPart, list[bool]] | None:
        """Part ``index`` as this worker sent it (None: it died first, or its checks raised)."""
        import pickle

        with self.ended:
            self.ended.wait_for(lambda: index in self.sent or self.done)
            data = self.sent.pop(index, None)
        return pickle.loads(data) if data is not None else None

    def stop(self) -> None:
        if self.process.pid is not None and self.process.is_alive():
            self.process.terminate()


def _work_on_parts(receiving: Connection, sending: Connection, parts: list[tuple[int, int]], next_part: Callable[[], int | None]) -> None:
    """In a worker: the parts ``next_part`` gives, each sent back as soon as it is checked; it
    ends when the parent has gone (its end of the pipe closed), never waiting for a reader."""
    import pickle
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)  # an interrupt ends it at once, without a traceback
    receiving.close()
    while (index := next_part()) is not None:
        checked = _part_checked(parts[index])
        try:
            data = pickle.dumps(checked, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:  # a part that does not pickle is done again in the parent
            data = pickle.dumps(None)
        try:
            sending.send(index)
            sending.send_bytes(data)
        except OSError:  # the parent has gone
            return
    sending.close()


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


def _part_checked(bounds: tuple[int, int]) -> tuple[RunPart, list[bool]] | None:
    """:func:`_check_part` in any process of a run with workers, and whether each unit held
    something; None when it raised (raised again when the part is done again in input order:
    exceptions do not all survive pickling)."""
    assert _work is not None, "parts are checked so only while lint_in_processes hands them out"
    held: list[bool] = []
    try:
        loaders, new_run, builds_at_once = _work
        return _check_part(loaders, new_run, bounds, held.append, builds_at_once), held
    except Exception:
        return None
