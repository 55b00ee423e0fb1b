"""kgen lint streams its input: each file is checked as it is read and freed, and what depends on
the rest of the input settles at the end. Whatever the order of the input and however it is cut,
the report is the one of linting the whole input at once."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from kgen.findings import LintReport
from kgen.inputs import stream_inputs
from kgen.loader import LoadResult
from kgen.policies import engine
from kgen.policies.policy import load_policy
from tests.conftest import FIXTURES, run_kgen

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
