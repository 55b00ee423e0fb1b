"""Rules written by the cluster owner in the policy's ``customRules`` (a JSON Schema per rule)."""

from __future__ import annotations

from typing import Iterator

from kgen.loader import KubeObject
from kgen.policies.policy import ClusterPolicy
from kgen.policies.registry import Rule, RuleContext, Violation


def custom_rules(policy: ClusterPolicy) -> list[Rule]:
    return [_custom_rule(spec) for spec in policy.custom_rules]


def _custom_rule(spec: dict) -> Rule:
    import jsonschema_rs

    validator = jsonschema_rs.validator_for(spec["schema"])
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
