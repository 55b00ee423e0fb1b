"""lint --jobs: the per-object checks in several processes give exactly one process's findings."""

from __future__ import annotations

import dataclasses

import pytest

from kgen.errors import RuleCrash
from kgen.findings import Finding, LintReport
from kgen.loader import load_paths
from kgen.parallel import _ranges
from kgen.policies import engine
from kgen.policies.policy import load_policy
from kgen.policies.registry import RULES
from tests.conftest import FIXTURES, run_kgen

# Every rule's fixtures plus cross-object ones (quotas, node pools, custom resources).
INPUTS = [str(FIXTURES / "rules"), str(FIXTURES / "capacity"), str(FIXTURES / "crds")]


def _findings(report: LintReport) -> list[tuple]:
    """Every field of every finding in report order, and which loaded object owns it."""
    fields = [field.name for field in dataclasses.fields(Finding) if field.name != "owner"]
    return [(*(getattr(f, name) for name in fields), id(f.owner)) for f in report.findings]


@pytest.fixture
def parallel_always(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine, "PARALLEL_MIN_OBJECTS", 0)


def test_two_and_three_processes_give_one_process_findings(parallel_always: None) -> None:
    load, policy = load_paths(INPUTS), load_policy(None)
    assert len(load.objects) > 100
    one = engine.lint(load, policy)
    assert one.findings
    for jobs in (2, 3):
        many = engine.lint(load, policy, jobs=jobs)
        assert _findings(many) == _findings(one)
        assert many.notes == one.notes


def _crashing_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    def crash(*_: object) -> list:
        raise KeyError("boom")

    rule = RULES["security-privileged"]
    monkeypatch.setitem(RULES, rule.id, dataclasses.replace(rule, check=crash))


def test_a_rule_crash_in_a_worker_gives_one_process_notes(parallel_always: None, monkeypatch: pytest.MonkeyPatch) -> None:
    _crashing_rule(monkeypatch)
    load, policy = load_paths(INPUTS), load_policy(None)
    one = engine.lint(load, policy)
    assert any("security-privileged skipped" in note for note in one.notes)
    many = engine.lint(load, policy, jobs=2)
    assert many.notes == one.notes and _findings(many) == _findings(one)


def test_a_debug_crash_in_a_worker_is_raised_as_in_one_process(parallel_always: None, monkeypatch: pytest.MonkeyPatch) -> None:
    _crashing_rule(monkeypatch)
    monkeypatch.setenv("KGEN_DEBUG", "1")
    load, policy = load_paths([str(FIXTURES / "rules" / "security-privileged")]), load_policy(None)
    with pytest.raises(RuleCrash) as serial:
        engine.lint(load, policy)
    with pytest.raises(RuleCrash) as parallel:
        engine.lint(load, policy, jobs=2)
    assert str(parallel.value) == str(serial.value)
    assert isinstance(parallel.value.__cause__, KeyError)


def test_ranges_cover_every_object_once_in_order() -> None:
    for count in (0, 1, 7, 8, 1001):
        for parts in (1, 3, 8):
            ranges = _ranges(count, parts)
            assert len(ranges) <= parts
            assert [i for start, end in ranges for i in range(start, end)] == list(range(count))


def test_cli_jobs_flag_gives_the_same_report() -> None:
    directory = str(FIXTURES / "rules")
    one = run_kgen("lint", directory, "--format", "json", "--jobs", "1")
    two = run_kgen("lint", directory, "--format", "json", "--jobs", "2")
    assert one.returncode == two.returncode and one.returncode in (1, 2), one.stderr
    assert one.stdout == two.stdout
    assert run_kgen("lint", directory, "--jobs", "0").returncode == 2  # N must be at least 1
