"""Pods inside AI workload custom resources are linted like any Deployment's.

fixtures/crds/<kind>/fail.yaml holds one privileged container at the deepest place the view
must reach (a KServe shorthand model, an Argo script, a Ray worker group...); pass.yaml is the
same object without it. Folders in OTHER_RULES exercise what a privileged container cannot: pod
settings an Argo step inherits from its workflow, a TrainJob's trainer. The corpus test checks the
view against a naive scan of the raw data.
"""

from __future__ import annotations

from typing import Any, Iterator

import pytest
import yaml
from hypothesis import HealthCheck, given, settings

from kgen.loader import JsonPath, SourceFile, load_paths, load_text, parse_source
from kgen.policies.engine import lint
from kgen.policies.inventory import Inventory
from kgen.policies.policy import ClusterPolicy
from kgen.workloads import BOTH_PROBES, BUILTIN_GROUPS, PodTemplate, pod_templates
from tests.conftest import CORPUS, FIXTURES, RULE_FIXTURES, lint_files, lint_yaml, needs_shared
from tests.test_fuzz import junk

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


# fixture folder -> (rule, where its finding must point, line, what that line writes)
OTHER_RULES = {
    "trainjob": ("gpu-limit-missing", "spec.trainer.resourcesPerNode.requests['nvidia.com/gpu']", 23, "nvidia.com/gpu: 2"),
    "workflow-defaults": ("security-host-path", "spec.volumes[0].hostPath", 16, "hostPath:"),
}


def test_every_fixture_folder_is_expected() -> None:
    assert sorted(d.name for d in CRDS.iterdir()) == sorted([*EXPECTED, *OTHER_RULES])


@pytest.mark.parametrize("kind", sorted(EXPECTED))
def test_fail_fixture_points_inside_the_custom_resource(kind: str) -> None:
    path, line = EXPECTED[kind]
    hits = [f for f in lint_files(CRDS / kind / "fail.yaml").findings if f.rule == RULE]
    assert [(f.path, f.line) for f in hits] == [(path, line)]
    assert "privileged: true" in (CRDS / kind / "fail.yaml").read_text().splitlines()[line - 1]


@pytest.mark.parametrize("kind", sorted(EXPECTED))
def test_pass_fixture_is_clean(kind: str) -> None:
    assert not [f for f in lint_files(CRDS / kind / "pass.yaml").findings if f.rule == RULE]


@pytest.mark.parametrize("kind", sorted(OTHER_RULES))
def test_fail_fixture_points_at_the_written_field(kind: str) -> None:
    rule, path, line, text = OTHER_RULES[kind]
    hits = [f for f in lint_files(CRDS / kind / "fail.yaml").findings if f.rule == rule]
    assert [(f.path, f.line) for f in hits] == [(path, line)]
    assert text in (CRDS / kind / "fail.yaml").read_text().splitlines()[line - 1]


@pytest.mark.parametrize("kind", sorted(OTHER_RULES))
def test_pass_fixture_has_no_finding_of_its_rule(kind: str) -> None:
    rule = OTHER_RULES[kind][0]
    assert not [f for f in lint_files(CRDS / kind / "pass.yaml").findings if f.rule == rule]


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
    "trainjob": [("trainer", True, 4, 4)],  # numNodes
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


# --- Argo: workflow-level pod settings -----------------------------------------------------------


def _argo(workflow: str, step: str = "") -> str:
    """A Workflow with ``workflow`` lines in its spec and ``step`` lines in its one step template."""
    return f"""\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {{name: w, namespace: ml}}
spec:
  entrypoint: run
{workflow}  templates:
    - name: run
{step}      container:
        image: ghcr.io/acme/job:1.0.0
"""


def _hits(text: str, rule: str) -> list[tuple[str, int]]:
    return [(f.path, f.line) for f in lint_yaml(text).findings if f.rule == rule]


def test_workflow_level_settings_reach_every_step() -> None:
    (step,) = _templates("workflow-defaults")
    assert step.security_context == {"runAsNonRoot": True, "runAsUser": 1000}
    assert step.spec["serviceAccountName"] == "log-collector"
    assert step.at("securityContext", "runAsUser") == ("spec", "securityContext", "runAsUser")
    assert step.at("volumes", 0, "emptyDir") == ("spec", "volumes", 0, "emptyDir")
    findings = {f.rule for f in lint_files(CRDS / "workflow-defaults" / "pass.yaml").findings}
    assert not findings & {"security-run-as-root", "serviceaccount-token-automount", "security-host-path"}


def test_workflow_level_values_are_reported_where_written() -> None:
    text = _argo("  hostNetwork: true\n  securityContext: {runAsUser: 0}\n  automountServiceAccountToken: true\n")
    assert _hits(text, "security-host-namespaces") == [("spec.hostNetwork", 6)]
    assert _hits(text, "security-run-as-root") == [("spec.securityContext.runAsUser", 7)]
    assert _hits(text, "serviceaccount-token-automount") == [("spec.automountServiceAccountToken", 8)]


def test_template_settings_override_the_workflow_level_ones() -> None:
    text = _argo("  securityContext: {runAsNonRoot: true}\n", "      securityContext: {runAsUser: 0}\n")
    assert _hits(text, "security-run-as-root") == [("spec.templates[0].securityContext.runAsUser", 9)]
    tolerates_gpus = "  tolerations: [{key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}]\n"
    other = "      tolerations: [{key: dedicated, operator: Exists}]\n"
    for step, expected in (("", []), (other, [("spec.templates[0].tolerations", 9)])):
        text = _argo(tolerates_gpus, step).replace("1.0.0", "1.0.0\n        resources: {limits: {nvidia.com/gpu: 1}}")
        assert _hits(text, "gpu-toleration-missing") == expected


def test_a_template_volume_shadows_the_workflow_volume_of_its_name() -> None:
    workflow = "  volumes: [{name: data, hostPath: {path: /data}}, {name: sock, hostPath: {path: /run/x.sock}}]\n"
    step = "      volumes: [{name: data, emptyDir: {}}]\n"
    (template,) = pod_templates(load_text(_argo(workflow, step), "w.yaml").objects[0])
    assert [v["name"] for v in template.spec["volumes"]] == ["data", "sock"]
    assert _hits(_argo(workflow, step), "security-host-path") == [("spec.volumes[1].hostPath", 6)]


def test_cron_workflow_inherits_from_its_workflow_spec() -> None:
    text = (CRDS / "cronworkflow" / "pass.yaml").read_text().replace("  workflowSpec:\n", "  workflowSpec:\n    securityContext: {runAsNonRoot: true}\n", 1)
    assert "securityContext: {runAsNonRoot: true}" in text
    assert not _hits(text, "security-run-as-root")


# --- Kubeflow Trainer v2 TrainJob ----------------------------------------------------------------


def test_trainjob_trainer_is_one_container_with_its_resources() -> None:
    (template,) = _templates("trainjob")
    (node,) = template.containers
    assert (node.name, node.data["image"], node.long_running) == ("node", "ghcr.io/acme/llama-trainer:3.1.0", True)
    assert node.limits == {"cpu": "16", "memory": "128Gi", "nvidia.com/gpu": 2}
    assert node.at("resources", "limits", "nvidia.com/gpu") == ("spec", "trainer", "resourcesPerNode", "limits", "nvidia.com/gpu")
    assert node.at("env", 0) == ("spec", "trainer", "env", 0)


def test_trainjob_findings_are_only_on_what_it_writes() -> None:
    """Security context, probes, token and tolerations are the runtime's: no finding on the TrainJob."""
    assert [f.rule for f in lint_files(CRDS / "trainjob" / "pass.yaml").findings] == ["schema-unknown-kind"]
    text = (CRDS / "trainjob" / "pass.yaml").read_text()
    without_resources = text[: text.index("    resourcesPerNode:")]
    assert [f.rule for f in lint_yaml(without_resources).findings] == ["schema-unknown-kind"]
    assert _hits(text.replace("llama-trainer:3.1.0", "llama-trainer:latest"), "image-tag-unpinned") == [("spec.trainer.image", 12)]
    limit = text.rindex("        memory: 128Gi\n")  # the memory limit: resourcesPerNode replaces the runtime's resources
    no_memory_limit = text[:limit] + text[limit + len("        memory: 128Gi\n") :]
    assert _hits(no_memory_limit, "resources-memory-limit-missing") == [("spec.trainer.resourcesPerNode.limits", 24)]


def test_trainjob_gpus_count_towards_quota_on_every_node() -> None:
    (obj,) = load_paths([str(CRDS / "trainjob" / "pass.yaml")]).objects
    (template,) = Inventory([obj]).templates_of(obj)
    assert Inventory([obj]).max_replicas(template) == 4
    report = lint_files(CRDS / "trainjob" / "pass.yaml", policy=RULE_FIXTURES / "quota-exceeded" / "policy.yaml")
    (gpu,) = [f for f in report.findings if f.rule == "quota-exceeded" and "nvidia.com/gpu" in f.message]
    assert (gpu.path, gpu.line) == ("spec.trainer.resourcesPerNode.requests['nvidia.com/gpu']", 23)
    assert "TrainJob/llama-finetune adds 8 (4 pods x 2)" in gpu.message


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(junk, junk, junk)
def test_odd_trainjobs_and_workflow_settings_never_crash(trainer: object, setting: object, volumes: object) -> None:
    trainjob = {"apiVersion": "trainer.kubeflow.org/v1alpha1", "kind": "TrainJob", "metadata": {"name": "t"}, "spec": {"trainer": trainer}}
    step = {"name": "s", "container": {"image": "x:1", "resources": setting}, "volumes": volumes, "securityContext": setting}
    workflow_spec = {"securityContext": setting, "tolerations": setting, "volumes": volumes, "hostNetwork": setting, "templates": [step]}
    workflow = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "metadata": {"name": "w"}, "spec": workflow_spec}
    text = yaml.safe_dump_all([trainjob, workflow])
    report = lint(parse_source(SourceFile("odd.yaml", text)), ClusterPolicy.default())
    assert all(finding.line >= 1 for finding in report.findings)
