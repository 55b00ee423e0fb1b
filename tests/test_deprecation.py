"""The deprecation table against the shipped schemas, and api-removed / api-deprecated verdicts."""

from __future__ import annotations

import pytest
import yaml

from kgen.kubeschemas import builtin_gvks, format_version, shipped_versions
from kgen.loader import load_paths, load_text
from kgen.policies.deprecation import deprecation_table, removal, replacement_at
from kgen.policies.engine import lint
from kgen.policies.policy import ClusterPolicy, apply_lint_options
from tests.conftest import PEER_SUITES, needs_shared

TABLE = sorted(deprecation_table().values(), key=lambda e: (e.removed, e.api_version, e.kind))


@pytest.mark.parametrize("entry", TABLE, ids=lambda e: f"{e.api_version}/{e.kind}")
def test_table_agrees_with_the_schemas_of_every_shipped_version(entry) -> None:
    """Served in a run of shipped versions that ends right before ``removed`` (an API added after
    1.25 starts later); from ``deprecated`` on, the advised replacement is served."""
    assert entry.deprecated < entry.removed
    served = [version for version in shipped_versions() if (entry.api_version, entry.kind) in builtin_gvks(version)]
    expected = [version for version in shipped_versions() if version < entry.removed]
    assert served == expected[len(expected) - len(served) :], f"{entry.api_version} {entry.kind} served in {served}"
    assert served or entry.removed <= shipped_versions()[0], f"{entry.api_version} {entry.kind} is in no shipped schema set"
    for version in shipped_versions():
        if version < entry.deprecated:
            continue
        replacement = replacement_at(entry, version)
        if replacement is not None:
            assert (replacement, entry.kind) in builtin_gvks(version), f"replacement {replacement} at {format_version(version)}"
        else:
            assert any(e.note for e in TABLE if e.kind == entry.kind), "an API without replacement needs a note"


def test_stable_apis_that_vanish_between_shipped_versions_are_in_the_table() -> None:
    """Any beta/GA apiVersion dropped between two shipped schema sets is a removal the table must explain."""
    missing = set()
    versions = shipped_versions()
    for older, newer in zip(versions, versions[1:]):
        for api_version, kind in builtin_gvks(older) - builtin_gvks(newer):
            if "alpha" in api_version or kind == "Status" or kind.endswith("List"):
                continue  # alpha APIs come and go without deprecation; v1 Status is a schema artefact
            if (api_version, kind) not in deprecation_table():
                missing.add((api_version, kind, format_version(newer)))
    assert missing <= _REMOVED_WITHOUT_GUIDE_ENTRY, sorted(missing - _REMOVED_WITHOUT_GUIDE_ENTRY)


# Beta APIs the schemas show disappearing but the deprecation guide has no entry for: api-removed
# still reports them (the apiVersion is absent from the target's schemas), without a removal version.
_REMOVED_WITHOUT_GUIDE_ENTRY = {
    ("authentication.k8s.io/v1beta1", "SelfSubjectReview", "1.33"),
    ("admissionregistration.k8s.io/v1beta1", "ValidatingAdmissionPolicy", "1.34"),
    ("admissionregistration.k8s.io/v1beta1", "ValidatingAdmissionPolicyBinding", "1.34"),
    ("networking.k8s.io/v1beta1", "IPAddress", "1.37"),
    ("networking.k8s.io/v1beta1", "ServiceCIDR", "1.37"),
    ("storage.k8s.io/v1beta1", "VolumeAttributesClass", "1.37"),
}


def _lint(text: str, version: str) -> list[tuple[str, str, str]]:
    policy = apply_lint_options(ClusterPolicy.default(), kube_version=version)
    report = lint(load_text(text, "test.yaml"), policy)
    return [(f.rule, f.severity, f.message) for f in report.findings if f.category == "deprecation"]


HPA = "apiVersion: autoscaling/v2beta2\nkind: HorizontalPodAutoscaler\nmetadata: {name: web}\nspec: {maxReplicas: 3, scaleTargetRef: {kind: Deployment, name: web}}\n"


def test_removed_names_the_version_and_the_replacement() -> None:
    assert _lint(HPA, "1.30") == [
        ("api-removed", "error", "autoscaling/v2beta2 HorizontalPodAutoscaler was removed in Kubernetes 1.26 (target 1.30); use apiVersion: autoscaling/v2")
    ]
    assert _lint(HPA, "1.23") == [
        ("api-deprecated", "warning", "autoscaling/v2beta2 HorizontalPodAutoscaler is deprecated since Kubernetes 1.23 and removed in 1.26; use apiVersion: autoscaling/v2")
    ]
    assert _lint(HPA, "1.22") == []


def test_replacement_chain_is_followed_to_what_the_target_serves() -> None:
    entry = deprecation_table()[("flowcontrol.apiserver.k8s.io/v1beta1", "FlowSchema")]
    assert replacement_at(entry, (1, 27)) == "flowcontrol.apiserver.k8s.io/v1beta2"
    assert replacement_at(entry, (1, 33)) == "flowcontrol.apiserver.k8s.io/v1"
    psp = removal("policy/v1beta1", "PodSecurityPolicy", (1, 30))
    assert psp is not None and "Pod Security Admission" in psp


def test_ingress_psp_and_hpa_examples_from_the_issue() -> None:
    assert removal("extensions/v1beta1", "Ingress", (1, 22)) is not None
    assert removal("extensions/v1beta1", "Ingress", (1, 21)) is None
    assert removal("policy/v1beta1", "PodSecurityPolicy", (1, 25)) is not None
    assert removal("autoscaling/v2beta2", "HorizontalPodAutoscaler", (1, 26)) is not None


def test_custom_groups_are_never_removed() -> None:
    assert removal("monitoring.coreos.com/v1", "Prometheus", (1, 33)) is None


def _peer_entries() -> list[dict]:
    needs_shared(PEER_SUITES)
    entries = yaml.safe_load((PEER_SUITES / "expectations.yaml").read_text())
    return [e for e in entries if e["kgen_rule"] in ("api-removed", "api-deprecated")]


def test_peer_suite_deprecation_entries_hold() -> None:
    for entry in _peer_entries():
        policy = apply_lint_options(ClusterPolicy.default(), kube_version=entry.get("kube_version"))
        report = lint(load_paths([str(PEER_SUITES / entry["file"])]), policy)
        target = entry["object"]
        hits = [
            f for f in report.findings
            if f.rule == entry["kgen_rule"] and f.object and (f.object["kind"], f.object["name"]) == (target["kind"], target["name"])
        ]
        assert bool(hits) == (entry["expect"] == "fail"), entry
