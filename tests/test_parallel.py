"""lint --jobs: the units of the input read and checked by several processes give exactly one process's report."""

from __future__ import annotations

import dataclasses
import io
import random
import sys
from pathlib import Path

import pytest

from kgen import parallel
from kgen.errors import RuleCrash
from kgen.findings import LintReport
from kgen.inputs import stream_inputs
from kgen.parallel import _ranges, lint_in_processes
from kgen.policies import engine
from kgen.policies.policy import load_policy
from kgen.policies.registry import RULES
from kgen.report import render_pieces
from tests.conftest import CORPUS, FIXTURES, needs_shared, run_kgen

# Every rule's fixtures plus cross-object ones (quotas, node pools, custom resources and their CRDs).
INPUTS = [FIXTURES / "rules", FIXTURES / "capacity", FIXTURES / "crds"]
NODE_POOLS = FIXTURES / "capacity" / "policy.yaml"  # node pools and namespace quotas: one process


def _shuffled(seed: int) -> list[str]:
    """Every YAML file of the inputs named on its own (a unit each), in an order set by ``seed``:
    a Service, a LimitRange or a CRD comes in another part than the objects it decides about."""
    files = sorted(str(path) for top in INPUTS for path in top.rglob("*.y*ml"))
    random.Random(seed).shuffle(files)
    return files


def _report(report: LintReport) -> tuple:
    """The JSON and the text report (which quotes the lines of findings), notes and summary."""
    return "".join(render_pieces(report, "json")), "".join(render_pieces(report, "text")), report.notes, report.summary()


def _one_process(paths: list[str], policy_file: Path | None = None) -> LintReport:
    units = stream_inputs(paths)
    return engine.lint_stream(units, load_policy(str(policy_file) if policy_file else None), units.again)


def _processes(paths: list[str], jobs: int, policy_file: Path | None = None) -> LintReport:
    return lint_in_processes(stream_inputs(paths), load_policy(str(policy_file) if policy_file else None), jobs)


@pytest.fixture
def small_parts(monkeypatch: pytest.MonkeyPatch) -> None:
    """Workers for any input, in parts of a few units: many cross-part questions and verdicts."""
    monkeypatch.setattr(parallel, "PARALLEL_MIN_UNITS", 0)
    monkeypatch.setattr(parallel, "MAX_PART_UNITS", 7)


@pytest.mark.parametrize("policy_file", [None, NODE_POOLS])
@pytest.mark.parametrize("seed", [1, 2])
def test_processes_give_one_process_report(small_parts: None, seed: int, policy_file: Path | None) -> None:
    paths = _shuffled(seed)
    one = _one_process(paths, policy_file)
    assert len(one.findings) > 200
    assert {"service-selector-no-match", "hpa-target-missing", "quota-exceeded", "schema-invalid"} <= {f.rule for f in one.findings}
    for jobs in (2, 3):
        assert _report(_processes(paths, jobs, policy_file)) == _report(one)


def test_processes_holding_few_findings_give_one_process_report(small_parts: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """Workers send their findings encoded (engine.FindingLog past HELD_FINDINGS)."""
    monkeypatch.setattr(engine, "HELD_FINDINGS", 40)
    monkeypatch.setattr(engine.FindingLog, "BLOCK", 7)
    paths = _shuffled(1)
    one = _one_process(paths)
    assert len(one.findings) > 200
    assert _report(_processes(paths, 2)) == _report(one)


def test_directories_in_processes_give_one_process_report(small_parts: None) -> None:
    """Walks with charts and Kustomize roots among the files."""
    paths = [str(path) for path in INPUTS]
    assert _report(_processes(paths, 2)) == _report(_one_process(paths))


def test_the_corpus_in_processes_gives_one_process_report() -> None:
    needs_shared(CORPUS)
    assert _report(_processes([str(CORPUS)], 2)) == _report(_one_process([str(CORPUS)]))


def _crashing_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    def crash(*_: object) -> list:
        raise KeyError("boom")

    rule = RULES["security-privileged"]
    monkeypatch.setitem(RULES, rule.id, dataclasses.replace(rule, check=crash))


def test_a_rule_crash_in_a_worker_gives_one_process_notes(small_parts: None, monkeypatch: pytest.MonkeyPatch) -> None:
    _crashing_rule(monkeypatch)
    paths = _shuffled(3)
    one = _one_process(paths)
    assert any("security-privileged skipped" in note for note in one.notes)
    assert _report(_processes(paths, 2)) == _report(one)


def test_a_worker_killed_leaves_its_parts_to_the_parent_never_a_hang(small_parts: None, monkeypatch: pytest.MonkeyPatch) -> None:
    import os
    import signal

    parent = os.getpid()

    def killed_in_a_worker(*args: object) -> object:  # as the kernel's OOM killer would
        if os.getpid() != parent:
            os.kill(os.getpid(), signal.SIGKILL)
        return check(*args)

    rule = RULES["security-privileged"]
    check = rule.check
    paths = _shuffled(4)
    one = _one_process(paths)
    monkeypatch.setitem(RULES, rule.id, dataclasses.replace(rule, check=killed_in_a_worker))

    def hung(*_: object) -> None:
        raise TimeoutError("the lint waited for a dead worker")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(300)
    try:
        assert _report(_processes(paths, 2)) == _report(one)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def test_ctrl_c_stops_the_workers_at_once() -> None:
    """An interrupted lint stops its workers (an interrupt for the parent alone included): none
    finishes its part, none is left behind holding the terminal's output open."""
    import os
    import signal
    import subprocess
    import time

    needs_shared(CORPUS)
    lint = subprocess.Popen(
        [sys.executable, "-m", "kgen", "lint", str(CORPUS), "--jobs", "2", "--format", "json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
        # As from a terminal: a job a shell started in the background inherits SIGINT ignored.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while subprocess.run(["pgrep", "-P", str(lint.pid)], capture_output=True).returncode != 0 and time.monotonic() < deadline:
        time.sleep(0.02)  # until the workers are forked, once the corpus is walked
    os.kill(lint.pid, signal.SIGINT)
    try:
        _, err = lint.communicate(timeout=60)  # ends when every process holding the pipes has ended
    finally:
        if lint.poll() is None or subprocess.run(["pgrep", "-s", str(lint.pid)], capture_output=True).returncode == 0:
            os.killpg(lint.pid, signal.SIGKILL)
    assert lint.returncode == 2 and b"aborted" in err, err[-500:]


def test_a_debug_crash_in_a_worker_is_raised_as_in_one_process(small_parts: None, monkeypatch: pytest.MonkeyPatch) -> None:
    _crashing_rule(monkeypatch)
    monkeypatch.setenv("KGEN_DEBUG", "1")
    paths = [str(FIXTURES / "rules" / "security-privileged")]
    with pytest.raises(RuleCrash) as serial:
        _one_process(paths)
    with pytest.raises(RuleCrash) as parallel_crash:
        _processes(paths, 2)
    assert str(parallel_crash.value) == str(serial.value)
    assert isinstance(parallel_crash.value.__cause__, KeyError)


def test_parts_cover_every_unit_once_in_order() -> None:
    for count in (0, 1, 7, 8, 1001, 5000):
        for places in ([f"p/{i // 37}/f{i}.yaml" for i in range(count)], [f"f{i}.yaml" for i in range(count)], [""] * count):
            for jobs in (1, 2, 3, 8):
                parts = _ranges(places, jobs)
                assert all(0 < end - start <= parallel.MAX_PART_UNITS for start, end in parts)
                assert [i for start, end in parts for i in range(start, end)] == list(range(count))


def test_parts_are_weighed_by_their_bytes_and_files_a_folder_as_a_fixed_guess(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("x" * 100)
    (tmp_path / "b.yaml").write_text("x" * 20)
    (tmp_path / "chart").mkdir()
    places = [str(tmp_path / "a.yaml"), str(tmp_path / "b.yaml"), str(tmp_path / "chart"), str(tmp_path / "gone.yaml"), "-"]
    assert parallel._weights(places, [(0, 2), (2, 5)]) == [120 + 2 * parallel.FILE_WEIGHT, parallel.FOLDER_WEIGHT]


def test_reading_units_starts_their_builds_first_side_by_side() -> None:
    from kgen.inputs import read_units
    from kgen.loader import LoadResult

    events: list[str] = []

    class Unit:
        def __init__(self, name: str, builds: bool) -> None:
            self.name = name
            if builds:
                self.start_build = lambda pool: events.append(f"start {name}")

        def __call__(self) -> LoadResult:
            events.append(f"read {self.name}")
            return LoadResult()

    units = [Unit("file", False), Unit("root1", True), Unit("root2", True)]
    assert len(list(read_units(units, builds_at_once=2))) == 3
    assert events == ["start root1", "start root2", "read file", "read root1", "read root2"]
    events.clear()
    list(read_units(units, builds_at_once=1))  # one at a time: each root builds as it is read
    assert events == ["read file", "read root1", "read root2"]


def test_parts_are_cut_where_projects_meet() -> None:
    # Two projects of 60 and 100 units, parts of 40 asked: the first cut moves from 40 to 60, where
    # the projects meet, not to 30, where two folders of the first one do (its CRDs and custom resources).
    places = [f"corpus/a/{'crds' if i < 30 else 'x'}/f{i}.yaml" for i in range(60)] + [f"corpus/b/f{i}.yaml" for i in range(100)]
    cuts = [start for start, _ in _ranges(places, 1)]
    assert 60 in cuts


def test_cli_jobs_flag_gives_the_same_report() -> None:
    directory = str(FIXTURES / "rules")
    one = run_kgen("lint", directory, "--format", "json", "--jobs", "1")
    two = run_kgen("lint", directory, "--format", "json", "--jobs", "2")
    default = run_kgen("lint", directory, "--format", "json")
    assert one.returncode == two.returncode == default.returncode and one.returncode in (1, 2), one.stderr
    assert one.stdout == two.stdout == default.stdout
    assert run_kgen("lint", directory, "--jobs", "0").returncode == 2  # N must be at least 1


def test_a_folder_with_nothing_to_lint_fails_with_jobs_as_without(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.yaml").write_text("# nothing\n")
    (tmp_path / "ok.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n")
    for args in ([str(tmp_path / "ok.yaml"), str(tmp_path / "empty")], [str(tmp_path / "empty"), str(tmp_path / "ok.yaml")]):
        one = run_kgen("lint", *args, "--jobs", "1")
        two = run_kgen("lint", *args, "--jobs", "2")
        assert one.returncode == two.returncode == 2 and one.stderr == two.stderr and "empty" in one.stderr


def test_standard_input_read_in_a_worker_is_read_again_here(small_parts: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The custom resource comes on standard input, its CRD in a file of another part: the parent
    checks it again from the text every process saw."""
    from tests.test_streaming import WIDGET, _widget_crd

    _widget_crd(tmp_path / "crd.yaml")
    paths = ["-", *_shuffled(4)[:30], str(tmp_path / "crd.yaml")]
    reports = []
    for lint in (_one_process, lambda paths: _processes(paths, 2)):
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(WIDGET.encode())))
        reports.append(lint(paths))
    assert any(f.rule == "schema-invalid" and f.file == "<stdin>" for f in reports[0].findings)
    assert _report(reports[1]) == _report(reports[0])


def test_the_parent_checks_parts_beside_its_workers(small_parts: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """--jobs 2 is this process and one worker: each checks parts, none is pickled here; this
    process takes the heaviest part (most often the one with the CRDs other parts ask about)."""
    import os

    weights = parallel._weights
    heaviest: list[tuple[int, int]] = []

    def last_heaviest(places: list[str], parts: list[tuple[int, int]]) -> list[int]:
        heaviest.append(parts[-1])
        return [*[1] * (len(parts) - 1), 2] if weights(places, parts) else []

    monkeypatch.setattr(parallel, "_weights", last_heaviest)

    checked = parallel._part_checked

    def noted(bounds: tuple[int, int]) -> object:
        with open(tmp_path / str(os.getpid()), "a") as log:
            log.write(f"{bounds}\n")
        return checked(bounds)

    monkeypatch.setattr(parallel, "_part_checked", noted)
    paths = _shuffled(5)
    assert _report(_processes(paths, 2)) == _report(_one_process(paths))
    by_process = {log.name: log.read_text().splitlines() for log in tmp_path.iterdir()}
    assert str(os.getpid()) in by_process and len(by_process) == 2, by_process
    assert all(by_process.values())
    assert by_process[str(os.getpid())][0] == str(heaviest[0])


def test_an_interrupt_as_a_worker_starts_leaves_no_worker_behind(small_parts: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C the moment a worker is forked: the worker is stopped, not left checking its parts
    (nor blocked for ever on a pipe no one reads, holding the terminal's output open)."""
    import os
    import signal

    start = parallel._Worker.start
    started: list[parallel._Worker] = []

    def interrupted(worker: parallel._Worker, *fds: object) -> None:
        start(worker, *fds)
        started.append(worker)
        raise KeyboardInterrupt

    monkeypatch.setattr(parallel._Worker, "start", interrupted)
    with pytest.raises(KeyboardInterrupt):
        _processes(_shuffled(6), 2)
    [worker] = started
    assert worker.status is not None and os.WIFSIGNALED(worker.status) and os.WTERMSIG(worker.status) == signal.SIGTERM
