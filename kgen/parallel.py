"""``kgen lint [--jobs N]``: the units of the input read and checked by N processes (one: here),
with one process's report.

The input is walked here, without reading any unit (kgen.inputs.InputStream.plan), and cut into
contiguous parts where projects meet; this process and N - 1 forked workers read and check the
parts, each taking the heaviest part left, each part a streaming LintRun of its own that knows
only its part (and checks again a unit whose questions a later unit of the part answers
otherwise: a custom resource before its CRD); a worker sends back its facts, findings (verdicts
that wait for the whole input still waiting: their settles are plain data), notes and the
questions its checks asked. The parts are taken here in input order, so the run of the whole
input is the one a single process would have made, then it settles as a single process does: a
unit whose questions another part answers otherwise is read again here, and waiting verdicts
are decided. Without fork, for small inputs, or when a
part's checks fail or its worker dies (so that an error is raised as one process raises it, in
input order), units are read here in turn.
"""

from __future__ import annotations

import os
import signal
import stat
import struct
from typing import BinaryIO, Callable, Iterator

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
    and its validators compiled. Plain fork and pipes (multiprocessing costs 8 ms to import): the
    parts wait in a pipe, heaviest first, one record each, and every process reads the next
    record when it is free, without asking this one (whose threads wait for the GIL)."""
    if not hasattr(os, "fork"):
        yield from (None for _ in parts)
        return
    global _work
    # Each process builds Kustomize roots as it reads them: the CPUs shared between them.
    _work = (loaders, new_run, max(1, available_cpus() // jobs))
    heaviest_first = sorted(range(len(parts)), key=lambda index: -weights[index])
    to_take, handing_out_fd = os.pipe()
    handing_out: int | None = handing_out_fd  # until the thread that writes the parts owns it
    parts_left = open(to_take, "rb", buffering=0)
    sent = _Sent(jobs - 1)
    workers: list[_Worker] = []
    try:
        for _ in range(jobs - 1):
            workers.append(_Worker(parts, sent))
            workers[-1].start(to_take, handing_out_fd, [worker.results for worker in workers[:-1]])
        # Threads only once every worker is forked: one writes the parts to take, one per worker reads what it sends.
        _hand_out(handing_out_fd, heaviest_first[1:])
        handing_out = None
        for worker in workers:
            worker.receive()
        # This process takes the heaviest part: the CRDs are most projects' largest files, and the
        # custom resources of other parts are checked again here, against their compiled schemas.
        # Between its parts it takes in, in input order, those that are done (memory stays that of
        # the parts not yet taken in, as for a single process, and less is left for the end).
        here: dict[int, tuple[RunPart, list[bool]] | None] = {}
        taken_in = 0
        index = heaviest_first[0] if heaviest_first else None
        while index is not None:
            here[index] = _part_checked(parts[index])
            while taken_in < len(parts) and (taken_in in here or sent.has(taken_in)):
                yield here.pop(taken_in) if taken_in in here else sent.result(taken_in)
                taken_in += 1
            index = _next_part(parts_left)
        forked()
        for index in range(taken_in, len(parts)):
            yield here.pop(index) if index in here else sent.result(index)
    except BaseException:  # Ctrl-C, or the lint ends early (a path with nothing to lint): stop now
        for worker in workers:
            worker.stop()
        raise
    else:
        for worker in workers:
            worker.wait()
    finally:
        _work = None
        parts_left.close()
        if handing_out is not None:
            os.close(handing_out)


# A part's place in its pipe: its index; a worker's part: its index and the size of the pickled part that follows.
_RECORD = struct.Struct("<i")
_HEADER = struct.Struct("<iQ")


def _hand_out(handing_out: int, order: list[int]) -> None:
    """Write the parts to take into the pipe, then close it: a thread, should they not all fit
    in the pipe at once (the write waits in the system, not for the GIL, while they are taken)."""
    import threading

    records = b"".join(_RECORD.pack(index) for index in order)

    def write() -> None:
        try:
            view = memoryview(records)
            while view:
                view = view[os.write(handing_out, view) :]
        except OSError:  # every reader has gone (an interrupted lint)
            pass
        finally:
            os.close(handing_out)

    threading.Thread(target=write, daemon=True).start()


def _next_part(parts_left: BinaryIO) -> int | None:
    """The next part to take (None: none is left). The pipe hands each record to one reader: a
    read of a few bytes is atomic, and unbuffered, no process reads ahead of the others."""
    record = parts_left.read(_RECORD.size)
    return _RECORD.unpack(record)[0] if len(record) == _RECORD.size else None


class _Sent:
    """The parts ``workers`` workers sent, by index, as threads here receive them."""

    def __init__(self, workers: int) -> None:
        import threading

        self.workers = workers
        self.parts: dict[int, bytes] = {}
        self.changed = threading.Condition()
        self.workers_done = 0

    def add(self, index: int, data: bytes) -> None:
        with self.changed:
            self.parts[index] = data
            self.changed.notify_all()

    def has(self, index: int) -> bool:
        """Whether part ``index`` was sent (not waiting for it)."""
        with self.changed:
            return index in self.parts

    def worker_done(self) -> None:
        with self.changed:
            self.workers_done += 1
            self.changed.notify_all()

    def result(self, index: int) -> tuple[RunPart, list[bool]] | None:
        """Part ``index`` as a worker sent it; None once every worker has ended (or died) without
        sending it, or when its checks raised."""
        import pickle

        with self.changed:
            self.changed.wait_for(lambda: index in self.parts or self.workers_done == self.workers)
            data = self.parts.pop(index, None)
        return pickle.loads(data) if data is not None else None


class _Worker:
    """A forked process that takes parts from the pipe of parts and sends each back as it is done
    (pickled) on a pipe of its own, large enough for most parts: it seldom waits for a thread
    here to read them."""

    PIPE_SIZE = 1024 * 1024  # Linux's limit for a process's own pipes (pipe-max-size)

    def __init__(self, parts: list[tuple[int, int]], sent: _Sent) -> None:
        self.parts = parts
        self.sent = sent
        self.results, self.sending = os.pipe()
        self.pid: int | None = None
        self.status: int | None = None
        import fcntl  # where there is fork

        if hasattr(fcntl, "F_SETPIPE_SZ"):
            try:
                fcntl.fcntl(self.sending, fcntl.F_SETPIPE_SZ, self.PIPE_SIZE)
            except OSError:  # a lower limit: the pipe stays as it is
                pass

    def start(self, to_take: int, handing_out: int, others: list[int]) -> None:
        """Fork the worker; ``others``: this process's ends of earlier workers' pipes (closed in
        this one, so that each worker alone holds its own)."""
        pid = os.fork()
        if pid == 0:
            try:
                for fd in (handing_out, self.results, *others):
                    os.close(fd)
                _work_on_parts(to_take, self.sending, self.parts)
            finally:
                os._exit(0)
        self.pid = pid
        os.close(self.sending)

    def receive(self) -> None:
        import threading

        threading.Thread(target=self._receive, daemon=True).start()

    def _receive(self) -> None:
        """Keep each part sent, until the worker ends or dies."""
        try:
            with open(self.results, "rb") as results:
                while len(header := results.read(_HEADER.size)) == _HEADER.size:
                    index, size = _HEADER.unpack(header)
                    data = results.read(size)
                    if len(data) < size:
                        break
                    self.sent.add(index, data)
        except OSError:
            pass
        finally:
            self.sent.worker_done()

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


def _work_on_parts(to_take: int, sending: int, parts: list[tuple[int, int]]) -> None:
    """In a worker: take a part, check it, send it back, until none is left; it ends when the
    parent has gone (its end of the pipe closed), never waiting for a reader."""
    import pickle

    signal.signal(signal.SIGINT, signal.SIG_DFL)  # an interrupt ends it at once, without a traceback
    with open(to_take, "rb", buffering=0) as parts_left, open(sending, "wb") as results:
        while (index := _next_part(parts_left)) is not None:
            checked = _part_checked(parts[index])
            try:
                data = pickle.dumps(checked, protocol=pickle.HIGHEST_PROTOCOL)
            except Exception:  # a part that does not pickle is done again in the parent
                data = pickle.dumps(None)
            results.write(_HEADER.pack(index, len(data)))
            results.write(data)
            results.flush()


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
