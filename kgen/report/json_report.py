"""The stable JSON shape of DESIGN.md: {"findings": [...], "summary": {...}}."""

from __future__ import annotations

import json
from typing import Callable, Iterator

from kgen.findings import FindingRows, LintReport, Row, finding_row, row_json

# Findings written at a time: a piece of the report (a monorepo's report is tens of megabytes).
PIECE_FINDINGS = 512


def render(report: LintReport, *, color: bool = False) -> str:
    """One finding per line: diffable and greppable."""
    return "".join(pieces(report))


def pieces(report: LintReport, *, color: bool = False) -> Iterator[str]:
    """The report in pieces of PIECE_FINDINGS findings."""
    if report.findings:
        yield '{\n  "findings": [\n    '
        found = report.findings  # a streaming lint's as rows: no Finding made
        rows = found.iter_rows() if isinstance(found, FindingRows) else map(finding_row, found)
        encode = _row_encoder()
        piece: list[str] = []
        separator = ""
        for row in rows:
            piece.append(encode(row))
            if len(piece) == PIECE_FINDINGS:
                yield separator + ",\n    ".join(piece)
                piece, separator = [], ",\n    "
        yield separator + ",\n    ".join(piece) if piece else ""
        yield "\n  ],\n"
    else:
        yield '{\n  "findings": [],\n'
    yield f'  "summary": {json.dumps(report.summary())}'
    if report.fixed_baseline:
        yield f',\n  "baselineFixed": {json.dumps(report.fixed_baseline)}'
    yield "\n}\n"


def _row_encoder() -> Callable[[Row], str]:
    """``json.dumps(row_json(row))`` for the rows of one report, in half the time: the text that
    rule, category and severity make together, each file name and each object reference (one
    dict for the findings of an object) is encoded once; a row of other types than a finding's
    goes through json's C encoder. tests/test_reports.py holds them equal."""
    make_encoder = getattr(json.encoder, "c_make_encoder", None)
    if make_encoder is None:  # a Python without json's C speedups
        return lambda row: json.dumps(row_json(row))
    # As json.dumps makes it, without the check for circular references (a finding is a tree).
    encoder = make_encoder(None, None, json.encoder.encode_basestring_ascii, None, ": ", ", ", False, False, True)
    quote: Callable[[str], str] = json.encoder.encode_basestring_ascii  # type: ignore[attr-defined]
    heads: dict[tuple, str] = {}
    files: dict[str, str] = {}
    objects: dict[int, tuple[dict | None, str]] = {}  # by identity: each kept, so that its identity is not reused

    def encode(row: Row) -> str:
        rule, category, severity, message, file, line, column, ref, path, environment, approximate = row[:11]
        if not (
            type(rule) is type(category) is type(severity) is type(message) is type(file) is type(path) is str
            and type(line) is type(column) is int
            and (ref is None or type(ref) is dict)
            and (environment is None or type(environment) is str)
        ):
            return "".join(encoder(row_json(row), 0))
        head = heads.get((rule, category, severity))
        if head is None:
            head = heads[(rule, category, severity)] = f'{{"rule": {quote(rule)}, "category": {quote(category)}, "severity": {quote(severity)}, "message": '
        shown = files.get(file)
        if shown is None:
            shown = files[file] = quote(file)
        kept = objects.get(id(ref))
        if kept is None or kept[0] is not ref:
            kept = objects[id(ref)] = (ref, "".join(encoder(ref, 0)))
        written = kept[1]
        text = f'{head}{quote(message)}, "file": {shown}, "line": {line}, "column": {column}, "object": {written}, "path": {quote(path)}'
        if environment is not None:
            text += f', "environment": {quote(environment)}'
        return text + (', "approximate": true}' if approximate else "}")

    return encode
