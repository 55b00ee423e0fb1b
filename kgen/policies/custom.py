"""Rules written by the cluster owner in the policy's ``customRules`` (a JSON Schema per rule)."""

from __future__ import annotations

from typing import Any, Iterator

from kgen.errors import InputError
from kgen.loader import JsonPath, KubeObject, format_path
from kgen.policies.cluster_policy import ClusterPolicy
from kgen.policies.registry import Rule, RuleContext, Violation


def custom_rules(policy: ClusterPolicy) -> list[Rule]:
    return [_custom_rule(spec, policy.kubernetes_version) for spec in policy.custom_rules]


class RuleSchemaError(Exception):
    """A custom rule's schema that cannot be compiled; ``path`` is where in the schema, when known."""

    def __init__(self, message: str, path: JsonPath = ()) -> None:
        super().__init__(message)
        self.path = path


def compile_rule_schema(schema: Any, kubernetes_version: str) -> Any:
    """The validator for a custom rule's schema, offline: a ``$ref`` may point within the schema
    (``#/...``) or at the shipped Kubernetes definitions, never at a URL or a file."""
    import jsonschema_rs

    from kgen.kubeschemas import DEFINITIONS_URI

    for path, ref in _refs(schema, ()):
        if not ref.startswith(("#", DEFINITIONS_URI + "#")):
            raise RuleSchemaError(f"$ref {ref!r}: a custom rule may only refer within its schema (#/...) or to {DEFINITIONS_URI}#/...; kgen never fetches schemas", path)

    def shipped_only(uri: str) -> dict:
        if uri.partition("#")[0] != DEFINITIONS_URI:
            raise ValueError(f"kgen never fetches schemas ({uri})")
        from kgen.kubeschemas import builtin_schemas, parse_version, schema_version

        return builtin_schemas(schema_version(parse_version(kubernetes_version)), False).document

    try:
        return jsonschema_rs.validator_for(schema, retriever=shipped_only)
    except (ValueError, jsonschema_rs.ValidationError, jsonschema_rs.ReferencingError) as exc:
        path = tuple(getattr(exc, "instance_path", ()) or ())
        message = getattr(exc, "message", None) or str(exc)
        raise RuleSchemaError(f"not a usable JSON schema: {message.splitlines()[0]}", path) from None


def _refs(node: Any, path: JsonPath) -> Iterator[tuple[JsonPath, str]]:
    """(path, target) of every reference keyword in a schema."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("$ref", "$dynamicRef", "$recursiveRef", "$schema") and isinstance(value, str):
                if key != "$schema" or not value.startswith(("http://json-schema.org/", "https://json-schema.org/")):
                    yield (*path, key), value
            else:
                yield from _refs(value, (*path, key))
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from _refs(item, (*path, index))


def _custom_rule(spec: dict, kubernetes_version: str) -> Rule:
    try:
        validator = compile_rule_schema(spec["schema"], kubernetes_version)
    except RuleSchemaError as exc:  # load_policy reports these with their line; this is the library path
        raise InputError(f"custom rule {spec.get('id')}: schema{'.' + format_path(exc.path) if exc.path else ''}: {exc}") from None
    match = spec.get("match") or {}
    api_versions = set(match.get("apiVersions") or [])
    namespaces = set(match.get("namespaces") or [])
    message = spec["message"]

    def check(obj: KubeObject, ctx: RuleContext) -> Iterator[Violation]:
        if api_versions and obj.api_version not in api_versions:
            return
        if namespaces and (obj.namespace or "default") not in namespaces:
            return
        for error in validator.iter_errors(obj.data):
            yield Violation(tuple(error.instance_path), f"{message}: {error.message}")

    return Rule(
        id=spec["id"],
        category=spec.get("category", "reliability"),
        severity=spec.get("severity", "warning"),
        summary=message,
        why=spec.get("why", "A rule of this cluster's policy."),
        fix=spec.get("fix", message),
        scope="object",
        kinds=frozenset(match["kinds"]) if match.get("kinds") else None,
        check=check,
    )
