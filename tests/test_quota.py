"""Namespace quota at peak across objects: which quotas apply, what each workload adds, where it is reported."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings, strategies as st

from kgen.capacity import capacity_report
from kgen.policies.fit import cluster_fit, plural_of, quota_key
from kgen.loader import SourceFile, load_text, parse_source
from kgen.policies.engine import lint
from kgen.policies.inventory import Inventory
from kgen.policies.policy import ClusterPolicy, deep_merge, load_policy
from tests.conftest import lint_yaml
from tests.test_fuzz import KINDS, _document, junk

POLICY = """\
apiVersion: kgen.dev/v1alpha1
kind: ClusterPolicy
metadata: {name: t}
spec:
  namespaces:
    ml:
      quota: {requests.cpu: "8", pods: "20"}
  nodePools:
    - name: general
      count: 4
      allocatable: {cpu: "16", memory: 64Gi}
    - name: gpu
      count: 2
      labels: {pool: gpu}
      taints: [{key: nvidia.com/gpu, effect: NoSchedule}]
      allocatable: {cpu: "64", memory: 512Gi, nvidia.com/gpu: "8"}
"""


def deployment(name: str, *, namespace: str = "ml", replicas: int | None = None, resources: str = "{requests: {cpu: '1'}}", extra: str = "") -> str:
    lines = ["apiVersion: apps/v1", "kind: Deployment", f"metadata: {{name: {name}, namespace: {namespace}}}", "spec:"]
    if replicas is not None:
        lines.append(f"  replicas: {replicas}")
    lines += [
        f"  selector: {{matchLabels: {{app: {name}}}}}",
        "  template:",
        f"    metadata: {{labels: {{app: {name}}}}}",
        "    spec:",
        *([extra] if extra else []),
        "      containers:",
        f"        - {{name: app, image: 'ghcr.io/acme/{name}:1.0', resources: {resources}}}",
    ]
    return "\n".join(lines) + "\n"


def hpa(target: str, maximum: int, namespace: str = "ml") -> str:
    return f"""apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {{name: {target}, namespace: {namespace}}}
spec:
  scaleTargetRef: {{apiVersion: apps/v1, kind: Deployment, name: {target}}}
  maxReplicas: {maximum}
"""


@pytest.fixture()
def policy(tmp_path: Path) -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text(POLICY)
    return path


def findings(text: str, policy: Path | None, rule: str = "quota-exceeded") -> list:
    return [f for f in lint_yaml(text, policy=policy).findings if f.rule == rule]


def fit_of(text: str, policy_path: Path | None = None):
    policy = load_policy(str(policy_path)) if policy_path else ClusterPolicy.default()
    return cluster_fit(Inventory(load_text(text, "t.yaml").objects), policy)


def test_reported_on_every_contributor_with_totals_and_largest(policy: Path) -> None:
    text = "---\n".join([deployment("big", replicas=2), hpa("big", 6), deployment("small", replicas=3)])
    hits = findings(text, policy)
    assert sorted(f.object["name"] for f in hits) == ["big", "small"]
    big = next(f for f in hits if f.object["name"] == "big")
    assert "requests.cpu in namespace ml reaches 9 at peak, over the 8 of the policy quota of namespace ml" in big.message
    assert "Deployment/big adds 6 (6 pods x 1; HorizontalPodAutoscaler big maxReplicas 6)" in big.message
    assert "largest: Deployment/big 6 (6 pods x 1), Deployment/small 3 (3 pods x 1)" in big.message
    assert big.path == "spec.template.spec.containers[0].resources.requests.cpu"


def test_hpa_in_another_namespace_does_not_scale_the_workload(policy: Path) -> None:
    text = "---\n".join([deployment("api", replicas=2), hpa("api", 50, namespace="other")])
    assert not findings(text, policy)


def test_tighter_quota_wins_and_is_reported_once(policy: Path) -> None:
    quota = "apiVersion: v1\nkind: ResourceQuota\nmetadata: {name: tight, namespace: ml}\nspec:\n  hard: {cpu: '2'}\n"
    hits = findings(quota + "---\n" + deployment("api", replicas=10), policy)
    assert len([f for f in hits if "cpu" in f.message]) == 1
    assert "over the 2 of ResourceQuota tight" in hits[0].message


def test_without_any_quota_nothing_is_reported() -> None:
    assert not findings(deployment("api", replicas=500), None)


def test_limitrange_max_becomes_the_default_limit_and_request() -> None:
    text = """\
apiVersion: v1
kind: LimitRange
metadata: {name: lr, namespace: team}
spec:
  limits: [{type: Container, max: {memory: 1Gi}}]
---
apiVersion: v1
kind: ResourceQuota
metadata: {name: q, namespace: team}
spec:
  hard: {requests.memory: 3Gi, limits.memory: 3Gi}
---
""" + deployment("api", namespace="team", replicas=4, resources="{}")
    hits = findings(text, None)
    assert {f.message.split(" in namespace")[0] for f in hits} == {"requests.memory", "limits.memory"}
    assert "4Gi" in hits[0].message


def test_sidecars_and_init_containers_as_the_api_server_sums_them() -> None:
    text = """\
apiVersion: v1
kind: Pod
metadata: {name: p, namespace: ns}
spec:
  initContainers:
    - {name: proxy, image: 'p:1', restartPolicy: Always, resources: {requests: {cpu: 200m}}}
    - {name: setup, image: 's:1', resources: {requests: {cpu: '2'}}}
  containers:
    - {name: a, image: 'a:1', resources: {requests: {cpu: 500m}, limits: {cpu: '1'}}}
  overhead: {cpu: 100m}
"""
    fit = fit_of(text)
    pod = fit.pod(fit.inventory.templates[0])
    # max(init step 2 + 200m sidecar, 500m + 200m sidecar) + 100m overhead
    assert pod.requests["cpu"] == Fraction(23, 10)
    # limits: only the app container has one; the overhead is added to it
    assert pod.limits["cpu"] == Fraction(11, 10)


def test_scoped_quotas_count_only_matching_pods() -> None:
    text = """\
apiVersion: v1
kind: ResourceQuota
metadata: {name: batch-only, namespace: ns}
spec:
  hard: {pods: "2"}
  scopes: [Terminating]
---
apiVersion: v1
kind: ResourceQuota
metadata: {name: high, namespace: ns}
spec:
  hard: {pods: "1"}
  scopeSelector:
    matchExpressions: [{scopeName: PriorityClass, operator: In, values: [high]}]
---
""" + deployment("svc", namespace="ns", replicas=5) + "---\n" + deployment(
        "urgent", namespace="ns", replicas=2, extra="      priorityClassName: high"
    )
    hits = findings(text, None)
    assert [(f.object["name"], "ResourceQuota high" in f.message) for f in hits] == [("urgent", True)]


def test_daemonset_pods_are_one_per_node_of_the_pools_it_runs_on(policy: Path) -> None:
    daemon = """\
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, namespace: ml}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      containers: [{name: a, image: 'a:1', resources: {requests: {cpu: '2'}}}]
"""
    fit = fit_of(daemon, policy)
    assert fit.peak_replicas(fit.inventory.templates[0]) == 4  # the gpu pool's taint is not tolerated
    assert not findings(daemon, policy)  # 4 x 2 = 8: the whole quota
    assert findings(daemon.replace("    spec:\n      containers", "    spec:\n      tolerations: [{operator: Exists}]\n      containers"), policy)


def test_object_counts_include_what_controllers_keep() -> None:
    text = """\
apiVersion: v1
kind: ResourceQuota
metadata: {name: objects, namespace: ns}
spec:
  hard: {count/jobs.batch: "4", count/replicasets.apps: "20", services.loadbalancers: "0", services.nodeports: "1"}
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly, namespace: ns}
spec:
  schedule: "0 1 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          containers: [{name: c, image: 'c:1'}]
---
apiVersion: v1
kind: Service
metadata: {name: edge, namespace: ns}
spec:
  type: LoadBalancer
  ports: [{port: 80}, {port: 443}]
---
""" + deployment("a", namespace="ns") + "---\n" + deployment("b", namespace="ns")
    hits = findings(text, None)
    by_resource = {f.message.split(" in namespace")[0]: f for f in hits}
    # 3 successful + 1 failed kept + 2 running (concurrencyPolicy Allow) = 6 jobs
    assert "reaches 6 at peak" in by_resource["count/jobs.batch"].message
    assert "count/replicasets.apps" in by_resource  # 2 x (10 old + 1 current)
    assert by_resource["services.loadbalancers"].object["name"] == "edge"
    assert "reaches 2 at peak" in by_resource["services.nodeports"].message


def test_custom_resource_counts_use_the_crd_plural() -> None:
    text = """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: octopi.example.com}
spec:
  group: example.com
  names: {kind: Octopus, plural: octopi}
  scope: Namespaced
---
apiVersion: v1
kind: ResourceQuota
metadata: {name: q, namespace: ns}
spec:
  hard: {count/octopi.example.com: "1"}
---
apiVersion: example.com/v1
kind: Octopus
metadata: {name: one, namespace: ns}
---
apiVersion: example.com/v1
kind: Octopus
metadata: {name: two, namespace: ns}
"""
    assert len(findings(text, None)) == 2


def test_requests_required_names_container_and_quota() -> None:
    text = """\
apiVersion: v1
kind: ResourceQuota
metadata: {name: compute, namespace: ns}
spec:
  hard: {limits.cpu: "4"}
---
""" + deployment("api", namespace="ns", resources="{requests: {cpu: 100m}}")
    hits = findings(text, None, "quota-requests-required")
    assert len(hits) == 1
    assert "container 'app' sets no cpu limit, but ResourceQuota compute constrains limits.cpu" in hits[0].message
    assert hits[0].path == "spec.template.spec.containers[0].resources"


def test_requests_required_ignores_quotas_whose_scope_excludes_the_pod() -> None:
    text = """\
apiVersion: v1
kind: ResourceQuota
metadata: {name: best-effort-cpu, namespace: ns}
spec:
  hard: {cpu: "4"}
  scopes: [Terminating]
---
""" + deployment("api", namespace="ns", resources="{}")
    assert not findings(text, None, "quota-requests-required")


@pytest.mark.parametrize(
    "name,key",
    [("cpu", "requests.cpu"), ("memory", "requests.memory"), ("hugepages-2Mi", "requests.hugepages-2Mi"),
     ("count/pods", "pods"), ("count/services", "services"), ("count/deployments.apps", "count/deployments.apps"),
     ("limits.cpu", "limits.cpu"), ("nvidia.com/gpu", "requests.nvidia.com/gpu"),
     ("gold.storageclass.storage.k8s.io/requests.storage", "gold.storageclass.storage.k8s.io/requests.storage")],
)  # fmt: skip
def test_quota_key(name: str, key: str) -> None:
    assert quota_key(name) == key


@pytest.mark.parametrize(
    "kind,plural",
    [("Deployment", "deployments"), ("Ingress", "ingresses"), ("NetworkPolicy", "networkpolicies"), ("Endpoints", "endpoints"), ("Gateway", "gateways")],
)
def test_plural_of(kind: str, plural: str) -> None:
    assert plural_of(kind) == plural


# --- odd shapes -------------------------------------------------------------------------------------

FIT_POLICY = ClusterPolicy(spec=deep_merge(ClusterPolicy.default().spec, {
    "nodePools": [
        {"name": "a", "count": 2, "labels": {"pool": "a"}, "allocatable": {"cpu": "4", "memory": "8Gi", "pods": "10"}},
        {"name": "g", "taints": [{"key": "nvidia.com/gpu"}], "allocatable": {"nvidia.com/gpu": "8"}},
    ],
    "namespaces": {"ns": {"quota": {"cpu": "1", "limits.memory": "1Gi", "pods": "2", "count/deployments.apps": "1"}}},
}))  # fmt: skip
QUOTA_FIELDS = st.dictionaries(st.sampled_from(["hard", "scopes", "scopeSelector", "limits", "type", "default", "defaultRequest", "max", "min"]), junk, max_size=4)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(KINDS), junk, st.lists(junk, max_size=3), junk, QUOTA_FIELDS)
def test_cluster_fit_never_crashes_on_odd_shapes(kind: str, spec: object, containers: object, pod_extra: object, quota: dict) -> None:
    documents = [
        _document(kind, spec, containers, pod_extra),
        {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "q", "namespace": "ns"}, "spec": quota},
        {"apiVersion": "v1", "kind": "LimitRange", "metadata": {"name": "l", "namespace": "ns"}, "spec": {"limits": [quota]}},
    ]
    loaded = parse_source(SourceFile("fuzz.yaml", yaml.safe_dump_all(documents)))
    for finding in lint(loaded, FIT_POLICY).findings:
        assert finding.line >= 1
    capacity_report(cluster_fit(Inventory(loaded.objects), FIT_POLICY))
