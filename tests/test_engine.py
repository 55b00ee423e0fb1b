"""The engine: policy switches, suppression, custom rules, dedupe and ordering."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import lint_yaml, rules_found

PRIVILEGED = """\
apiVersion: v1
kind: Pod
metadata:
  name: p
{annotations}
spec:
  containers:
    - name: app
      image: nginx:1.27
      securityContext:
        privileged: true{comment}
"""


def _pod(annotations: str = "", comment: str = "") -> str:
    return PRIVILEGED.format(annotations=annotations, comment=comment)


def test_finding_points_at_the_offending_key() -> None:
    finding = next(f for f in lint_yaml(_pod()).findings if f.rule == "security-privileged")
    assert (finding.line, finding.column) == (11, 9)
    assert finding.path == "spec.containers[0].securityContext.privileged"
    assert finding.object == {"apiVersion": "v1", "kind": "Pod", "namespace": None, "name": "p"}


def test_annotation_suppresses_listed_rules_only() -> None:
    annotated = _pod('  annotations:\n    kgen.dev/ignore: "security-privileged, image-tag-unpinned"\n    kgen.dev/ignore-reason: node agent')
    found = rules_found(lint_yaml(annotated))
    assert "security-privileged" not in found
    assert "security-capabilities" in found


def test_comment_on_offending_line_suppresses() -> None:
    found = rules_found(lint_yaml(_pod(comment="  # kgen:ignore security-privileged")))
    assert "security-privileged" not in found and "security-capabilities" in found


def test_comment_on_object_head_suppresses() -> None:
    text = "# kgen:ignore security-privileged,security-capabilities\n" + _pod()
    found = rules_found(lint_yaml(text))
    assert not {"security-privileged", "security-capabilities"} & found
    assert "security-run-as-root" in found


def test_comment_elsewhere_does_not_suppress() -> None:
    text = _pod().replace("    - name: app\n", "    - name: app  # kgen:ignore security-privileged\n")
    assert "security-privileged" in rules_found(lint_yaml(text))


def test_policy_disables_and_reclassifies(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        "apiVersion: kgen.dev/v1alpha1\nkind: ClusterPolicy\nspec:\n  rules:\n"
        "    security-privileged: {severity: warning}\n    security-capabilities: {enabled: false}\n"
    )
    report = lint_yaml(_pod(), policy=policy)
    assert "security-capabilities" not in rules_found(report)
    assert {f.severity for f in report.findings if f.rule == "security-privileged"} == {"warning"}


def test_custom_rule_applies_json_schema(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        """\
apiVersion: kgen.dev/v1alpha1
kind: ClusterPolicy
spec:
  customRules:
    - id: team-label
      category: reliability
      severity: error
      message: every workload needs a team label
      match: {kinds: [Pod, Deployment]}
      schema: {required: [metadata], properties: {metadata: {required: [labels], properties: {labels: {required: [team]}}}}}
"""
    )
    report = lint_yaml(_pod(), policy=policy)
    custom = [f for f in report.findings if f.rule == "team-label"]
    assert len(custom) == 1 and custom[0].severity == "error" and custom[0].line == 3
    assert "every workload needs a team label" in custom[0].message
    labelled = _pod().replace("  name: p\n", "  name: p\n  labels: {team: search}\n")
    assert "team-label" not in rules_found(lint_yaml(labelled, policy=policy))


def test_findings_are_sorted_and_unique() -> None:
    report = lint_yaml(_pod() + "---\n" + _pod().replace("name: p", "name: q"))
    keys = [f.sort_key() for f in report.findings]
    assert keys == sorted(keys) and len(keys) == len(set(keys))


def test_a_violation_may_weigh_less_than_its_rule_and_the_policy_still_wins(tmp_path: Path) -> None:
    probe = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n    - name: a\n      image: a:1\n      readinessProbe:\n        tcpSocket: {port: 80}\n        timeoutSeconds: 30\n        periodSeconds: 10\n"
    timing = [f for f in lint_yaml(probe).findings if f.rule == "probe-timing-invalid"]
    assert [f.severity for f in timing] == ["warning"]
    policy = tmp_path / "policy.yaml"
    policy.write_text("apiVersion: kgen.dev/v1alpha1\nkind: ClusterPolicy\nspec:\n  rules:\n    probe-timing-invalid: {severity: error}\n")
    timing = [f for f in lint_yaml(probe, policy=policy).findings if f.rule == "probe-timing-invalid"]
    assert [f.severity for f in timing] == ["error"]


def test_pod_template_annotation_suppresses_like_the_object_annotation() -> None:
    """Charts let users set podAnnotations, rarely the Deployment's own annotations."""
    deployment = (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec:\n  template:\n    metadata:\n"
        "      annotations: {kgen.dev/ignore: security-privileged}\n    spec:\n      containers:\n"
        "        - name: app\n          image: nginx:1.27\n          securityContext: {privileged: true}\n"
    )
    found = rules_found(lint_yaml(deployment))
    assert "security-privileged" not in found and "security-capabilities" in found


def test_unknown_rule_in_a_pod_template_suppression_is_reported_once() -> None:
    deployment = (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec:\n  template:\n    metadata:\n"
        "      annotations: {kgen.dev/ignore: security-privilegd}\n    spec:\n      containers:\n"
        "        - name: app\n          image: nginx:1.27\n"
    )
    [hit] = [f for f in lint_yaml(deployment).findings if f.rule == "suppression-unknown-rule"]
    assert hit.line == 7 and "did you mean security-privileged" in hit.message
    pod = _pod('  annotations:\n    kgen.dev/ignore: "security-privilegd"')
    assert len([f for f in lint_yaml(pod).findings if f.rule == "suppression-unknown-rule"]) == 1
