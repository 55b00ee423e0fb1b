"""GitHub Actions workflow commands: one ::error/::warning/::notice annotation per finding."""

from __future__ import annotations

from kgen.findings import LintReport

_LEVEL = {"error": "error", "warning": "warning", "info": "notice"}


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def render(report: LintReport, *, color: bool = False) -> str:
    lines = []
    for f in report.findings:
        props = ",".join(
            [
                f"file={_escape_property(f.file)}",
                f"line={f.line}",
                f"col={f.column}",
                f"title={_escape_property(f'kgen {f.rule}')}",
            ]
        )
        lines.append(f"::{_LEVEL[f.severity]} {props}::{_escape_data(f.message)}")
    return "".join(line + "\n" for line in lines)
