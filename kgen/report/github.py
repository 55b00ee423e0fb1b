"""GitHub Actions workflow commands: one ::error/::warning/::notice annotation per finding."""

from __future__ import annotations

from kgen.findings import LintReport
from kgen.report.escape import github_data, github_property

_LEVEL = {"error": "error", "warning": "warning", "info": "notice"}


def render(report: LintReport, *, color: bool = False) -> str:
    lines = []
    for f in report.findings:
        props = ",".join(
            [
                f"file={github_property(f.file)}",
                f"line={f.line}",
                f"col={f.column}",
                f"title={github_property(f'kgen {f.rule}')}",
            ]
        )
        lines.append(f"::{_LEVEL[f.severity]} {props}::{github_data(f.message)}")
    return "".join(line + "\n" for line in lines)
