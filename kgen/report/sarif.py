"""SARIF 2.1.0, as GitHub code scanning reads it: rule metadata and exact regions."""

from __future__ import annotations

import json
from pathlib import PurePath

from kgen import __version__
from kgen.findings import LintReport

_LEVEL = {"error": "error", "warning": "warning", "info": "note"}
SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"


def _uri(file: str) -> str:
    return PurePath(file).as_posix().lstrip("/") if not file.startswith("<") else file.strip("<>")


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
                "artifactLocation": {"uri": _uri(f.file), "uriBaseId": "%SRCROOT%"},
                "region": {"startLine": f.line, "startColumn": f.column},
            }
        }
        logical = f.file
        if f.object:
            name = "/".join(part for part in (f.object.get("namespace"), f.object["kind"], f.object["name"]) if part)
            logical = f"{name}:{f.path}" if f.path else name
            location["logicalLocations"] = [{"name": f.object["name"] or f.object["kind"], "fullyQualifiedName": logical, "kind": "object"}]
        result = {
            "ruleId": f.rule,
            "ruleIndex": index[f.rule],
            "level": _LEVEL[f.severity],
            "message": {"text": f.message},
            "locations": [location],
            # Stable across edits above the object, so code scanning tracks an alert as the file changes.
            "partialFingerprints": {"kgenObjectPath/v1": f"{f.rule}|{logical}"},
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
                "defaultConfiguration": {"level": _LEVEL[rule.severity]},
                "properties": {"category": rule.category, "tags": [rule.category]},
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
