"""Formatters: a LintReport in, text out. They never judge, filter or exit."""

from __future__ import annotations

import importlib

from kgen.findings import LintReport

FORMATS = ("text", "json", "sarif", "junit", "github")
_MODULES = {"text": "text", "json": "json_report", "sarif": "sarif", "junit": "junit", "github": "github"}


def render(report: LintReport, fmt: str, *, color: bool = False) -> str:
    module = importlib.import_module(f"kgen.report.{_MODULES[fmt]}")
    return module.render(report, color=color)
