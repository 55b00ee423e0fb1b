"""Offline schemas for kubeconform, made from the files kgen itself validates with.

kubeconform downloads its schemas from GitHub at run time; these machines have no network, so
the lint benchmark hands it a local ``-schema-location`` instead. kubernetes-validate ships one
file per kind that refers into a shared ``_definitions.json`` by an absolute URL, which
kubeconform cannot load offline; compiling the whole definitions file for every kind would also
make kubeconform look slower than it is. So each kind's file is written standalone, as
kubeconform's own schema repository has them: the kind plus only the definitions it reaches,
referred to locally (``#/$defs/NAME``).

Usage: python benchmarks/kubeconform_schemas.py OUT_DIR [VERSION]
prints the ``-schema-location`` template to pass to kubeconform.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

_DEFS = "$defs/"


def _refs(node: Any, out: set[str]) -> None:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and _DEFS in ref:
            out.add(ref.rsplit("/", 1)[1])
        for value in node.values():
            _refs(value, out)
    elif isinstance(node, list):
        for value in node:
            _refs(value, out)


def _localise(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            key: "#/$defs/" + value.rsplit("/", 1)[1] if key == "$ref" and isinstance(value, str) and _DEFS in value else _localise(value)
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_localise(value) for value in node]
    return node


def shipped_dir(version: str) -> Path:
    """kubernetes-validate's strict schemas for ``version`` (``1.35``)."""
    import kubernetes_validate

    return Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema" / f"v{version}.0-local-strict"


def write_standalone(version: str, out: Path) -> str:
    """Write one standalone schema per kind under ``out``; the -schema-location template."""
    source = shipped_dir(version)
    definitions = json.loads((source / "_definitions.json").read_text())["$defs"]
    out.mkdir(parents=True, exist_ok=True)
    for path in sorted(source.glob("*.json")):
        if path.name == "_definitions.json":
            continue
        document = json.loads(path.read_text())
        document.pop("$id", None)  # an absolute id would make kubeconform fetch the refs
        needed: set[str] = set()
        pending: set[str] = set()
        _refs(document, pending)
        while pending:
            name = pending.pop()
            if name not in needed and name in definitions:
                needed.add(name)
                _refs(definitions[name], pending)
        document = _localise(document)
        document["$defs"] = {name: _localise(definitions[name]) for name in sorted(needed)}
        (out / path.name).write_text(json.dumps(document))
    return str(out / "{{ .ResourceKind }}{{ .KindSuffix }}.json")


if __name__ == "__main__":
    print(write_standalone(sys.argv[2] if len(sys.argv) > 2 else "1.35", Path(sys.argv[1])))
