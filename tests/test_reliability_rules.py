"""Cross-object rules: namespaces, controller labels, selectors, percentages and autoscaler maxima."""

from __future__ import annotations

import pytest

from kgen.findings import Finding
from kgen.loader import load_text
from kgen.policies.engine import lint
from kgen.policies.inventory import Inventory
from kgen.policies.policy import ClusterPolicy
from kgen.policies.selectors import selector_matches
from tests.conftest import lint_yaml


def _hits(text: str, rule: str) -> list[Finding]:
    return [f for f in lint_yaml(text).findings if f.rule == rule]


def _workload(kind: str = "Deployment", name: str = "api", namespace: str = "shop", labels: str = "{app: api}", replicas: str = "") -> str:
    return f"""\
apiVersion: apps/v1
kind: {kind}
metadata: {{name: {name}, namespace: {namespace}}}
spec:
{replicas}  template:
    metadata:
      labels: {labels}
    spec:
      containers:
        - {{name: app, image: ghcr.io/acme/app:1.0.0}}
---
"""


def _hpa(target: str = "api", namespace: str = "shop", kind: str = "Deployment", max_replicas: str = "5") -> str:
    return f"""\
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {{name: hpa, namespace: {namespace}}}
spec:
  scaleTargetRef: {{apiVersion: apps/v1, kind: {kind}, name: {target}}}
  maxReplicas: {max_replicas}
---
"""


def _pdb(budget: str, selector: str = "{matchLabels: {app: api}}", namespace: str = "shop", api: str = "policy/v1") -> str:
    return f"""\
apiVersion: {api}
kind: PodDisruptionBudget
metadata: {{name: pdb, namespace: {namespace}}}
spec:
  {budget}
  selector: {selector}
---
"""


def _service(selector: str, namespace: str = "shop", extra: str = "") -> str:
    return f"apiVersion: v1\nkind: Service\nmetadata: {{name: svc, namespace: {namespace}}}\nspec:\n  selector: {selector}\n{extra}---\n"


# hpa-target-missing


def test_hpa_in_another_namespace_misses_its_target() -> None:
    [hit] = _hits(_workload() + _hpa(namespace="other"), "hpa-target-missing")
    assert hit.object["name"] == "hpa" and "namespace 'shop'" in hit.message
    assert not _hits(_workload() + _hpa(), "hpa-target-missing")


def test_hpa_target_kind_must_match() -> None:
    assert _hits(_workload(kind="StatefulSet") + _hpa(), "hpa-target-missing")
    assert not _hits(_workload(kind="StatefulSet") + _hpa(kind="StatefulSet"), "hpa-target-missing")


def test_scaled_object_kind_defaults_to_deployment() -> None:
    scaled = "apiVersion: keda.sh/v1alpha1\nkind: ScaledObject\nmetadata: {name: so, namespace: shop}\nspec:\n  scaleTargetRef: {name: api}\n"
    assert not _hits(_workload() + scaled, "hpa-target-missing")
    assert _hits(_workload(name="other") + scaled, "hpa-target-missing")


def test_hpa_alone_is_not_judged() -> None:
    """An autoscaler linted without any workload (one changed file in pre-commit) says nothing."""
    assert not _hits(_hpa(), "hpa-target-missing")


@pytest.mark.parametrize("spec", ["spec: ~", "spec: {scaleTargetRef: ~}", "spec: {scaleTargetRef: {kind: [x], name: 3}}", "spec: []"])
def test_malformed_autoscalers_do_not_crash(spec: str) -> None:
    text = _workload() + f"apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {{name: h}}\n{spec}\n"
    assert not _hits(text, "hpa-target-missing")


def test_objects_of_different_environments_do_not_see_each_other() -> None:
    loaded = load_text(_workload() + _hpa())
    loaded.objects[0].labels["environment"] = "prod"
    loaded.objects[1].labels["environment"] = "dev"
    report = lint(loaded, ClusterPolicy.default())
    assert [f.environment for f in report.findings if f.rule == "hpa-target-missing"] == ["dev"]


# Inventory.max_replicas


def _max_replicas(text: str) -> list[int | None]:
    inventory = Inventory(load_text(text).objects)
    return [inventory.max_replicas(t) for t in inventory.templates]


def test_max_replicas_sources() -> None:
    assert _max_replicas(_workload(replicas="  replicas: 3\n")) == [3]
    assert _max_replicas(_workload()) == [1]
    assert _max_replicas(_workload(replicas="  replicas: 3\n") + _hpa(max_replicas="7")) == [7]
    assert _max_replicas(_workload(replicas="  replicas: 3\n") + _hpa(max_replicas="lots")) == [3]
    assert _max_replicas(_workload(kind="DaemonSet")) == [None]
    keda = "apiVersion: keda.sh/v1alpha1\nkind: ScaledObject\nmetadata: {name: so, namespace: shop}\nspec: {scaleTargetRef: {name: api}}\n"
    assert _max_replicas(_workload() + keda) == [100]


# service-selector-no-match


def test_service_needs_a_template_in_its_namespace() -> None:
    assert not _hits(_service("{app: api}") + _workload(), "service-selector-no-match")
    [hit] = _hits(_service("{app: api}", namespace="other") + _workload(), "service-selector-no-match")
    assert "Deployment 'api' in namespace 'shop' does" in hit.message


def test_service_selector_must_be_a_subset_of_the_labels() -> None:
    assert _hits(_service("{app: api, tier: web}") + _workload(), "service-selector-no-match")
    assert not _hits(_service("{tier: web}") + _workload(labels="{app: api, tier: web}"), "service-selector-no-match")


def test_service_label_values_are_compared_as_strings() -> None:
    assert not _hits(_service("{version: 2, canary: true}") + _workload(labels="{version: '2', canary: 'true'}"), "service-selector-no-match")


@pytest.mark.parametrize("selector", ["~", "{}", "[app]"])
def test_services_without_a_selector_are_not_checked(selector: str) -> None:
    assert not _hits(_service(selector) + _workload(), "service-selector-no-match")


def test_external_name_service_is_not_checked() -> None:
    assert not _hits(_service("{app: nothing}", extra="  type: ExternalName\n") + _workload(), "service-selector-no-match")


def test_controller_added_labels_count() -> None:
    job = "apiVersion: batch/v1\nkind: Job\nmetadata: {name: train, namespace: shop}\nspec:\n  template:\n    spec:\n      containers: [{name: t, image: t:1}]\n---\n"
    assert not _hits(_service("{job-name: train}") + job, "service-selector-no-match")
    assert _hits(_service("{job-name: other}") + job, "service-selector-no-match")
    sts = _workload(kind="StatefulSet", name="db", labels="{app: db}")
    assert not _hits(_service("{statefulset.kubernetes.io/pod-name: db-0, app: db}") + sts, "service-selector-no-match")


def test_service_for_an_operator_managed_resource_is_not_reported() -> None:
    cluster = "apiVersion: postgresql.cnpg.io/v1\nkind: Cluster\nmetadata: {name: pg, namespace: shop}\nspec: {instances: 3}\n---\n"
    assert not _hits(_service("{cnpg.io/cluster: pg, role: primary}") + cluster + _workload(), "service-selector-no-match")
    assert _hits(_service("{cnpg.io/cluster: pg, role: primary}", namespace="other") + cluster + _workload(), "service-selector-no-match")


def test_service_alone_is_not_judged() -> None:
    assert not _hits(_service("{app: api}"), "service-selector-no-match")


# pdb-blocks-eviction


@pytest.mark.parametrize("budget", ["maxUnavailable: 0", "maxUnavailable: 0%", "minAvailable: 100%", "minAvailable: 150%"])
def test_budgets_that_never_allow_an_eviction(budget: str) -> None:
    [hit] = _hits(_pdb(budget, selector="~"), "pdb-blocks-eviction")
    assert hit.object["kind"] == "PodDisruptionBudget" and hit.path == f"spec.{budget.split(':')[0]}"


@pytest.mark.parametrize(
    "replicas, budget, blocks",
    [
        ("", "minAvailable: 1", True),  # default 1 replica
        ("  replicas: 3\n", "minAvailable: 2", False),
        ("  replicas: 3\n", "minAvailable: 3", True),
        ("", "minAvailable: 50%", True),  # ceil(0.5 x 1) = 1
        ("  replicas: 3\n", "minAvailable: 50%", False),  # ceil(1.5) = 2 < 3
        ("  replicas: 3\n", "minAvailable: 67%", True),  # ceil(2.01) = 3
        ("", "maxUnavailable: 10%", False),  # rounds up to 1
        ("  replicas: 0\n", "minAvailable: 1", False),  # no pods, nothing to evict
    ],
)
def test_budget_against_replicas(replicas: str, budget: str, blocks: bool) -> None:
    assert bool(_hits(_workload(replicas=replicas) + _pdb(budget), "pdb-blocks-eviction")) is blocks


def test_hpa_maximum_and_several_workloads_raise_the_pod_count() -> None:
    assert not _hits(_workload(replicas="  replicas: 2\n") + _hpa(max_replicas="4") + _pdb("minAvailable: 3"), "pdb-blocks-eviction")
    assert _hits(_workload(replicas="  replicas: 2\n") + _hpa(max_replicas="3") + _pdb("minAvailable: 3"), "pdb-blocks-eviction")
    two = _workload(name="a") + _workload(name="b")
    assert not _hits(two + _pdb("minAvailable: 1"), "pdb-blocks-eviction")


def test_hpa_in_another_namespace_does_not_raise_the_count() -> None:
    text = _workload(replicas="  replicas: 2\n") + _hpa(namespace="other", max_replicas="10") + _pdb("minAvailable: 2")
    assert _hits(text, "pdb-blocks-eviction")


@pytest.mark.parametrize(
    "selector, selected",
    [
        ("{matchExpressions: [{key: app, operator: In, values: [api, web]}]}", True),
        ("{matchExpressions: [{key: app, operator: NotIn, values: [api]}]}", False),
        ("{matchExpressions: [{key: app, operator: Exists}]}", True),
        ("{matchExpressions: [{key: app, operator: DoesNotExist}]}", False),
        ("{matchExpressions: [{key: app, operator: Sideways}]}", False),
        ("{matchLabels: {app: api}, matchExpressions: [{key: tier, operator: Exists}]}", False),
        ("{}", True),  # policy/v1: an empty selector selects the whole namespace
        ("~", False),
    ],
)
def test_pdb_selectors(selector: str, selected: bool) -> None:
    assert bool(_hits(_workload() + _pdb("minAvailable: 1", selector=selector), "pdb-blocks-eviction")) is selected


def test_empty_selector_selects_nothing_in_policy_v1beta1() -> None:
    assert not _hits(_workload() + _pdb("minAvailable: 1", selector="{}", api="policy/v1beta1"), "pdb-blocks-eviction")


def test_pdb_without_workloads_or_with_daemonsets_is_only_checked_for_absolute_values() -> None:
    assert not _hits(_pdb("minAvailable: 5"), "pdb-blocks-eviction")
    assert not _hits(_workload(kind="DaemonSet") + _pdb("minAvailable: 5"), "pdb-blocks-eviction")
    assert not _hits(_workload(namespace="other") + _pdb("minAvailable: 5"), "pdb-blocks-eviction")


@pytest.mark.parametrize("spec", ["spec: ~", "spec: {minAvailable: ~, maxUnavailable: ~}", "spec: {minAvailable: lots, maxUnavailable: -1}", "spec: {minAvailable: true}"])
def test_malformed_pdbs_do_not_crash(spec: str) -> None:
    text = _workload() + f"apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {{name: p, namespace: shop}}\n{spec}\n"
    assert not _hits(text, "pdb-blocks-eviction")


def test_selector_matches_unknown_label_values() -> None:
    """Controller labels with unpredictable values (hashes, generated names) match any value."""
    assert selector_matches({"matchLabels": {"pod-template-hash": "abc"}}, {"pod-template-hash": None})
    assert selector_matches({"matchExpressions": [{"key": "h", "operator": "NotIn", "values": ["x"]}]}, {"h": None})
    assert not selector_matches({"matchLabels": {"a": "1"}}, {})
    assert selector_matches({"matchExpressions": "junk"}, {"a": "1"})
