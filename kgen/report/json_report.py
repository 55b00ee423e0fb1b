"""The stable JSON shape of DESIGN.md: {"findings": [...], "summary": {...}}."""

from __future__ import annotations

import json
from typing import Iterator

from kgen.findings import LintReport


def render(report: LintReport, *, color: bool = False) -> str:
    """One finding per line: diffable and greppable, and written by json's C encoder
    (``indent`` would switch to the pure-Python one, 0.6 s on 8,000 findings)."""
    return "".join(pieces(report))


def pieces(report: LintReport, *, color: bool = False) -> Iterator[str]:
    """The report in pieces, a finding each (a monorepo's report is tens of megabytes)."""
    if report.findings:
        yield '{\n  "findings": [\n    '
        for index, finding in enumerate(report.findings):
            yield (",\n    " if index else "") + json.dumps(finding.to_json())
        yield "\n  ],\n"
    else:
        yield '{\n  "findings": [],\n'
    yield f'  "summary": {json.dumps(report.summary())}'
    if report.fixed_baseline:
        yield f',\n  "baselineFixed": {json.dumps(report.fixed_baseline)}'
    yield "\n}\n"
