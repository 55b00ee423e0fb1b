"""The shared corpus of ~2,700 real manifests: no crash, every finding on a real line.

Only files with real YAML defects (duplicate keys) may produce yaml-invalid; the
list is pinned so a loader change that starts rejecting good files shows up.
"""

from __future__ import annotations

from collections import Counter
from functools import lru_cache

from kgen.findings import LintReport
from tests.conftest import CORPUS, lint_files, needs_shared

DUPLICATE_KEY_FILES = {
    "gke-samples/streaming/kafka-confluent/manifests/05-replicator/my-target-cluster.yaml",
    "gke-samples/streaming/kafka-confluent/manifests/05-replicator/replicator.yaml",
    "gke-samples/streaming/kafka-confluent/manifests/06-confluent-platform/platform.yaml",
    "kubernetes-examples/_archived/openshift-origin/etcd-controller.yaml",
    "kubernetes-examples/_archived/openshift-origin/etcd-discovery-controller.yaml",
    "kubernetes-examples/_archived/openshift-origin/openshift-controller.yaml",
    "kubernetes-examples/_archived/persistent-volume-provisioning/quobyte/quobyte-admin-secret.yaml",
    "kubernetes-examples/_archived/volumes/scaleio/sc-pvc.yaml",
}


# Findings per rule on the corpus. A change here is a change in what kgen reports on real manifests:
# say why in the commit message, one line per changed count.
FINDINGS_BY_RULE = {
    "api-removed": 49,
    "gpu-shm-missing": 8,
    "gpu-toleration-missing": 143,
    "hpa-target-missing": 1,
    "image-tag-unpinned": 277,
    "ingress-tls-missing": 23,
    "pdb-blocks-eviction": 1,
    "probe-identical": 74,
    "probe-liveness-missing": 530,
    "probe-port-undeclared": 71,
    "probe-readiness-missing": 315,
    "probe-timing-invalid": 1,
    "rbac-escalation": 6,
    "rbac-secrets-access": 37,
    "rbac-wildcard": 32,
    "resources-cpu-limit-missing": 617,
    "resources-limit-below-request": 3,
    "resources-memory-limit-missing": 610,
    "resources-requests-missing": 570,
    "schema-invalid": 99,
    "schema-unknown-kind": 118,
    "secret-env-literal": 41,
    "secret-in-configmap": 2,
    "secret-object-committed": 27,
    "security-capabilities": 821,
    "security-host-namespaces": 25,
    "security-host-path": 58,
    "security-privilege-escalation": 815,
    "security-privileged": 35,
    "security-readonly-rootfs": 849,
    "security-run-as-root": 801,
    "security-seccomp-missing": 839,
    "service-selector-no-match": 6,
    "serviceaccount-token-automount": 201,
    "yaml-ambiguous-value": 1,
    "yaml-invalid": 8,
}


@lru_cache(maxsize=1)
def _corpus_report() -> LintReport:
    needs_shared(CORPUS)
    return lint_files(CORPUS)


def test_corpus_lints_and_every_finding_has_a_real_position() -> None:
    report = _corpus_report()
    assert report.objects > 2600 and report.files > 1600
    for finding in report.findings:
        lines = report.sources[finding.file].lines
        assert 1 <= finding.line <= len(lines), finding
        assert 1 <= finding.column <= len(lines[finding.line - 1]) + 1, finding


def test_only_real_yaml_defects_are_yaml_invalid() -> None:
    report = _corpus_report()
    invalid = {f.file.split("/corpus/", 1)[1] for f in report.findings if f.rule == "yaml-invalid"}
    assert invalid == DUPLICATE_KEY_FILES
    assert all("duplicate key" in f.message for f in report.findings if f.rule == "yaml-invalid")


def test_corpus_findings_per_rule_are_pinned() -> None:
    report = _corpus_report()
    by_rule = Counter(f.rule for f in report.findings)
    print("corpus findings by rule:", dict(sorted(by_rule.items())))
    assert dict(sorted(by_rule.items())) == FINDINGS_BY_RULE


def test_undeclared_probe_port_numbers_are_only_info_on_the_corpus() -> None:
    """Every corpus probe-port-undeclared finding is a number the process listens on without declaring it."""
    severities = Counter(f.severity for f in _corpus_report().findings if f.rule == "probe-port-undeclared")
    assert severities == Counter({"info": FINDINGS_BY_RULE["probe-port-undeclared"]})
