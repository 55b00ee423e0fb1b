"""RBAC rules: what a role grants, and who the input says holds it."""

from __future__ import annotations

from kgen.findings import Finding
from tests.conftest import RULE_FIXTURES, lint_files, lint_yaml


def _hits(report_findings: list[Finding], rule_id: str) -> list[Finding]:
    return [f for f in report_findings if f.rule == rule_id]


def test_messages_name_the_binding_the_account_and_the_workload() -> None:
    [first, _] = _hits(lint_files(RULE_FIXTURES / "rbac-wildcard" / "fail.yaml").findings, "rbac-wildcard")
    assert "granted by ClusterRoleBinding 'inference-operator' to ServiceAccount operators/inference-operator" in first.message
    assert "(used by Deployment 'inference-operator')" in first.message
    assert first.path == "rules[0].resources[0]"


ROLE = """\
apiVersion: rbac.authorization.k8s.io/v1
kind: {kind}
metadata: {{name: reader, namespace: team}}
rules:
  - apiGroups: [""]
    resources: [secrets]
    verbs: [get, list]
"""
BINDING = """\
---
apiVersion: rbac.authorization.k8s.io/v1
kind: {kind}
metadata: {{name: reader, namespace: team}}
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: reader}}
subjects: [{{kind: ServiceAccount, name: app, namespace: team}}]
"""


def test_secret_reads_are_a_warning_cluster_wide_and_info_per_namespace() -> None:
    cluster_role = ROLE.format(kind="ClusterRole")
    assert [f.severity for f in _hits(lint_yaml(cluster_role).findings, "rbac-secrets-access")] == ["warning"]
    wide = lint_yaml(cluster_role + BINDING.format(kind="ClusterRoleBinding")).findings
    assert [f.severity for f in _hits(wide, "rbac-secrets-access")] == ["warning"]
    per_namespace = lint_yaml(cluster_role + BINDING.format(kind="RoleBinding")).findings
    assert [f.severity for f in _hits(per_namespace, "rbac-secrets-access")] == ["info"]
    assert [f.severity for f in _hits(lint_yaml(ROLE.format(kind="Role")).findings, "rbac-secrets-access")] == ["info"]


def test_a_role_of_another_namespace_is_not_granted_by_a_role_binding() -> None:
    role = ROLE.format(kind="Role").replace("namespace: team", "namespace: other")
    binding = BINDING.format(kind="RoleBinding").replace("kind: ClusterRole, name: reader", "kind: Role, name: reader")
    [hit] = _hits(lint_yaml(role + binding).findings, "rbac-secrets-access")
    assert "granted by" not in hit.message


def test_escalation_needs_the_verb_on_the_dangerous_resource() -> None:
    text = ROLE.format(kind="ClusterRole").replace("resources: [secrets]\n    verbs: [get, list]", "resources: [pods, pods/log]\n    verbs: [create, get]")
    assert not _hits(lint_yaml(text).findings, "rbac-escalation")
    impersonate = ROLE.format(kind="ClusterRole").replace("resources: [secrets]\n    verbs: [get, list]", "resources: [serviceaccounts]\n    verbs: [impersonate]")
    [hit] = _hits(lint_yaml(impersonate).findings, "rbac-escalation")
    assert "grants impersonate on serviceaccounts" in hit.message
