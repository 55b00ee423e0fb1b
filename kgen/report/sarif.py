"""SARIF 2.1.0, as GitHub code scanning reads it: rule metadata and exact regions."""

from __future__ import annotations

import json
import os
from pathlib import Path
from urllib.parse import quote

from kgen import __version__
from kgen.findings import LintReport
from kgen.report.paths import repository_path

_LEVEL = {"error": "error", "warning": "warning", "info": "note"}
SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
HELP_URI = f"https://github.com/kgen-dev/kgen/blob/v{__version__}/README.md#the-rules"
# GitHub code scanning reads properties.security-severity (0-10) to rank alerts.
_SECURITY_SEVERITY = {"error": "7.5", "warning": "5.0", "info": "2.0"}


def _location(file: str) -> dict:
    """The artifactLocation of ``file``: relative to its repository root under %SRCROOT%, whatever
    the current directory or the form of the path (absolute, ``..``), so code scanning finds it."""
    if file.startswith("<"):
        return {"uri": file.strip("<>")}
    relative = repository_path(file)
    if relative is not None:
        return {"uri": quote(relative), "uriBaseId": "%SRCROOT%"}
    return {"uri": Path(os.path.abspath(file)).as_uri()}


def render(report: LintReport, *, color: bool = False) -> str:
    rules = list(report.rules)
    ids = {rule.id for rule in rules}
    index = {rule.id: position for position, rule in enumerate(rules)}
    results = []
    for f in report.findings:
        if f.rule not in ids:
            continue
        location: dict = {
            "physicalLocation": {
                "artifactLocation": _location(f.file),
                "region": {"startLine": f.line, "startColumn": f.column},
            }
        }
        logical = f.file
        if f.object:
            name = "/".join(part for part in (f.object.get("namespace"), f.object["kind"], f.object["name"]) if part)
            logical = f"{name}:{f.path}" if f.path else name
            location["logicalLocations"] = [{"name": f.object["name"] or f.object["kind"], "fullyQualifiedName": logical, "kind": "object"}]
        environment = f" [{f.environment}]" if f.environment else ""
        result = {
            "ruleId": f.rule,
            "ruleIndex": index[f.rule],
            "level": _LEVEL[f.severity],
            # Two environments' findings on one spec line are two alerts: the text says which.
            "message": {"text": f"{f.message}{environment}"},
            "locations": [location],
            # Stable across edits above the object, so code scanning tracks an alert as the file changes.
            "partialFingerprints": {"kgenObjectPath/v1": f"{f.rule}|{logical}{environment}"},
        }
        if f.environment:
            result["properties"] = {"environment": f.environment}
        results.append(result)
    driver = {
        "name": "kgen",
        "version": __version__,
        "semanticVersion": __version__,
        "informationUri": "https://github.com/kgen-dev/kgen",
        "rules": [
            {
                "id": rule.id,
                "name": "".join(word.capitalize() for word in rule.id.split("-")),
                "shortDescription": {"text": rule.summary},
                "fullDescription": {"text": rule.why},
                "help": {"text": f"{rule.why}\n\nHow to fix: {rule.fix}", "markdown": f"{rule.why}\n\n**How to fix:** {rule.fix}"},
                "helpUri": HELP_URI,
                "defaultConfiguration": {"level": _LEVEL[rule.severity]},
                "properties": {
                    "category": rule.category,
                    "tags": sorted({rule.category, *(["security"] if rule.category in ("security", "secrets") else [])}),
                    "security-severity": _SECURITY_SEVERITY[rule.severity],
                },
            }
            for rule in rules
        ],
    }
    log = {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {"driver": driver},
                "results": results,
                "columnKind": "unicodeCodePoints",
            }
        ],
    }
    return json.dumps(log) + "\n"  # compact: indent would switch json to its slow pure-Python encoder
