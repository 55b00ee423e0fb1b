"""kubeschemas.DefinitionsFile decodes one definition at a time; it must read exactly what a whole
decode reads, and fall back to the whole decode for a file laid out differently."""

from __future__ import annotations

import json

from kgen.kubeschemas import DefinitionsFile

DOCUMENT = {
    "$defs": {
        "io.k8s.api.apps.v1.Deployment": {
            "properties": {"spec": {"$ref": "#/$defs/io.k8s.api.apps.v1.DeploymentSpec"}, "kind": {"type": "string"}},
            "x-kubernetes-group-version-kind": [{"group": "apps", "kind": "Deployment", "version": "v1"}],
        },
        "io.k8s.api.apps.v1.DeploymentSpec": {
            "properties": {
                "replicas": {"allOf": [{"$ref": "#/$defs/io.k8s.apimachinery.pkg.util.intstr.IntOrString"}]},
                "note": {"type": "string", "description": "a \"quoted\"\n    \"fake\": {key} inside a string"},
            }
        },
        "io.k8s.apimachinery.pkg.util.intstr.IntOrString": {"oneOf": [{"type": "string"}, {"type": "integer"}]},
        "io.k8s.api.core.v1.Unrelated": {"type": "object"},
    },
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://kubernetes.io/api/_definitions.json",
}


def _read(text: str) -> tuple[list, dict]:
    definitions = DefinitionsFile(text)
    return sorted(definitions.group_version_kinds()), definitions.closure("io.k8s.api.apps.v1.Deployment")


def test_sliced_and_whole_decoding_agree() -> None:
    sliced = DefinitionsFile(json.dumps(DOCUMENT, indent=2))
    whole = DefinitionsFile(json.dumps(DOCUMENT))
    assert sliced.offsets and not whole.offsets  # one read per definition, one whole decode
    assert _read(json.dumps(DOCUMENT, indent=2)) == _read(json.dumps(DOCUMENT))


def test_closure_holds_what_the_kind_reaches_with_unions_relaxed() -> None:
    gvks, closure = _read(json.dumps(DOCUMENT, indent=2))
    assert gvks == [("io.k8s.api.apps.v1.Deployment", [{"group": "apps", "kind": "Deployment", "version": "v1"}])]
    assert sorted(closure["$defs"]) == [
        "io.k8s.api.apps.v1.Deployment",
        "io.k8s.api.apps.v1.DeploymentSpec",
        "io.k8s.apimachinery.pkg.util.intstr.IntOrString",
    ]
    assert closure["$defs"]["io.k8s.apimachinery.pkg.util.intstr.IntOrString"] == {"type": ["string", "integer", "null"]}
    assert closure["$id"] == DOCUMENT["$id"] and closure["$schema"] == DOCUMENT["$schema"]


def test_the_whole_document_has_every_definition_relaxed_as_the_slices_are() -> None:
    for text in (json.dumps(DOCUMENT, indent=2), json.dumps(DOCUMENT)):
        definitions = DefinitionsFile(text)
        whole = definitions.whole()
        assert sorted(whole["$defs"]) == sorted(DOCUMENT["$defs"])
        assert all(whole["$defs"][name] == definitions.definition(name) for name in DOCUMENT["$defs"])
        assert whole["$id"] == DOCUMENT["$id"]
