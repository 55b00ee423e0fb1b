"""Fuzzing every input kgen reads (issue 18): manifests, app specs, policies, baselines, --set pairs.

Each property asserts the same contract: bad input is an ``InputError`` (one located line, exit 2)
or a finding, never another exception; what can be judged is judged (a complete report). Bounded
and derandomized (the same examples every run), a few seconds in all, so it runs in every CI run.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings, strategies as st

from kgen.errors import InputError
from kgen.loader import SourceFile, parse_source
from kgen.policies.engine import lint
from kgen.policies.policy import ClusterPolicy
from tests.conftest import FIXTURES, document_paths

FUZZ = settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))

SCALARS = st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=True) | st.text(max_size=8) | st.sampled_from(
    ["1e400", "-1", "100m", "1Gi", "null", "::error::x", "\x1b[31m", "{{ x }}", "${x}", "(", "#/$defs/x", "http://127.0.0.1:9/"]
)
JUNK: st.SearchStrategy[Any] = st.recursive(
    SCALARS, lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3), max_leaves=8
)
POD = (FIXTURES / "rules" / "security-privileged" / "pass.yaml").read_text()
SPEC = yaml.safe_load((FIXTURES / "specs" / "triton.yaml").read_text())
POLICY = yaml.safe_load((FIXTURES / "policies" / "example-cluster.yaml").read_text())
POLICY["spec"]["customRules"] = [
    {"id": "team-label", "message": "needs a team", "match": {"kinds": ["Pod"]},
     "schema": {"$defs": {"label": {"type": "string", "pattern": "^[a-z]+$"}},
                "properties": {"metadata": {"required": ["labels"], "properties": {"labels": {"properties": {"team": {"$ref": "#/$defs/label"}}}}}}}},
]  # fmt: skip


def _replaced(document: Any, path: tuple, value: Any) -> Any:
    if not path:
        return value
    mutated = copy.deepcopy(document)
    node = mutated
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    return mutated


def _mutations(document: Any) -> st.SearchStrategy[Any]:
    """``document`` with one to three of its values (anywhere) replaced by junk."""
    paths = document_paths(document)

    def apply(edits: list[tuple[int, Any]]) -> Any:
        mutated = document
        for index, value in edits:
            path = paths[index % len(paths)]
            try:
                mutated = _replaced(mutated, path, value)
            except (KeyError, IndexError, TypeError):  # an earlier edit removed this path
                continue
        return mutated

    return st.lists(st.tuples(st.integers(0, 10_000), JUNK), min_size=1, max_size=3).map(apply)


def _dump(document: Any) -> str:
    return yaml.safe_dump(document, allow_unicode=True, sort_keys=False)


def _text_edits(text: str) -> st.SearchStrategy[str]:
    """``text`` with a few characters YAML cares about inserted or deleted at random places."""
    alphabet = st.sampled_from([":", "-", "{", "}", "[", "]", "&a", "*a", "!!", "'", '"', "\n", "  ", "#", "|", ">", "?", "%", "\t", "\x00", "\ufeff", "---\n"])

    def edited(edits: list[tuple[int, str, bool]]) -> str:
        result = text
        for position, piece, delete in edits:
            at = position % (len(result) + 1)
            result = result[:at] + result[at + 1 :] if delete else result[:at] + piece + result[at:]
        return result

    return st.lists(st.tuples(st.integers(0, 10_000), alphabet, st.booleans()), min_size=1, max_size=4).map(edited)


@FUZZ
@given(_text_edits(POD + "---\n" + POD.replace("name:", "name: b", 1)))
def test_any_manifest_text_gives_a_complete_report(text: str) -> None:
    loaded = parse_source(SourceFile("fuzz.yaml", text))
    report = lint(loaded, ClusterPolicy.default())
    assert report.files == 1 and report.objects == len(loaded.objects)
    assert all(finding.line >= 1 and finding.column >= 1 for finding in report.findings)
    assert {id(obj) for obj in loaded.objects} >= {id(f.owner) for f in report.findings if f.owner is not None}
    from kgen.report import render

    for fmt in ("text", "json", "junit", "github", "sarif"):
        render(report, fmt)


@FUZZ
@given(_mutations(SPEC))
def test_any_spec_is_valid_or_a_located_spec_error(document: Any) -> None:
    from kgen.generator.build import render
    from kgen.generator.spec import parse_spec
    from kgen.generator.validation import spec_problems

    try:
        spec = parse_spec(SourceFile("kgen.yaml", _dump(document)))
    except InputError:
        return
    problems = spec_problems(spec)
    assert all(problem.line >= 1 for problem in problems)
    if not problems:
        for env in spec.environment_names():
            render(spec, env, "kgen.yaml")


@FUZZ
@given(_mutations(POLICY))
def test_any_policy_loads_or_is_a_located_policy_error(tmp_path_factory, document: Any) -> None:
    from kgen.policies.policy import load_policy

    path = tmp_path_factory.mktemp("policy") / "policy.yaml"
    path.write_text(_dump(document))
    try:
        policy = load_policy(str(path))
    except InputError as exc:
        assert str(exc).startswith(str(path)) and "\n" not in str(exc)
        return
    report = lint(parse_source(SourceFile("pod.yaml", POD)), policy)
    assert report.objects == 1


BASELINE_ENTRY = {"rule": "security-privileged", "object": {"kind": "Pod", "namespace": None, "name": "p"}, "path": "spec", "file": "a.yaml"}


@FUZZ
@given(_mutations({"version": 1, "findings": [BASELINE_ENTRY, BASELINE_ENTRY]}))
def test_any_baseline_applies_or_is_a_one_line_error(tmp_path_factory, document: Any) -> None:
    from kgen.baseline import apply_baseline, read_baseline

    path = tmp_path_factory.mktemp("baseline") / "baseline.json"
    path.write_text(json.dumps(document))
    try:
        entries = read_baseline(str(path))
    except InputError as exc:
        assert str(exc).startswith(str(path)) and "\n" not in str(exc)
        return
    report = lint(parse_source(SourceFile("pod.yaml", POD)), ClusterPolicy.default())
    after = apply_baseline(report, entries)
    assert len(after.findings) <= len(report.findings)


@FUZZ
@given(st.text(alphabet="ab.[]=,\\0129-{}\"' \n", max_size=16))
def test_any_set_pair_is_parsed_or_a_one_line_error(pair: str) -> None:
    from kgen.inputs import _chart_values

    try:
        values = _chart_values([], [pair])
    except InputError as exc:
        assert str(exc).startswith("--set ") and len(str(exc).splitlines()) <= 1 + pair.count("\n")
        return
    assert isinstance(values, dict) and values
