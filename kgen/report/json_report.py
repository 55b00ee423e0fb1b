"""The stable JSON shape of DESIGN.md: {"findings": [...], "summary": {...}}."""

from __future__ import annotations

import json

from kgen.findings import LintReport


def render(report: LintReport, *, color: bool = False) -> str:
    document: dict = {"findings": [f.to_json() for f in report.findings], "summary": report.summary()}
    if report.fixed_baseline:
        document["baselineFixed"] = report.fixed_baseline
    return json.dumps(document, indent=2, sort_keys=False) + "\n"
