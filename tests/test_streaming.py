"""kgen lint streams its input: each file is checked as it is read and freed, and what depends on
the rest of the input settles at the end. Whatever the order of the input and however it is cut,
the report is the one of linting the whole input at once."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from kgen.findings import LintReport, RowFindings, StoredFindings
from kgen.inputs import stream_inputs
from kgen.loader import LoadResult
from kgen.policies import engine
from kgen.policies.policy import load_policy
from kgen.report import render_pieces
from tests.conftest import CORPUS, FIXTURES, needs_shared, run_kgen

# Rule fixtures (Services, bindings, LimitRanges, quotas, PDBs, autoscalers, CRDs and their
# resources) and the capacity fixtures, whose policy has node pools and namespace quotas.
INPUTS = [FIXTURES / "rules", FIXTURES / "capacity", FIXTURES / "crds"]


def _units(seed: int) -> list[LoadResult]:
    """Every object of the inputs as a unit of its own, in an order set by ``seed``: a Service, a
    LimitRange or a CRD comes before or after the objects it decides about."""
    units = []
    for path in INPUTS:
        for loaded in stream_inputs([str(path)]):
            units.append(LoadResult([], loaded.problems, loaded.files, loaded.documents))
            units += [LoadResult([obj]) for obj in loaded.objects]
    random.Random(seed).shuffle(units)
    return units


def _report(report: LintReport) -> tuple:
    return [f.to_json() for f in report.findings], report.notes, report.summary()


@pytest.mark.parametrize("policy_file", [None, FIXTURES / "capacity" / "policy.yaml"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_streamed_lint_gives_the_findings_of_the_whole_input(seed: int, policy_file: Path | None) -> None:
    policy = load_policy(str(policy_file) if policy_file else None)
    whole = LoadResult()
    for unit in _units(seed):
        whole.objects += unit.objects
        whole.problems += unit.problems
        whole.files += unit.files
        whole.documents += unit.documents
    expected = engine.lint(whole, policy)
    assert len(expected.findings) > 200
    assert {"service-selector-no-match", "hpa-target-missing", "quota-exceeded", "schema-unknown-kind"} <= {f.rule for f in expected.findings}
    streamed = engine.lint_stream(iter(_units(seed)), policy, reread=lambda only: _units(seed))
    assert _report(streamed) == _report(expected)


WIDGET = "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\nspec: {size: big}\n"


def _widget_crd(path: Path) -> None:
    path.write_text(
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: widgets.example.com}\n"
        "spec:\n  group: example.com\n  names: {kind: Widget, plural: widgets}\n  scope: Namespaced\n  versions:\n"
        "  - name: v1\n    served: true\n    storage: true\n    schema:\n      openAPIV3Schema:\n        type: object\n"
        "        properties:\n          spec: {type: object, properties: {size: {type: integer}}}\n"
    )


def test_a_custom_resource_before_its_definition_is_validated_against_it(tmp_path: Path) -> None:
    """The CRD comes in a later file: the file of the resource is read again and checked against it."""
    (tmp_path / "a-widget.yaml").write_text(WIDGET)
    _widget_crd(tmp_path / "b-crd.yaml")
    result = run_kgen("lint", str(tmp_path), "--format", "json")
    assert '"rule": "schema-invalid"' in result.stdout and "schema-unknown-kind" not in result.stdout


def test_standard_input_is_checked_again_from_its_first_reading(tmp_path: Path) -> None:
    _widget_crd(tmp_path / "crd.yaml")
    result = run_kgen("lint", "-", str(tmp_path / "crd.yaml"), "--format", "json", stdin=WIDGET)
    assert '"rule": "schema-invalid"' in result.stdout and "schema-unknown-kind" not in result.stdout


@pytest.mark.parametrize("seed", [1, 2])
def test_a_lint_cut_into_parts_gives_the_findings_of_the_whole_input(seed: int) -> None:
    """What kgen.parallel's workers do, in one process: each part of 5 units (here single
    objects, shuffled) is a run of its own, handed over pickled, and taken in input order."""
    import pickle

    policy = load_policy(None)
    expected = engine.lint_stream(iter(_units(seed)), policy, reread=lambda only: _units(seed))
    units = _units(seed)
    whole = engine.LintRun(policy, reread=lambda only: _units(seed))
    for start in range(0, len(units), 5):
        part = engine.LintRun(policy, reread=whole.reread, first_unit=start)
        for unit in units[start : start + 5]:
            part.add(unit)
        whole.take(pickle.loads(pickle.dumps(part.part())))
    assert _report(whole.report()) == _report(expected)


@pytest.fixture
def few_held(monkeypatch: pytest.MonkeyPatch) -> None:
    """A streaming run that holds a few dozen findings as objects: the others are encoded, in
    blocks that cut units and runs apart, and the report is merged from many sorted runs."""
    monkeypatch.setattr(engine, "HELD_FINDINGS", 40)
    monkeypatch.setattr(engine.FindingLog, "BLOCK", 7)
    monkeypatch.setattr(StoredFindings, "BLOCK", 11)


def _rendered(report: LintReport) -> tuple:
    return tuple("".join(render_pieces(report, fmt)) for fmt in ("json", "text", "sarif")) + (report.notes, report.summary())


def _twice_problems(seed: int) -> list[LoadResult]:
    """The units of ``_units``, then again those with problems (the same findings: one each in the report)."""
    units = _units(seed)
    return units + [unit for unit in _units(seed) if unit.problems]


@pytest.mark.parametrize("policy_file", [None, FIXTURES / "capacity" / "policy.yaml"])
def test_findings_kept_encoded_give_the_report_of_findings_held(few_held: None, policy_file: Path | None) -> None:
    policy = load_policy(str(policy_file) if policy_file else None)
    assert any(unit.problems for unit in _units(1))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(engine, "HELD_FINDINGS", 10**9)
        expected = engine.lint_stream(iter(_units(1)), policy, reread=lambda only: _units(1))
        held = engine.lint_stream(iter(_twice_problems(1)), policy, reread=lambda only: _twice_problems(1))
    assert isinstance(expected.findings, list) and len(expected.findings) > 200
    encoded = engine.lint_stream(iter(_twice_problems(1)), policy, reread=lambda only: _twice_problems(1))
    assert isinstance(encoded.findings, StoredFindings)
    assert _rendered(encoded) == _rendered(held)
    assert encoded.findings == held.findings == expected.findings and list(encoded.findings) == expected.findings


def test_findings_kept_encoded_give_the_corpus_report(few_held: None, monkeypatch: pytest.MonkeyPatch) -> None:
    needs_shared(CORPUS)
    policy = load_policy(None)

    def corpus_report() -> tuple:
        units = stream_inputs([str(CORPUS)])
        return _rendered(engine.lint_stream(units, policy, units.again))

    encoded = corpus_report()
    monkeypatch.setattr(engine, "HELD_FINDINGS", 10**9)
    assert encoded == corpus_report()


def test_stored_findings_read_as_the_list_they_store(few_held: None) -> None:
    findings = engine.lint_stream(iter(_units(2)), load_policy(None), reread=lambda only: _units(2)).findings
    assert isinstance(findings, StoredFindings)
    listed = list(findings)
    assert len(findings) == len(listed) > 2 * StoredFindings.BLOCK and list(findings) == listed
    assert [findings[i] for i in (0, 11, 12, -1, -len(listed))] == [listed[i] for i in (0, 11, 12, -1, -len(listed))]
    assert findings[3:30:2] == listed[3:30:2] and findings == listed and findings != listed[:-1]
    with pytest.raises(IndexError):
        findings[len(listed)]


def test_findings_held_as_rows_read_and_render_as_the_findings_they_hold() -> None:
    """A report of rows (RowFindings: the JSON report writes them with no Finding made) is the
    report of the Findings the rows stand for, in every format, counts and exit code included."""
    from dataclasses import replace

    from kgen.findings import finding_row

    report = engine.lint_stream(iter(_units(2)), load_policy(None), reread=lambda only: _units(2))
    listed = list(report.findings)
    assert len(listed) > 50
    rows = replace(report, findings=RowFindings([finding_row(finding) for finding in listed]))
    as_list = replace(report, findings=listed)
    assert _rendered(rows) == _rendered(as_list)
    assert rows.findings == listed and rows.findings[3:9] == listed[3:9] and rows.findings[-1] == listed[-1]
    assert rows.counts() == as_list.counts()
    assert [engine.fails(rows, level) for level in ("info", "warning", "error")] == [engine.fails(as_list, level) for level in ("info", "warning", "error")]


def test_findings_encoded_while_checked_but_few_once_settled_come_held(monkeypatch: pytest.MonkeyPatch) -> None:
    """More findings than HELD_FINDINGS wait (encoded), fewer remain once their verdicts are
    settled: held (as rows), not stored."""
    policy = load_policy(None)
    run = engine.LintRun(policy, reread=lambda only: _units(1))
    for unit in _units(1):
        run.add(unit)
    waiting = run.findings.held_count
    expected = run.report()
    assert isinstance(expected.findings, list) and waiting > len(expected.findings) + 10
    monkeypatch.setattr(engine, "HELD_FINDINGS", (waiting + len(expected.findings)) // 2)
    monkeypatch.setattr(engine.FindingLog, "BLOCK", 7)
    streamed = engine.lint_stream(iter(_units(1)), policy, reread=lambda only: _units(1))
    assert isinstance(streamed.findings, RowFindings)
    assert _rendered(streamed) == _rendered(expected)
