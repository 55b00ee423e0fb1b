"""The stable JSON shape of DESIGN.md: {"findings": [...], "summary": {...}}."""

from __future__ import annotations

import json
from typing import Callable, Iterator

from kgen.findings import LintReport, row_json


def render(report: LintReport, *, color: bool = False) -> str:
    """One finding per line: diffable and greppable, and written by json's C encoder
    (``indent`` would switch to the pure-Python one, 0.6 s on 8,000 findings)."""
    return "".join(pieces(report))


def pieces(report: LintReport, *, color: bool = False) -> Iterator[str]:
    """The report in pieces, a finding each (a monorepo's report is tens of megabytes)."""
    if report.findings:
        yield '{\n  "findings": [\n    '
        encode = _finding_encoder()
        rows = getattr(report.findings, "iter_rows", None)  # a streaming lint's: no Finding made
        documents = map(row_json, rows()) if rows is not None else (finding.to_json() for finding in report.findings)
        for index, document in enumerate(documents):
            yield (",\n    " if index else "") + encode(document)
        yield "\n  ],\n"
    else:
        yield '{\n  "findings": [],\n'
    yield f'  "summary": {json.dumps(report.summary())}'
    if report.fixed_baseline:
        yield f',\n  "baselineFixed": {json.dumps(report.fixed_baseline)}'
    yield "\n}\n"


def _finding_encoder() -> Callable[[dict], str]:
    """``json.dumps`` of a finding, by one C encoder kept for the whole report: json.dumps makes
    one per call, a third of the time of writing a report of thousands of findings."""
    make_encoder = getattr(json.encoder, "c_make_encoder", None)
    if make_encoder is None:  # a Python without json's C speedups
        return json.dumps
    # As json.dumps makes it, without the check for circular references (a finding is a tree).
    encoder = make_encoder(None, None, json.encoder.encode_basestring_ascii, None, ": ", ", ", False, False, True)
    return lambda document: "".join(encoder(document, 0))
