"""Rules must survive any shape of input: pod specs whose fields hold the wrong types."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings, strategies as st

from kgen.loader import LoadResult, SourceFile, parse_source
from kgen.policies.engine import lint
from kgen.policies.policy import ClusterPolicy

import yaml

junk = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 10**6) | st.text(max_size=12) | st.sampled_from(["100m", "1Gi", "ALL", "0%", "100%", "http", "Never"]),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.sampled_from([
        "name", "image", "resources", "limits", "requests", "cpu", "memory", "nvidia.com/gpu", "securityContext",
        "capabilities", "add", "drop", "ports", "containerPort", "readinessProbe", "livenessProbe", "httpGet", "port",
        "env", "value", "valueFrom", "volumes", "hostPath", "tolerations", "key", "operator", "effect", "nodeSelector",
        "affinity", "selector", "matchLabels", "replicas", "template", "spec", "metadata", "labels", "tls", "hosts",
        "rules", "host", "data", "minAvailable", "maxUnavailable", "scaleTargetRef", "kind", "maxReplicas",
    ]), children, max_size=4),
    max_leaves=25,
)

KINDS = ["Pod", "Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "Service", "Ingress", "ConfigMap", "Secret",
         "HorizontalPodAutoscaler", "PodDisruptionBudget", "ResourceQuota", "LimitRange", "ServiceAccount"]


def _document(kind: str, spec: object, containers: object, pod_extra: object) -> dict:
    pod = {"containers": containers}
    if isinstance(pod_extra, dict):
        pod.update(pod_extra)
    body = {"selector": spec, "template": {"metadata": {"labels": {"app": "x"}}, "spec": pod}}
    if isinstance(spec, dict):
        body.update(spec)
    return {"apiVersion": "v1", "kind": kind, "metadata": {"name": "x", "namespace": "ns"}, "spec": body, "data": spec}


@settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(KINDS), junk, st.lists(junk, max_size=3), junk)
def test_rules_never_crash_on_odd_shapes(kind: str, spec: object, containers: object, pod_extra: object) -> None:
    text = yaml.safe_dump(_document(kind, spec, containers, pod_extra))
    loaded: LoadResult = parse_source(SourceFile("fuzz.yaml", text))
    report = lint(loaded, ClusterPolicy.default())
    for finding in report.findings:
        assert finding.line >= 1
