"""RBAC rules: Roles and ClusterRoles that grant more than an application should hold.

A role is judged by its rules; when the input also holds the bindings and the pods that use it,
messages name who gets the rights (the binding, its ServiceAccounts and the workloads running as
them), which is what decides how bad a broad role is. Aggregated ClusterRoles (``aggregationRule``)
are filled in by the controller and are judged through the roles they aggregate.
"""

from __future__ import annotations

from functools import partial
from typing import Iterator

from kgen.loader import JsonPath, KubeObject
from kgen.policies.inventory import Inventory, RoleRef
from kgen.policies.registry import RuleContext, Violation, rule
from kgen.workloads import as_list

RBAC_GROUP = "rbac.authorization.k8s.io"
ROLE_KINDS = ["Role", "ClusterRole"]
READ_VERBS = frozenset({"get", "list", "watch", "*"})
# (verb, resources it is dangerous on, API groups): each lets a holder gain rights it was not given.
ESCALATIONS = (
    ("escalate", frozenset({"roles", "clusterroles"}), RBAC_GROUP),
    ("bind", frozenset({"roles", "clusterroles"}), RBAC_GROUP),
    ("impersonate", frozenset({"users", "groups", "serviceaccounts", "uids", "userextras/*"}), ""),
    ("create", frozenset({"pods/exec", "pods/attach"}), ""),
)
_CORE_GROUPS = ("", "*")


def _strings(value: object) -> list[str]:
    return [item for item in as_list(value) if isinstance(item, str)]


def _policy_rules(role: KubeObject) -> Iterator[tuple[int, dict]]:
    """(index, rule) of a Role or ClusterRole of the RBAC API group."""
    if role.group != RBAC_GROUP:
        return
    for index, item in enumerate(as_list(role.data.get("rules"))):
        if isinstance(item, dict):
            yield index, item


def _cluster_wide(role: RoleRef, inventory: Inventory) -> bool:
    """A ClusterRole granted by a ClusterRoleBinding, or one the input does not bind (how it is bound
    is not known); a Role, or a ClusterRole only granted per namespace by RoleBindings, is not."""
    if role.kind != "ClusterRole":
        return False
    bindings = inventory.bindings_of_role(role)
    return not bindings or any(b.kind == "ClusterRoleBinding" for b in bindings)


def reach(role: RoleRef, inventory: Inventory) -> str:
    """Who holds the role's rights, as far as the input tells: bindings, ServiceAccounts, workloads."""
    parts = []
    for binding in inventory.bindings_of_role(role):
        accounts = []
        for namespace, account in binding.accounts:
            users = [f"{kind} {name!r}" for kind, name in inventory.templates_running_as(namespace, account)]
            accounts.append(f"ServiceAccount {namespace}/{account}" + (f" (used by {', '.join(dict.fromkeys(users))})" if users else ""))
        granted = f" to {', '.join(accounts)}" if accounts else ""
        parts.append(f"{binding.kind} {binding.name!r}{granted}")
    return f"; granted by {'; '.join(parts)}" if parts else ""


def _with_reach(path: JsonPath, role: RoleRef, head: str, tail: str, inventory: Inventory) -> Violation:
    """The message ``head`` + who holds the role (known once every binding and pod is read) + ``tail``."""
    return Violation(path, f"{head}{reach(role, inventory)}{tail}")


@rule(
    id="rbac-wildcard",
    category="security",
    severity="warning",
    scope="object",
    kinds=ROLE_KINDS,
    summary="A Role or ClusterRole uses `*` in verbs, resources or apiGroups.",
    why="""A wildcard grants every verb, resource or API group, including the ones added later (new CRDs,
    subresources, `escalate` and `impersonate`): the role silently grows with the cluster, and a `*` verb or
    resource is usually one step from cluster-admin.""",
    fix="""List the API groups, resources and verbs the workload needs (`kubectl auth can-i --list --as
    system:serviceaccount:NS:NAME` and the API server's audit log show what it uses).""",
    silent_when="""an aggregated ClusterRole (aggregationRule) has its rules written by the controller.""",
)
def wildcard(role: KubeObject, ctx: RuleContext) -> Iterator[Violation]:
    for index, item in _policy_rules(role):
        for field in ("verbs", "resources", "apiGroups"):
            values = _strings(item.get(field))
            if "*" in values:
                where: JsonPath = ("rules", index, field, values.index("*"))
                head = f"{role.kind} {role.name!r} rules[{index}] grants every {field[:-1] if field != 'apiGroups' else 'API group'} ('*')"
                yield Violation(where, "", settle=partial(_with_reach, where, RoleRef.of(role), head, "; list the ones needed"))


def _grants_secret_reads(item: dict) -> list[str]:
    """The read verbs a policy rule grants on Secrets (every Secret: not limited by resourceNames)."""
    if _strings(item.get("resourceNames")) or not set(_strings(item.get("apiGroups"))) & set(_CORE_GROUPS):
        return []
    if not {"secrets", "*"} & set(_strings(item.get("resources"))):
        return []
    return [verb for verb in _strings(item.get("verbs")) if verb in READ_VERBS]


@rule(
    id="rbac-secrets-access",
    category="security",
    severity="warning",
    scope="object",
    kinds=ROLE_KINDS,
    summary="A Role or ClusterRole can get, list or watch Secrets (any Secret, not named ones).",
    why="""Reading Secrets reads every credential stored in them: database passwords, TLS keys and the
    tokens of other ServiceAccounts (which may hold more rights). A ClusterRole granted cluster-wide reads
    every namespace's; `list` and `watch` return the values too, not only the names.""",
    fix="""Limit the rule to the Secrets the workload needs with `resourceNames` (for `get`), or mount the
    Secret into the pod instead of reading it through the API. Keep cluster-wide Secret access to the few
    controllers that need it (and suppress the rule on their role).""",
    silent_when="""the role's rule names the Secrets it may read (resourceNames).""",
    case_severities={"the role is a Role, or a ClusterRole the input only grants per namespace (RoleBindings)": "info"},
)
def secrets_access(role: KubeObject, ctx: RuleContext) -> Iterator[Violation]:
    for index, item in _policy_rules(role):
        verbs = _grants_secret_reads(item)
        if verbs:
            path = ("rules", index, "verbs")
            yield Violation(path, "", settle=partial(_secret_reads, path, RoleRef.of(role), verbs))


def _secret_reads(path: JsonPath, role: RoleRef, verbs: list[str], inventory: Inventory) -> Violation:
    """Reading Secrets in every namespace is a warning; in the role's own namespace(s), information."""
    wide = _cluster_wide(role, inventory)
    scope = "in every namespace" if wide else f"in its namespace{'s' if role.kind == 'ClusterRole' else ''}"
    return Violation(
        path,
        f"{role.kind} {role.name!r} can {'/'.join(verbs)} Secrets {scope}{reach(role, inventory)}; limit it with resourceNames",
        severity=None if wide else "info",
    )


@rule(
    id="rbac-escalation",
    category="security",
    severity="warning",
    scope="object",
    kinds=ROLE_KINDS,
    summary="A Role or ClusterRole grants a privilege-escalation verb: escalate or bind on roles, impersonate, or create on pods/exec or pods/attach.",
    why="""`escalate` lets a holder write roles with rights it does not have, `bind` lets it grant any role
    to itself, `impersonate` lets it act as another user, group or ServiceAccount, and `create` on
    `pods/exec` or `pods/attach` runs commands in other pods with their ServiceAccounts and Secrets. Each is
    a path from the role's rights to more, often to cluster-admin.""",
    fix="""Remove the verb; controllers that manage RBAC should list the roles they may bind with
    `resourceNames`. Running commands in pods belongs to people (through kubectl), not to workloads.""",
)
def escalation(role: KubeObject, ctx: RuleContext) -> Iterator[Violation]:
    for index, item in _policy_rules(role):
        groups = set(_strings(item.get("apiGroups")))
        resources = set(_strings(item.get("resources")))
        verbs = _strings(item.get("verbs"))
        for verb, dangerous, group in ESCALATIONS:
            hit = sorted(resources & dangerous)
            if verb in verbs and hit and groups & {group, "*"}:
                path = ("rules", index, "verbs", verbs.index(verb))
                head = f"{role.kind} {role.name!r} grants {verb} on {', '.join(hit)}"
                yield Violation(path, "", settle=partial(_with_reach, path, RoleRef.of(role), head, "; remove it or limit it with resourceNames"))
