"""Baselines: adopt kgen on an existing repository by failing only on new findings.

An entry is keyed by rule, object (kind, namespace, name), path and environment,
never by line or apiVersion, so editing above an object or upgrading its API
version does not turn old findings into new ones. Entries are counted, so a
second identical finding on the same object is still new.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import replace
from typing import Iterable

from kgen.errors import InputError
from kgen.findings import Finding, LintReport
from kgen.loader import read_source

BASELINE_VERSION = 1
Key = tuple[str, str, str, str, str, str]


def _key(finding: Finding) -> Key | None:
    if finding.object is None:
        return None  # unparseable input is never baselined
    obj = finding.object
    return (finding.rule, obj["kind"] or "", obj["namespace"] or "", obj["name"] or "", finding.path, finding.environment or "")


def _entry_key(entry: dict) -> Key:
    obj = entry.get("object") or {}
    return (
        str(entry.get("rule", "")),
        str(obj.get("kind") or ""),
        str(obj.get("namespace") or ""),
        str(obj.get("name") or ""),
        str(entry.get("path", "")),
        str(entry.get("environment") or ""),
    )


def baseline_text(findings: Iterable[Finding]) -> str:
    """The baseline file for ``findings``: sorted, one entry per finding, human-diffable."""
    entries = []
    for finding in findings:
        if _key(finding) is None:
            continue
        entry = {
            "rule": finding.rule,
            "object": {"kind": finding.object["kind"], "namespace": finding.object["namespace"], "name": finding.object["name"]},  # type: ignore[index]
            "path": finding.path,
            "file": finding.file,
        }
        if finding.environment:
            entry["environment"] = finding.environment
        entries.append(entry)
    entries.sort(key=lambda e: (_entry_key(e), e["file"]))
    return json.dumps({"version": BASELINE_VERSION, "findings": entries}, indent=2) + "\n"


def read_baseline(path: str) -> list[dict]:
    if not os.path.lexists(path):
        raise InputError("baseline file not found (create it with --write-baseline)", path)
    try:
        document = json.loads(read_source(path).text)
    except json.JSONDecodeError as exc:
        raise InputError(f"baseline is not valid JSON: {exc.msg}", path, exc.lineno) from None
    except RecursionError:
        raise InputError("baseline is not a kgen baseline: JSON nested too deeply", path) from None
    if not isinstance(document, dict) or document.get("version") != BASELINE_VERSION or not isinstance(document.get("findings"), list):
        raise InputError(f"not a kgen baseline (expected version {BASELINE_VERSION} with a findings list)", path)
    for index, entry in enumerate(document["findings"]):
        problem = _entry_problem(entry)
        if problem:
            raise InputError(f"findings[{index}]: {problem} (write the baseline with --write-baseline)", path)
    return document["findings"]


def _entry_problem(entry: object) -> str | None:
    """What is wrong with one baseline entry's shape, or None (the shape baseline_text writes)."""
    if not isinstance(entry, dict):
        return "every baseline entry must be an object"
    for key in ("rule", "path"):
        if not isinstance(entry.get(key), str):
            return f"{key} must be a string"
    for key in ("environment", "file"):
        if entry.get(key) is not None and not isinstance(entry[key], str):
            return f"{key} must be a string"
    obj = entry.get("object")
    if not isinstance(obj, dict):
        return "object must be an object with kind, namespace and name"
    for key in ("kind", "namespace", "name"):
        if obj.get(key) is not None and not isinstance(obj[key], str):
            return f"object.{key} must be a string or null"
    return None


def apply_baseline(report: LintReport, entries: list[dict]) -> LintReport:
    """The report without findings the baseline already knows, plus the entries that are gone."""
    remaining = Counter(_entry_key(entry) for entry in entries)
    new: list[Finding] = []
    for finding in report.findings:
        key = _key(finding)
        if key is not None and remaining[key] > 0:
            remaining[key] -= 1
        else:
            new.append(finding)
    gone = []
    for entry in entries:
        key = _entry_key(entry)
        if remaining[key] > 0:
            remaining[key] -= 1
            gone.append(entry)
    return replace(report, findings=new, fixed_baseline=gone, baselined=len(report.findings) - len(new))
