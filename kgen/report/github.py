"""GitHub Actions workflow commands: one ::error/::warning/::notice annotation per finding,
errors first (GitHub shows only the first few annotations of each type per step), and the
Markdown job summary written to ``$GITHUB_STEP_SUMMARY``."""

from __future__ import annotations

from collections import Counter

from kgen.findings import SEVERITIES, SEVERITY_RANK, LintReport, describe_object
from kgen.report.escape import github_data, github_property, visible
from kgen.report.paths import repository_path

SUMMARY_FINDINGS = 20
ANNOTATIONS_SHOWN = 10  # per type and step, a GitHub limit

_LEVEL = {"error": "error", "warning": "warning", "info": "notice"}


def render(report: LintReport, *, color: bool = False) -> str:
    lines = []
    for f in sorted(report.findings, key=lambda f: -SEVERITY_RANK[f.severity]):
        props = ",".join(
            [
                f"file={github_property(repository_path(f.file) or f.file)}",
                f"line={f.line}",
                f"col={f.column}",
                f"title={github_property(f'kgen {f.rule}')}",
            ]
        )
        lines.append(f"::{_LEVEL[f.severity]} {props}::{github_data(f.message)}")
    return "".join(line + "\n" for line in lines)


def _cell(text: str) -> str:
    """Text inside a Markdown table cell: on one line, controls shown, pipes escaped."""
    return visible(text).replace("|", "\\|")


def _counted(count: int, noun: str, plural: str = "s") -> str:
    return f"{count} {noun}{'' if count == 1 else plural}"


def step_summary(report: LintReport) -> str:
    """The run as Markdown: counts per rule and severity, then the first findings, errors first."""
    counts = report.counts()
    head = ", ".join(_counted(counts[severity], severity, "" if severity == "info" else "s") for severity in SEVERITIES)
    scope = f"{_counted(report.files, 'file')}, {_counted(report.objects, 'object')}"
    out = ["## kgen lint", "", f"{_counted(len(report.findings), 'finding')} ({head}) in {scope}", ""]
    if any(count > ANNOTATIONS_SHOWN for count in counts.values()):
        out += [f"GitHub shows the first {ANNOTATIONS_SHOWN} annotations of each type on the diff; the tables below count them all.", ""]
    if not report.findings:
        return "\n".join(out) + "\n"
    per_rule = Counter((f.rule, f.severity) for f in report.findings)
    out += ["| rule | severity | findings |", "| --- | --- | ---: |"]
    out += [f"| `{rule}` | {severity} | {count} |" for (rule, severity), count in sorted(per_rule.items(), key=lambda item: (-SEVERITY_RANK[item[0][1]], -item[1], item[0][0]))]
    first = sorted(report.findings, key=lambda f: -SEVERITY_RANK[f.severity])[:SUMMARY_FINDINGS]
    out += ["", f"First {len(first)} of {len(report.findings)}:", "", "| where | severity | rule | object | message |", "| --- | --- | --- | --- | --- |"]
    out += [
        f"| `{_cell(f.file)}:{f.line}` | {f.severity} | `{f.rule}` | {_cell(describe_object(f.object))} | {_cell(f.message)} |"
        for f in first
    ]
    return "\n".join(out) + "\n\n"
