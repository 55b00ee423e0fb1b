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

import os
import signal
import stat
import struct
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
# What a part is guessed to cost, as bytes of YAML, to give out the heaviest parts first: a file its
# size and what reading and checking any file costs (on the corpus, 0.22 ms a file and 14 ms a MB);
# a chart or a Kustomize root a fixed guess.
FILE_WEIGHT = 16 * 1024
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
    """What each part is guessed to cost: the bytes of its files and FILE_WEIGHT each, a folder
    (chart, Kustomize root) as FOLDER_WEIGHT, anything else (standard input, a walk's problems) nothing."""

    def weight(place: str) -> int:
        try:
            info = os.stat(place)
        except OSError:
            return 0
        return info.st_size + FILE_WEIGHT if stat.S_ISREG(info.st_mode) else FOLDER_WEIGHT if stat.S_ISDIR(info.st_mode) else 0

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
    and its validators compiled. Plain fork and pipes: multiprocessing costs 8 ms to import."""
    if not hasattr(os, "fork"):
        yield from (None for _ in parts)
        return
    global _work
    # Each process builds Kustomize roots as it reads them: the CPUs shared between them.
    _work = (loaders, new_run, max(1, available_cpus() // jobs))
    hand_out = _HandOut(sorted(range(len(parts)), key=lambda index: -weights[index]))
    workers: list[_Worker] = []
    try:
        for _ in range(jobs - 1):
            workers.append(_Worker(parts, hand_out))
            workers[-1].start([fd for worker in workers[:-1] for fd in worker.fds])
        for worker in workers:  # threads only once every worker is forked
            worker.receive()
        here: dict[int, tuple[RunPart, list[bool]] | None] = {}
        while (index := hand_out.next(_THIS_PROCESS)) is not None:
            here[index] = _part_checked(parts[index])
        forked()
        for index in range(len(parts)):
            if index in here:
                yield here.pop(index)
            else:
                taker = hand_out.taken_by.get(index)
                yield taker.result(index) if isinstance(taker, _Worker) else None
    except BaseException:  # Ctrl-C, or the lint ends early (a path with nothing to lint): stop now
        for worker in workers:
            worker.stop()
        raise
    else:
        for worker in workers:
            worker.wait()
    finally:
        _work = None


class _HandOut:
    """The parts not yet taken, heaviest first: taken here, by this process and for its workers
    (whose requests its threads answer), each part by one taker."""

    def __init__(self, order: list[int]) -> None:
        import threading

        self.order = order
        self.taken_by: dict[int, object] = {}
        self.lock = threading.Lock()

    def next(self, taker: object) -> int | None:
        with self.lock:
            if len(self.taken_by) == len(self.order):
                return None
            index = self.order[len(self.taken_by)]
            self.taken_by[index] = taker
            return index


_THIS_PROCESS = "this process"
# A worker's message: the part's index (-1: asking for a part) and the size of the pickled part that follows.
_HEADER = struct.Struct("<iQ")
_NO_PART = -1


class _Worker:
    """A forked process that asks this one for parts and sends each back as it is done (pickled);
    a thread here answers and receives, so that the worker never waits for this process."""

    def __init__(self, parts: list[tuple[int, int]], hand_out: _HandOut) -> None:
        self.parts = parts
        self.hand_out = hand_out
        self.results, self.sending = os.pipe()  # worker -> here
        self.orders, self.ordering = os.pipe()  # here -> worker
        self.pid: int | None = None
        self.status: int | None = None
        self.sent: dict[int, bytes] = {}
        import threading

        self.ended = threading.Condition()
        self.done = False

    @property
    def fds(self) -> tuple[int, int]:
        """This process's ends of the worker's pipes."""
        return self.results, self.ordering

    def start(self, others: list[int]) -> None:
        """Fork the worker; ``others``: this process's ends of earlier workers' pipes (closed in
        this one, so that each worker alone holds its own)."""
        pid = os.fork()
        if pid == 0:
            try:
                for fd in (*self.fds, *others):
                    os.close(fd)
                _work_on_parts(self.orders, self.sending, self.parts)
            finally:
                os._exit(0)
        self.pid = pid
        os.close(self.sending)
        os.close(self.orders)

    def receive(self) -> None:
        import threading

        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        """Answer each request for a part, keep each part sent, until the worker ends or dies."""
        try:
            with open(self.results, "rb") as results, open(self.ordering, "wb") as orders:
                while len(header := results.read(_HEADER.size)) == _HEADER.size:
                    index, size = _HEADER.unpack(header)
                    if index == _NO_PART:
                        given = self.hand_out.next(self)
                        orders.write(_HEADER.pack(_NO_PART if given is None else given, 0))
                        orders.flush()
                        continue
                    data = results.read(size)
                    if len(data) < size:
                        break
                    with self.ended:
                        self.sent[index] = data
                        self.ended.notify_all()
        except OSError:
            pass
        finally:
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
        if self.pid is not None and self.status is None:
            try:
                os.kill(self.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            self.wait()

    def wait(self) -> None:
        if self.pid is not None and self.status is None:
            self.status = os.waitpid(self.pid, 0)[1]


def _work_on_parts(orders: int, sending: int, parts: list[tuple[int, int]]) -> None:
    """In a worker: ask for a part, check it, send it back, until none is left; it ends when the
    parent has gone (its ends of the pipes closed), never waiting for a reader."""
    import pickle

    signal.signal(signal.SIGINT, signal.SIG_DFL)  # an interrupt ends it at once, without a traceback
    with open(orders, "rb") as given, open(sending, "wb") as results:
        while True:
            results.write(_HEADER.pack(_NO_PART, 0))
            results.flush()
            answer = given.read(_HEADER.size)
            if len(answer) < _HEADER.size or (index := _HEADER.unpack(answer)[0]) == _NO_PART:
                return
            checked = _part_checked(parts[index])
            try:
                data = pickle.dumps(checked, protocol=pickle.HIGHEST_PROTOCOL)
            except Exception:  # a part that does not pickle is done again in the parent
                data = pickle.dumps(None)
            results.write(_HEADER.pack(index, len(data)))
            results.write(data)


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
