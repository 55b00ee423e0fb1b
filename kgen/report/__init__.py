"""Formatters: a LintReport in, text out. They never judge, filter or exit."""

from __future__ import annotations

import importlib

from kgen.findings import LintReport

FORMATS = ("text", "json", "sarif", "junit", "github")
_MODULES = {"text": "text", "json": "json_report", "sarif": "sarif", "junit": "junit", "github": "github"}


def render(report: LintReport, fmt: str, *, color: bool = False, quiet: bool = False, fail_on: str = "error") -> str:
    """``report`` in format ``fmt``; each format takes the options that mean something to it."""
    module = importlib.import_module(f"kgen.report.{_MODULES[fmt]}")
    options = {"text": {"color": color, "quiet": quiet}, "junit": {"fail_on": fail_on}}.get(fmt, {})
    return module.render(report, **options)
