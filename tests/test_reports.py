"""Every output format carries the same findings with the same regions."""

from __future__ import annotations

import dataclasses
import json
from xml.etree import ElementTree as ET

import jsonschema
import pytest
from hypothesis import given, seed, settings
from hypothesis import strategies as st

from kgen.findings import SEVERITY_RANK, Finding
from kgen.report import render
from kgen.report.paths import repository_path
from tests.conftest import FIXTURES, lint_files

SAMPLE = FIXTURES / "rules" / "security-run-as-root" / "fail.yaml"
SARIF_SCHEMA = json.loads((FIXTURES / "reference" / "sarif-schema-2.1.0.json").read_text())


def _report():
    report = lint_files(SAMPLE, FIXTURES / "rules" / "yaml-invalid" / "fail.yaml")
    assert report.findings
    return report


def test_json_has_the_design_shape() -> None:
    report = _report()
    document = json.loads(render(report, "json"))
    assert set(document) == {"findings", "summary"}
    assert document["summary"] == {"files": 2, "objects": 2, **report.counts()}
    first = document["findings"][0]
    assert list(first) == ["rule", "category", "severity", "message", "file", "line", "column", "object", "path"]
    assert list(first["object"]) == ["apiVersion", "kind", "namespace", "name"]


_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)


@settings(max_examples=200, deadline=None)
@seed(5)
@given(st.lists(st.builds(
    Finding, rule=_TEXT, category=_TEXT, severity=st.sampled_from(["error", "warning", "info"]), message=_TEXT, file=_TEXT,
    line=st.integers(1, 10**6), column=st.integers(1, 999), path=_TEXT, environment=st.none() | _TEXT, approximate=st.booleans(),
    object=st.none() | st.fixed_dictionaries({"apiVersion": _TEXT, "kind": _TEXT, "namespace": st.none() | _TEXT, "name": _TEXT}),
), max_size=7))
def test_json_findings_are_written_as_json_dumps_writes_them(findings: list[Finding]) -> None:
    """Whatever the texts (quotes, control characters, non-ASCII), objects shared or not, rows or
    Findings, cut in pieces anywhere: each finding is the line json.dumps writes."""
    from unittest import mock

    from kgen.findings import RowFindings, finding_row
    from kgen.report import json_report

    findings += findings[:2]  # the same object reference again
    report = dataclasses.replace(_report(), findings=findings)
    written = render(report, "json")
    assert [json.dumps(finding.to_json()) for finding in findings] == [line.strip().rstrip(",") for line in written.splitlines()[2 : 2 + len(findings)]]
    assert json.loads(written)["findings"] == [finding.to_json() for finding in findings]
    with mock.patch.object(json_report, "PIECE_FINDINGS", 2):
        assert render(dataclasses.replace(report, findings=RowFindings([finding_row(f) for f in findings])), "json") == written


def test_json_findings_of_other_types_are_written_as_json_dumps_writes_them() -> None:
    """A row whose values are not a finding's types (a float line, a list as object) goes through json."""
    from kgen.findings import RowFindings

    rows = [("r", "c", "error", "m", "f", 1.5, 2, ["x"], "p", None, False, False), ("r", "c", "info", "m", "f", 1, 2, {"k": 1}, "p", "e", 1, False)]
    written = render(dataclasses.replace(_report(), findings=RowFindings(rows)), "json")
    assert json.loads(written)["findings"][0]["line"] == 1.5 and json.loads(written)["findings"][1]["approximate"] is True


def test_sarif_validates_and_carries_regions_and_rule_metadata() -> None:
    report = _report()
    log = json.loads(render(report, "sarif"))
    jsonschema.Draft4Validator(SARIF_SCHEMA).validate(log)
    run = log["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    results = run["results"]
    assert len(results) == len(report.findings)
    for result, finding in zip(results, report.findings):
        region = result["locations"][0]["physicalLocation"]["region"]
        assert (region["startLine"], region["startColumn"]) == (finding.line, finding.column)
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"] == finding.rule
        assert result["level"] == {"error": "error", "warning": "warning", "info": "note"}[finding.severity]
    assert all(rule["help"]["text"] and rule["shortDescription"]["text"] for rule in rules)


JUNIT_SCHEMA = FIXTURES / "reference" / "junit.xsd"


@pytest.mark.parametrize("fail_on", ["error", "warning", "info"])
def test_junit_fails_only_findings_at_or_above_fail_on_and_validates(fail_on: str) -> None:
    import xmlschema

    report = _report()
    text = render(report, "junit", fail_on=fail_on)
    xmlschema.XMLSchema(str(JUNIT_SCHEMA)).validate(text)
    root = ET.fromstring(text)
    failing = [f for f in report.findings if SEVERITY_RANK[f.severity] >= SEVERITY_RANK[fail_on]]
    assert len(root.findall(".//failure")) == len(failing) and root.get("failures") == str(len(failing))
    assert len(root.findall(".//testcase")) == len(report.findings)
    below = root.findall(".//testcase/system-out")
    assert len(below) == len(report.findings) - len(failing)
    assert all(f"below --fail-on {fail_on}" in out.text for out in below)


def test_junit_for_a_clean_run_has_one_passing_case() -> None:
    report = lint_files(FIXTURES / "rules" / "yaml-invalid" / "pass.yaml")
    root = ET.fromstring(render(report, "junit"))
    assert root.findall(".//failure") == [] and len(root.findall(".//testcase")) == 1


def test_github_annotations_escape_properties_and_data() -> None:
    report = _report()
    lines = render(report, "github").splitlines()
    assert len(lines) == len(report.findings)
    finding = sorted(report.findings, key=lambda f: -SEVERITY_RANK[f.severity])[0]  # errors first
    assert [line.split(" ", 1)[0] for line in lines] == sorted((line.split(" ", 1)[0] for line in lines), key=["::error", "::warning", "::notice"].index)
    assert lines[0].startswith(f"::{ {'error': 'error', 'warning': 'warning', 'info': 'notice'}[finding.severity]} file={repository_path(finding.file) or finding.file},line={finding.line},col={finding.column},title=kgen {finding.rule}::")
    from kgen.report.escape import github_data, github_property

    assert github_property("a:b,c%\n") == "a%3Ab%2Cc%25%0A"
    assert github_data("50%\r\n") == "50%25%0D%0A"


def test_text_shows_source_line_caret_and_summary() -> None:
    report = _report()
    out = render(report, "text")
    assert "\033[" not in out
    finding = report.findings[0]
    lines = out.splitlines()
    index = lines.index(next(l for l in lines if l.strip().startswith(f"{finding.line}:{finding.column}")))
    assert lines[index + 2].index("^") - 4 == finding.column - 1
    assert lines[-1].startswith(f"{len(report.findings)} problems (")
    assert "\033[" in render(report, "text", color=True)
