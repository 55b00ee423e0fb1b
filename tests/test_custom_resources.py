"""Pods inside AI workload custom resources are linted like any Deployment's.

fixtures/crds/<kind>/fail.yaml holds one privileged container at the deepest place the view
must reach (a KServe shorthand model, an Argo script, a Ray worker group...); pass.yaml is the
same object without it. The corpus test checks the view against a naive scan of the raw data.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import pytest

from kgen.loader import JsonPath, load_paths, load_text
from kgen.workloads import BOTH_PROBES, BUILTIN_GROUPS, PodTemplate, pod_templates
from tests.conftest import CORPUS, FIXTURES, lint_files, needs_shared

CRDS = FIXTURES / "crds"
RULE = "security-privileged"

# fixture folder -> where the finding must point (path, line)
EXPECTED = {
    "clusterservingruntime": ("spec.containers[0].securityContext.privileged", 12),
    "clustertrainingruntime": ("spec.template.spec.replicatedJobs[0].template.spec.template.spec.containers[0].securityContext.privileged", 25),
    "clusterworkflowtemplate": ("spec.templates[0].containerSet.containers[1].securityContext.privileged", 18),
    "cronworkflow": ("spec.workflowSpec.templates[0].container.securityContext.privileged", 18),
    "inferenceservice": ("spec.predictor.model.securityContext.privileged", 19),
    "inferenceservice-framework": ("spec.predictor.pytorch.securityContext.privileged", 15),
    "jaxjob": ("spec.jaxReplicaSpecs.Worker.template.spec.containers[0].securityContext.privileged", 26),
    "jobset": ("spec.replicatedJobs[1].template.spec.template.spec.containers[0].securityContext.privileged", 33),
    "knative-service": ("spec.template.spec.containers[0].securityContext.privileged", 18),
    "leaderworkerset": ("spec.leaderWorkerTemplate.workerTemplate.spec.containers[0].securityContext.privileged", 27),
    "llminferenceservice": ("spec.worker.containers[0].securityContext.privileged", 23),
    "mpijob": ("spec.mpiReplicaSpecs.Worker.template.spec.containers[0].securityContext.privileged", 26),
    "notebook": ("spec.template.spec.containers[0].securityContext.privileged", 16),
    "paddlejob": ("spec.paddleReplicaSpecs.Worker.template.spec.containers[0].securityContext.privileged", 26),
    "pytorchjob": ("spec.pytorchReplicaSpecs.Worker.template.spec.containers[0].securityContext.privileged", 26),
    "raycluster": ("spec.workerGroupSpecs[1].template.spec.containers[0].securityContext.privileged", 34),
    "rayjob": ("spec.submitterPodTemplate.spec.containers[0].securityContext.privileged", 32),
    "rayservice": ("spec.rayClusterConfig.headGroupSpec.template.spec.containers[0].securityContext.privileged", 17),
    "scaledjob": ("spec.jobTargetRef.template.spec.containers[0].securityContext.privileged", 20),
    "tfjob": ("spec.tfReplicaSpecs.Worker.template.spec.containers[0].securityContext.privileged", 26),
    "trainingruntime": ("spec.template.spec.replicatedJobs[0].template.spec.template.spec.containers[0].securityContext.privileged", 25),
    "volcano-job": ("spec.tasks[1].template.spec.containers[0].securityContext.privileged", 28),
    "workflow": ("spec.templates[1].script.securityContext.privileged", 23),
    "workflowtemplate": ("spec.templates[0].containerSet.containers[1].securityContext.privileged", 18),
    "xgboostjob": ("spec.xgbReplicaSpecs.Worker.template.spec.containers[0].securityContext.privileged", 26),
}


def test_every_fixture_folder_is_expected() -> None:
    assert sorted(d.name for d in CRDS.iterdir()) == sorted(EXPECTED)


@pytest.mark.parametrize("kind", sorted(EXPECTED))
def test_fail_fixture_points_inside_the_custom_resource(kind: str) -> None:
    path, line = EXPECTED[kind]
    hits = [f for f in lint_files(CRDS / kind / "fail.yaml").findings if f.rule == RULE]
    assert [(f.path, f.line) for f in hits] == [(path, line)]
    assert "privileged: true" in (CRDS / kind / "fail.yaml").read_text().splitlines()[line - 1]


@pytest.mark.parametrize("kind", sorted(EXPECTED))
def test_pass_fixture_is_clean(kind: str) -> None:
    assert not [f for f in lint_files(CRDS / kind / "pass.yaml").findings if f.rule == RULE]


def _templates(kind: str) -> list[PodTemplate]:
    (obj,) = load_paths([str(CRDS / kind / "pass.yaml")]).objects
    return pod_templates(obj)


# fixture -> (role, batch, pods as written, most pods autoscaling can reach) per template
COUNTS = {
    "inferenceservice": [("predictor", False, 1, 4), ("transformer", False, 1, 1)],
    "knative-service": [(None, False, 1, 5)],
    "raycluster": [("head", False, 1, 1), ("cpu-group", False, 2, 2), ("gpu-group", False, 1, 4)],
    "rayjob": [("head", False, 1, 1), ("gpu", False, 1, 1), ("submitter", True, 1, 1)],
    "pytorchjob": [("Master", True, 1, 1), ("Worker", True, 4, 4)],
    "jobset": [("driver", True, 1, 1), ("workers", True, 8, 8)],
    "leaderworkerset": [("leader", False, 2, 2), ("worker", False, 6, 6)],
    "llminferenceservice": [("decode", False, 2, 2), ("decode-worker", False, 2, 2)],
    "scaledjob": [(None, True, 0, 20)],
    "volcano-job": [("ps", True, 1, 1), ("worker", True, 2, 2)],
    "workflow": [("train", True, 1, 1)],  # the steps template runs no pod
    "workflowtemplate": [("prepare", True, 0, 0)],  # instantiated by Workflows, runs nothing itself
    "clustertrainingruntime": [("node", True, 0, 0)],
}


@pytest.mark.parametrize("kind", sorted(COUNTS))
def test_roles_and_replica_counts(kind: str) -> None:
    found = [(t.role, t.batch, t.declared_replicas, t.max_replicas) for t in _templates(kind)]
    assert found == COUNTS[kind]


def test_shorthand_containers_get_the_controller_name_and_injected_probes() -> None:
    predictor, transformer = _templates("inferenceservice")
    assert [(c.name, c.long_running, c.probes_injected) for c in predictor.containers] == [("kserve-container", True, BOTH_PROBES)]
    assert [(c.name, c.probes_injected) for c in transformer.containers] == [("tokenizer", ())]
    (step,) = _templates("workflow")
    assert [c.name for c in step.containers] == ["main"]
    assert all(c.probes_injected == BOTH_PROBES for t in _templates("raycluster") for c in t.containers)
    (knative,) = _templates("knative-service")
    assert knative.containers[0].probes_injected == ("readinessProbe",)  # the queue-proxy's TCP probe; no liveness


def test_hpa_maximum_scales_whole_groups() -> None:
    leader, worker = _templates("leaderworkerset")
    assert (leader.pods_for(5), worker.pods_for(5)) == (5, 15)


def test_worker_template_builds_the_leader_when_no_leader_template() -> None:
    text = (CRDS / "leaderworkerset" / "pass.yaml").read_text()
    head, _, rest = text.partition("    leaderTemplate:\n")
    without_leader = head + rest[rest.index("    workerTemplate:") :]
    (obj,) = load_text(without_leader, "lws.yaml").objects
    assert [(t.role, t.declared_replicas) for t in pod_templates(obj)] == [("worker", 8)]


# Documents that mention GPUs under limits/requests but run no pod: the GKE InferenceModel sample
# carries a made-up `spec.resources` (the CRD has modelName, criticality, poolRef, targetModels).
NOT_PODS = {("inference.networking.x-k8s.io", "InferenceModel")}
GPU_PREFIX = "nvidia.com/gpu"


def _naive_gpu_containers(data: Any, path: JsonPath = ()) -> Iterator[JsonPath]:
    """Paths of every map holding a ``resources`` with a GPU under limits or requests."""
    if isinstance(data, dict):
        resources = data.get("resources")
        if isinstance(resources, dict) and any(
            isinstance(amounts, dict) and any(str(name).startswith(GPU_PREFIX) for name in amounts)
            for amounts in (resources.get("limits"), resources.get("requests"))
        ):
            yield path
        for key, value in data.items():
            yield from _naive_gpu_containers(value, (*path, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from _naive_gpu_containers(value, (*path, index))


def test_corpus_gpu_containers_inside_custom_resources() -> None:
    needs_shared(CORPUS)
    found: set[tuple[str, int, JsonPath]] = set()
    naive: set[tuple[str, int, JsonPath]] = set()
    for obj in load_paths([str(CORPUS)]).objects:
        if obj.group in BUILTIN_GROUPS or (obj.group, obj.kind) in NOT_PODS:
            continue
        key = (obj.source.name, obj.doc_index)
        naive |= {(*key, path) for path in _naive_gpu_containers(obj.data)}
        for template in pod_templates(obj):
            for c in template.containers:
                if any(str(name).startswith(GPU_PREFIX) for name in (*c.requests, *c.limits)):
                    found.add((*key, c.path))
    missed = sorted(naive - found, key=str)
    for miss in missed:
        print("GPU container outside the view:", miss)
    assert not missed
    assert len(found) >= 61
