"""API versions the target Kubernetes no longer serves (api-removed) or is about to drop (api-deprecated).

Facts come from ``deprecations.yaml`` (the Kubernetes deprecation guide); an apiVersion of a
built-in group that the guide does not list is checked against the target's schemas, so an
alpha API that went away, or ``apiVersion: v1`` on a Deployment, is caught too.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Iterator, NamedTuple

from kgen.kubeschemas import Version, builtin_schemas, format_version, parse_version, schema_version, shipped_versions, split_api_version
from kgen.loader import JsonPath, KubeObject, read_plain
from kgen.packagedata import read_package_text
from kgen.policies.registry import RuleContext, Violation, fixer, rule
from kgen.policies.schema_settings import SchemaSettings

TABLE_FILE = "deprecations.yaml"


class Deprecation(NamedTuple):  # a named tuple: defining a dataclass costs a one-file lint ~0.5 ms
    api_version: str
    kind: str
    deprecated: Version
    removed: Version
    replacement: str | None
    note: str = ""


@lru_cache(maxsize=1)
def deprecation_table() -> dict[tuple[str, str], Deprecation]:
    """(apiVersion, kind) -> what the deprecation guide says about it."""
    text = read_package_text(__file__, TABLE_FILE)
    table: dict[tuple[str, str], Deprecation] = {}
    for entry in read_plain(text):  # kgen's loader: a third of PyYAML's constructor's time
        for kind in entry["kinds"]:
            table[(entry["apiVersion"], kind)] = Deprecation(
                api_version=entry["apiVersion"],
                kind=kind,
                deprecated=parse_version(entry["deprecated"]),
                removed=parse_version(entry["removed"]),
                replacement=entry.get("replacement"),
                note=entry.get("note", ""),
            )
    return table


def _chain(entry: Deprecation) -> Iterator[Deprecation]:
    """The entry and the removed APIs its replacements lead to (flowcontrol v1beta1 -> v1beta2 -> ...)."""
    table = deprecation_table()
    current: Deprecation | None = entry
    while current is not None:
        yield current
        current = table.get((current.replacement, current.kind)) if current.replacement else None


def replacement_at(entry: Deprecation, target: Version) -> str | None:
    """The apiVersion to move to at ``target``: the first replacement in the chain still served."""
    for current in _chain(entry):
        following = deprecation_table().get((current.replacement, current.kind)) if current.replacement else None
        if current.replacement and (following is None or target < following.removed):
            return current.replacement
    return None


def _advice(entry: Deprecation, target: Version) -> str:
    replacement = replacement_at(entry, target)
    if replacement:
        return f"use apiVersion: {replacement}"
    last = list(_chain(entry))[-1]
    return last.note or f"{entry.kind} has no replacement API"


def removal(api_version: str, kind: str, target: Version) -> str | None:
    """Why ``api_version``/``kind`` is not served by ``target``, or None when it is (or unknown)."""
    entry = deprecation_table().get((api_version, kind))
    shown = format_version(target)
    if entry is not None:
        if target < entry.removed:
            return None
        return (
            f"{api_version} {kind} was removed in Kubernetes {format_version(entry.removed)} "
            f"(target {shown}); {_advice(entry, target)}"
        )
    if target < shipped_versions()[0]:
        return None  # no schemas that old: only the guide's facts apply
    builtin = builtin_schemas(schema_version(target), True)
    group = split_api_version(api_version)[0]
    if builtin.has(api_version, kind) or group not in builtin.groups:
        return None
    served = builtin.api_versions_of(kind)
    if not served:
        return None  # a kind the group never had: schema-invalid says so
    return f"{api_version} {kind} is not served by Kubernetes {shown}; use apiVersion: {served[0]}"


def _target(ctx: RuleContext) -> Version:
    return parse_version(ctx.policy.kubernetes_version)


@rule(
    id="api-removed",
    category="deprecation",
    severity="error",
    summary="The object's apiVersion is not served by the target Kubernetes version (removed, or never existed for that kind).",
    why="""The API server rejects objects whose apiVersion it no longer serves: `kubectl apply` fails and
    the upgrade that removed it breaks the deploy. Beta APIs are removed a few releases after their
    stable replacement ships (extensions/v1beta1 Ingress in 1.22, policy/v1beta1 in 1.25,
    autoscaling/v2beta2 in 1.26).""",
    fix="""Change `apiVersion` to the replacement named in the message and adapt the fields that changed
    (see the Kubernetes deprecated API migration guide). Set `kubernetesVersion` in the policy (or
    `--kube-version`) to the version your cluster runs.""",
)
def api_removed(obj: KubeObject, ctx: RuleContext) -> Iterator[Violation]:
    message = removal(obj.api_version, obj.kind, _target(ctx))
    if message:
        yield Violation(("apiVersion",), message)


@rule(
    id="api-deprecated",
    category="deprecation",
    severity="warning",
    summary="The object's apiVersion is deprecated in the target Kubernetes version and will be removed.",
    why="""A deprecated apiVersion still works but is scheduled for removal; the cluster upgrade that
    removes it will reject these manifests. Moving early is a small change, moving late is an outage.""",
    fix="Change `apiVersion` to the replacement named in the message before upgrading past the removal version.",
)
def api_deprecated(obj: KubeObject, ctx: RuleContext) -> Iterator[Violation]:
    entry = deprecation_table().get((obj.api_version, obj.kind))
    target = _target(ctx)
    if entry is not None and entry.deprecated <= target < entry.removed:
        yield Violation(
            ("apiVersion",),
            f"{entry.api_version} {entry.kind} is deprecated since Kubernetes {format_version(entry.deprecated)} "
            f"and removed in {format_version(entry.removed)}; {_advice(entry, target)}",
        )


@fixer("api-removed", "api-deprecated")
def fix_api_version(data: dict, path: JsonPath, ctx: RuleContext) -> bool:
    """The replacement apiVersion, only when the object validates under it unchanged (policy/v1beta1
    PodDisruptionBudget -> policy/v1 does; extensions/v1beta1 Ingress -> networking.k8s.io/v1 does not)."""
    entry = deprecation_table().get((data.get("apiVersion"), data.get("kind")))  # type: ignore[arg-type]
    target = _target(ctx)
    replacement = replacement_at(entry, target) if entry is not None else None
    if replacement is None:
        return False
    schemas = builtin_schemas(schema_version(target), SchemaSettings.from_policy(ctx.policy).strict)
    compiled = schemas.schema(replacement, str(data["kind"]))
    if compiled is None or not compiled.is_valid({**data, "apiVersion": replacement}):
        return False
    data["apiVersion"] = replacement
    return True
