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


def test_corpus_summary_is_printed_for_the_record() -> None:
    report = _corpus_report()
    by_rule = Counter(f.rule for f in report.findings)
    print("corpus findings by rule:", dict(sorted(by_rule.items())))
    assert sum(by_rule.values()) == len(report.findings)
