"""Node pool fit across the pod spec and the policy: taints, labels, resources, daemon pods."""

from __future__ import annotations

from pathlib import Path

import pytest

from kgen.policies.fit import NodePool, _match_expression
from tests.conftest import lint_yaml

RULE = "scheduling-no-fitting-pool"


def policy_file(tmp_path: Path, pools: str) -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text(f"apiVersion: kgen.dev/v1alpha1\nkind: ClusterPolicy\nmetadata: {{name: t}}\nspec:\n  nodePools:\n{pools}")
    return path


GENERAL = """\
    - name: general
      count: 3
      labels: {pool: general}
      allocatable: {cpu: "4", memory: 16Gi, pods: "110"}
"""


def pod(spec: str, kind: str = "Pod") -> str:
    if kind == "Pod":
        return f"apiVersion: v1\nkind: Pod\nmetadata: {{name: p, namespace: ns}}\nspec:\n{spec}"
    indented = "".join(f"      {line}\n" for line in spec.splitlines())
    return (
        f"apiVersion: apps/v1\nkind: {kind}\nmetadata: {{name: d, namespace: ns}}\nspec:\n"
        f"  selector: {{matchLabels: {{app: d}}}}\n  template:\n    metadata: {{labels: {{app: d}}}}\n    spec:\n{indented}"
    )


def hits(text: str, policy: Path | None) -> list:
    return [f for f in lint_yaml(text, policy=policy).findings if f.rule == RULE]


CPU8 = "  containers: [{name: a, image: 'a:1', resources: {requests: {cpu: '8'}}}]\n"


def test_silent_without_node_pools() -> None:
    assert not hits(pod(CPU8), None)


def test_reports_the_reason_for_each_pool(tmp_path: Path) -> None:
    policy = policy_file(tmp_path, GENERAL + """\
    - name: big
      labels: {pool: big}
      taints: [{key: dedicated, value: batch, effect: NoExecute}]
      allocatable: {cpu: "64", memory: 256Gi}
""")
    [finding] = hits(pod(CPU8), policy)
    assert "no node pool can run a pod of Pod/p (cpu 8)" in finding.message
    assert "general: needs cpu 8, a node has 4" in finding.message
    assert "big: taint dedicated=batch:NoExecute not tolerated" in finding.message
    tolerated = CPU8 + "  tolerations: [{key: dedicated, operator: Equal, value: batch, effect: NoExecute}]\n"
    assert not hits(pod(tolerated), policy)


def test_prefer_no_schedule_taints_do_not_block(tmp_path: Path) -> None:
    policy = policy_file(tmp_path, """\
    - name: soft
      taints: [{key: spot, effect: PreferNoSchedule}]
      allocatable: {cpu: "16"}
""")
    assert not hits(pod(CPU8), policy)


def test_a_pod_pinned_to_a_node_is_not_scheduled(tmp_path: Path) -> None:
    policy = policy_file(tmp_path, GENERAL)
    assert not hits(pod(CPU8 + "  nodeName: node-1\n"), policy)


def test_undeclared_cpu_or_memory_is_not_checked_but_extended_resources_are(tmp_path: Path) -> None:
    policy = policy_file(tmp_path, """\
    - name: gpu
      allocatable: {nvidia.com/gpu: "4"}
""")
    assert not hits(pod("  containers: [{name: a, image: 'a:1', resources: {requests: {cpu: '512', memory: 4Ti}, limits: {nvidia.com/gpu: '4'}}}]\n"), policy)
    [finding] = hits(pod("  containers: [{name: a, image: 'a:1', resources: {limits: {amd.com/gpu: '1'}}}]\n"), policy)
    assert "needs amd.com/gpu 1, a node has none" in finding.message


def test_cpu_is_rounded_up_to_millicores_as_the_scheduler_does(tmp_path: Path) -> None:
    policy = policy_file(tmp_path, "    - name: tiny\n      allocatable: {cpu: 100m}\n")
    assert hits(pod("  containers: [{name: a, image: 'a:1', resources: {requests: {cpu: '0.1001'}}}]\n"), policy)
    assert not hits(pod("  containers: [{name: a, image: 'a:1', resources: {requests: {cpu: '0.1'}}}]\n"), policy)


def test_pods_allocatable_counts_the_pod(tmp_path: Path) -> None:
    policy = policy_file(tmp_path, "    - name: full\n      allocatable: {cpu: '4', pods: '0'}\n")
    [finding] = hits(pod("  containers: [{name: a, image: 'a:1'}]\n"), policy)
    assert "needs pods 1, a node has 0" in finding.message


def test_daemon_pods_get_the_controller_tolerations(tmp_path: Path) -> None:
    policy = policy_file(tmp_path, """\
    - name: cordoned
      taints: [{key: node.kubernetes.io/unschedulable, effect: NoSchedule}]
      allocatable: {cpu: "4"}
""")
    spec = "containers: [{name: a, image: 'a:1'}]"
    assert hits(pod(spec, kind="Deployment"), policy)
    assert not hits(pod(spec, kind="DaemonSet"), policy)


def test_daemonset_must_fit_every_pool_it_selects(tmp_path: Path) -> None:
    policy = policy_file(tmp_path, GENERAL + """\
    - name: large
      labels: {pool: large}
      allocatable: {cpu: "32", memory: 128Gi}
""")
    spec = "containers: [{name: a, image: 'a:1', resources: {requests: {cpu: '8'}}}]"
    [finding] = hits(pod(spec, kind="DaemonSet"), policy)
    assert "does not fit on every pool it runs on: general: needs cpu 8, a node has 4" in finding.message
    assert "large" not in finding.message.split("runs on:")[1]
    # the same pod as a Deployment fits the large pool
    assert not hits(pod(spec, kind="Deployment"), policy)
    pinned = "nodeSelector: {pool: large}\n" + spec
    assert not hits(pod(pinned, kind="DaemonSet"), policy)


def test_custom_resource_templates_are_checked_per_role(tmp_path: Path) -> None:
    policy = policy_file(tmp_path, GENERAL)
    text = """\
apiVersion: ray.io/v1
kind: RayCluster
metadata: {name: rc, namespace: ns}
spec:
  headGroupSpec:
    template:
      spec:
        containers: [{name: head, image: 'rayproject/ray:2.9.0', resources: {requests: {cpu: '2'}}}]
  workerGroupSpecs:
    - groupName: gpu-workers
      replicas: 2
      template:
        spec:
          containers: [{name: w, image: 'rayproject/ray:2.9.0', resources: {limits: {nvidia.com/gpu: '1'}}}]
"""
    [finding] = hits(text, policy)
    assert "RayCluster/rc (gpu-workers)" in finding.message


@pytest.mark.parametrize(
    "expression,labels,matches",
    [
        ({"key": "zone", "operator": "In", "values": ["a", "b"]}, {"zone": "b"}, True),
        ({"key": "zone", "operator": "In", "values": ["a"]}, {}, False),
        ({"key": "zone", "operator": "NotIn", "values": ["a"]}, {}, True),
        ({"key": "zone", "operator": "NotIn", "values": ["a"]}, {"zone": "a"}, False),
        ({"key": "zone", "operator": "Exists"}, {"zone": ""}, True),
        ({"key": "zone", "operator": "DoesNotExist"}, {"zone": ""}, False),
        ({"key": "gpus", "operator": "Gt", "values": ["4"]}, {"gpus": "8"}, True),
        ({"key": "gpus", "operator": "Gt", "values": ["8"]}, {"gpus": "8"}, False),
        ({"key": "gpus", "operator": "Lt", "values": ["9"]}, {"gpus": "8"}, True),
        ({"key": "gpus", "operator": "Gt", "values": ["4"]}, {"gpus": "many"}, False),
        ({"key": "gpus", "operator": "Gt", "values": ["4"]}, {}, False),
        ({"key": "gpus", "operator": "Between", "values": ["4"]}, {"gpus": "8"}, False),
    ],
)
def test_match_expression(expression: dict, labels: dict, matches: bool) -> None:
    assert _match_expression(expression, labels) is matches


def test_node_pool_supply() -> None:
    from fractions import Fraction

    pool = NodePool("p", 3, {}, (), {"cpu": Fraction(4)})
    assert pool.supply == {"cpu": Fraction(12)}
