"""Formatters: a LintReport in, text out. They never judge, filter or exit."""

from __future__ import annotations

import importlib
from typing import Iterator

from kgen.findings import LintReport

FORMATS = ("text", "json", "sarif", "junit", "github")
_MODULES = {"text": "text", "json": "json_report", "sarif": "sarif", "junit": "junit", "github": "github"}


def render(report: LintReport, fmt: str, *, color: bool = False, quiet: bool = False, fail_on: str = "error") -> str:
    """``report`` in format ``fmt``; each format takes the options that mean something to it."""
    return "".join(render_pieces(report, fmt, color=color, quiet=quiet, fail_on=fail_on))


def render_pieces(report: LintReport, fmt: str, *, color: bool = False, quiet: bool = False, fail_on: str = "error") -> Iterator[str]:
    """:func:`render` in pieces to write one after the other: a format that can (JSON, one
    finding per line) never holds a monorepo's whole report as one string."""
    module = importlib.import_module(f"kgen.report.{_MODULES[fmt]}")
    options = {"text": {"color": color, "quiet": quiet}, "junit": {"fail_on": fail_on}}.get(fmt, {})
    pieces = getattr(module, "pieces", None)
    if pieces is not None:
        yield from pieces(report, **options)
    else:
        yield module.render(report, **options)
