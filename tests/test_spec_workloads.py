"""The turn-2 spec additions: what each one generates, and each bad input with its located error.

Golden output, the Kustomize equivalence and the lint-clean check cover the fixture specs
(the `kgen init --example` specs in kgen/generator/examples/); this module pins the
decisions a reviewer would look for, and the validation of every addition.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings, strategies as st

from kgen.generator.build import render_environments
from kgen.generator.model import JOB_INDEX_FIELD
from kgen.loader import load_text
from kgen.policies.engine import lint
from kgen.policies.policy import load_policy
from kgen.workloads import pod_templates

from .conftest import ROOT, run_kgen
from .test_spec import BASE, errors, objects, write

SPECS = ROOT / "kgen" / "generator" / "examples"


def _render(path: Path, env: str) -> dict[tuple[str, str], dict]:
    text = dict(render_environments(str(path)))[env]
    return {(o["kind"], o["metadata"]["name"]): o for o in yaml.safe_load_all(text) if o}


def pod_spec(obj: dict) -> dict:
    return obj["spec"]["template"]["spec"]


def _one(found: dict, kind: str, prefix: str) -> dict:
    (obj,) = [o for (k, n), o in found.items() if k == kind and n.startswith(prefix)]
    return obj


def env_of(container: dict) -> dict:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container.get("env", [])}


# --- 1. statefulset -----------------------------------------------------------------------------


def test_statefulset_with_headless_service_and_per_replica_claims() -> None:
    found = _render(SPECS / "statefulset.yaml", "prod")
    sts = found[("StatefulSet", "cache-redis")]
    assert sts["spec"]["serviceName"] == "cache-redis-headless" and sts["spec"]["podManagementPolicy"] == "Parallel"
    assert sts["spec"]["replicas"] == 3
    (claim,) = sts["spec"]["volumeClaimTemplates"]
    assert claim["metadata"]["name"] == "data"
    assert claim["spec"] == {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "10Gi"}}, "storageClassName": "fast-ssd"}
    assert not [k for k in found if k[0] == "PersistentVolumeClaim"]
    assert "volumes" not in pod_spec(sts)  # the claim template is the volume
    headless = found[("Service", "cache-redis-headless")]["spec"]
    assert headless["clusterIP"] == "None" and headless["publishNotReadyAddresses"] is True
    assert found[("Service", "cache-redis")]["metadata"]["annotations"] == {"prometheus.io/scrape": "true"}
    assert sts["metadata"]["annotations"] == {"backup.example.com/schedule": "nightly"}
    assert ("PodDisruptionBudget", "cache-redis") in found
    assert ("PodDisruptionBudget", "cache-redis") not in _render(SPECS / "statefulset.yaml", "dev")


def test_statefulset_autoscaling_and_ingress(tmp_path: Path) -> None:
    text = BASE.replace("    image:", "    kind: statefulset\n    image:") + "    autoscaling: {min: 2, max: 4, cpu: 70}\n    ingress: {host: a.example.com}\n"
    found = objects(tmp_path, text)
    assert found[("HorizontalPodAutoscaler", "shop-api")]["spec"]["scaleTargetRef"]["kind"] == "StatefulSet"
    assert "replicas" not in found[("StatefulSet", "shop-api")]["spec"]
    backend = found[("Ingress", "shop-api")]["spec"]["rules"][0]["http"]["paths"][0]["backend"]
    assert backend == {"service": {"name": "shop-api", "port": {"name": "http"}}}


@pytest.mark.parametrize(("kind", "limit"), [("statefulset", 52), ("training", 44), ("service", 63)])
def test_long_names_leave_room_for_what_controllers_append(tmp_path: Path, kind: str, limit: int) -> None:
    """StatefulSet: <name>-<revision hash> is a label value; gangs: <job>-<index> and <jobset>-node-<i>-<j> are hostnames."""
    text = BASE.replace("name: shop", "name: " + "s" * 40).replace("  api:", "  " + "a" * 30 + ":").replace("    image:", f"    kind: {kind}\n    image:")
    if kind == "training":
        text = text.replace("    ports:\n      http: {port: 8080}\n", "    nodes: 2\n")
    workload = {"statefulset": "StatefulSet", "training": "Job", "service": "Deployment"}[kind]
    (name,) = [name for found_kind, name in objects(tmp_path, text) if found_kind == workload]
    assert len(name) == limit


# --- 2. training --------------------------------------------------------------------------------


def test_training_indexed_job_with_rendezvous_env() -> None:
    found = _render(SPECS / "training.yaml", "prod")
    job = _one(found, "Job", "llm-pretrain-")  # the name ends with a hash of the job's input
    spec = job["spec"]
    assert (spec["completionMode"], spec["completions"], spec["parallelism"]) == ("Indexed", 2, 2)
    assert spec["podFailurePolicy"]["rules"][0]["action"] == "FailJob"
    pod = pod_spec(job)
    assert pod["subdomain"] == "llm-pretrain" and pod["restartPolicy"] == "Never"
    env = env_of(pod["containers"][0])
    assert env["MASTER_ADDR"] == f"{job['metadata']['name']}-0.llm-pretrain" and env["MASTER_PORT"] == "29500"
    assert env["WORLD_SIZE"] == env["NNODES"] == "2" and env["PET_NPROC_PER_NODE"] == "8"
    assert env["NODE_RANK"] == {"fieldRef": {"fieldPath": JOB_INDEX_FIELD}}
    limits = pod["containers"][0]["resources"]["limits"]
    assert limits["nvidia.com/gpu"] == 8 and limits["rdma/ib"] == "1"
    service = found[("Service", "llm-pretrain")]["spec"]
    assert service["clusterIP"] == "None" and service["ports"][0]["port"] == 29500


def test_training_jobset_and_pytorchjob() -> None:
    found = _render(SPECS / "training.yaml", "prod")
    jobset = _one(found, "JobSet", "llm-finetune-")
    assert jobset["apiVersion"] == "jobset.x-k8s.io/v1alpha2"
    (replicated,) = jobset["spec"]["replicatedJobs"]
    assert replicated["template"]["spec"]["parallelism"] == 2
    env = env_of(replicated["template"]["spec"]["template"]["spec"]["containers"][0])
    assert env["MASTER_ADDR"] == f"{jobset['metadata']['name']}-node-0-0.llm-finetune"
    assert ("Service", "llm-finetune") not in found  # JobSet makes its own headless Service
    torch = _one(found, "PyTorchJob", "llm-sweep-")["spec"]
    assert torch["pytorchReplicaSpecs"]["Master"]["replicas"] == 1 and torch["pytorchReplicaSpecs"]["Worker"]["replicas"] == 2
    container = torch["pytorchReplicaSpecs"]["Worker"]["template"]["spec"]["containers"][0]
    assert container["name"] == "pytorch" and "MASTER_ADDR" not in env_of(container)
    assert torch["runPolicy"]["ttlSecondsAfterFinished"] == 86400


CAPACITY_POLICY = """\
apiVersion: kgen.dev/v1alpha1
kind: ClusterPolicy
metadata: {name: gpu-cluster}
spec:
  nodePools:
    - name: h100
      count: 4
      labels: {nvidia.com/gpu.product: NVIDIA-H100-80GB-HBM3}
      allocatable: {cpu: "96", memory: 1Ti, nvidia.com/gpu: "8", rdma/ib: "1", pods: "110"}
  namespaces:
    llm-prod: {quota: {requests.nvidia.com/gpu: "64"}}
    rag-prod: {quota: {requests.nvidia.com/gpu: "8", requests.nvidia.com/mig-1g.10gb: "8"}}
"""


def test_capacity_counts_training_and_serving_pods(tmp_path: Path) -> None:
    """Every pod of a gang counts (2 + 2 + 3 nodes x 8 GPUs); Knative and KServe peak at their maximum scale."""
    policy = tmp_path / "policy.yaml"
    policy.write_text(CAPACITY_POLICY)
    for name in ("training", "serving"):
        (tmp_path / f"{name}.yaml").write_text(dict(render_environments(str(SPECS / f"{name}.yaml")))["prod"])
    result = run_kgen("capacity", str(tmp_path / "training.yaml"), str(tmp_path / "serving.yaml"), "--policy", str(policy), "--format", "json")
    assert result.returncode == 0, result.stderr
    quotas = {(n["namespace"], q["resource"]): q for n in json.loads(result.stdout)["namespaces"] for q in n["quotas"]}
    training = quotas[("llm-prod", "requests.nvidia.com/gpu")]
    assert training["peak"] == "56"
    replicas: dict[str, int] = {}
    for contributor in training["contributors"]:
        replicas[contributor["object"]["kind"]] = replicas.get(contributor["object"]["kind"], 0) + contributor["replicas"]
    assert replicas == {"Job": 2, "JobSet": 2, "PyTorchJob": 3}  # PyTorchJob: Master 1 + Worker 2
    assert quotas[("rag-prod", "requests.nvidia.com/gpu")]["peak"] == "8"  # Knative: max-scale 8 x 1 GPU
    assert quotas[("rag-prod", "requests.nvidia.com/mig-1g.10gb")]["peak"] == "6"  # KServe: maxReplicas 6


# --- 3. serving ---------------------------------------------------------------------------------


def test_knative_scale_to_zero_and_kserve_predictor() -> None:
    found = _render(SPECS / "serving.yaml", "staging")
    ksvc = found[("Service", "rag-chat")]
    assert ksvc["apiVersion"] == "serving.knative.dev/v1"
    annotations = ksvc["spec"]["template"]["metadata"]["annotations"]
    assert annotations == {"autoscaling.knative.dev/min-scale": "0", "autoscaling.knative.dev/max-scale": "1", "autoscaling.knative.dev/target": "8"}
    container = pod_spec(ksvc)["containers"][0]
    assert container["ports"] == [{"name": "http1", "containerPort": 8080, "protocol": "TCP"}]
    assert container["readinessProbe"]["httpGet"]["port"] == 8080  # Knative rejects named probe ports
    assert not [k for k in found if k[0] in ("Deployment", "HorizontalPodAutoscaler")]
    isvc = found[("InferenceService", "rag-embed")]["spec"]["predictor"]
    assert (isvc["minReplicas"], isvc["maxReplicas"], isvc["scaleMetric"], isvc["scaleTarget"]) == (1, 3, "concurrency", 32)
    assert isvc["containers"][0]["name"] == "kserve-container"
    assert isvc["containers"][0]["resources"]["limits"]["nvidia.com/mig-1g.10gb"] == 1
    assert isvc["tolerations"][0]["key"] == "nvidia.com/gpu"


# --- 4. pod additions ---------------------------------------------------------------------------


def test_pod_additions() -> None:
    found = _render(SPECS / "platform.yaml", "prod")
    api = found[("Deployment", "store-api")]
    pod = pod_spec(api)
    migrate, shipper = pod["initContainers"]
    assert "restartPolicy" not in migrate and shipper["restartPolicy"] == "Always"
    assert migrate["image"] == "ghcr.io/acme/store-api:2.4.1"  # the environment's tag for the component's own image
    main = pod["containers"][0]
    assert main["lifecycle"] == {"preStop": {"httpGet": {"path": "/drain", "port": "http"}}}
    mounts = {m["mountPath"]: m for m in main["volumeMounts"]}
    assert mounts["/etc/store/tls/tls.key"] == {"name": "files-secret-store-api-tls", "mountPath": "/etc/store/tls/tls.key", "subPath": "tls.key", "readOnly": True}
    files = [o for k, o in found.items() if k[0] == "ConfigMap" and k[1].startswith("store-api-files-")]
    assert len(files) == 1 and list(files[0]["data"]) == ["prompts.yaml"]
    assert main["readinessProbe"]["timeoutSeconds"] == 2 and pod["dnsConfig"]["options"] == [{"name": "ndots", "value": "2"}]
    assert api["metadata"]["annotations"] == {"deploy.example.com/change-ticket": "CHG-1234", "owner.example.com/contact": "storefront@example.com"}
    assert all(o["metadata"].get("annotations", {}).get("owner.example.com/contact") for k, o in found.items() if k[1] not in ("store-web-pdb", "store-quota"))
    assert found[("ResourceQuota", "store-quota")]["metadata"]["namespace"] == "store-prod"
    assert found[("Deployment", "store-search")]["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]["rdma/ib"] == "1"
    ingress = found[("Ingress", "store-api")]["spec"]
    assert [p["path"] for p in ingress["rules"][0]["http"]["paths"]] == ["/api", "/v2"]
    assert ingress["rules"][0]["host"] == found[("Ingress", "store-web")]["spec"]["rules"][0]["host"] == "store.example.com"
    assert ingress["tls"] == [{"hosts": ["store.example.com"], "secretName": "store-api-tls"}]
    policy = found[("NetworkPolicy", "store-api")]["spec"]
    assert policy["policyTypes"] == ["Ingress", "Egress"]
    assert policy["ingress"][1] == {"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}],
                                    "ports": [{"port": 8080, "protocol": "TCP"}]}
    dns, search, payments, cidr = policy["egress"]
    assert dns["ports"][0] == {"port": 53, "protocol": "UDP"}
    assert search["ports"] == [{"port": 9000, "protocol": "TCP"}]
    assert payments["to"][0]["namespaceSelector"]["matchLabels"] == {"kubernetes.io/metadata.name": "payments"}
    assert cidr["to"][0]["ipBlock"] == {"cidr": "10.20.0.0/16", "except": ["10.20.99.0/24"]}


def test_preStop_sleep_and_exec(tmp_path: Path) -> None:
    sleep = objects(tmp_path, BASE + "    preStop: {sleep: 5}\n")[("Deployment", "shop-api")]
    assert pod_spec(sleep)["containers"][0]["lifecycle"] == {"preStop": {"sleep": {"seconds": 5}}}
    run = objects(tmp_path, BASE + "    preStop: {exec: [nginx, -s, quit]}\n")[("Deployment", "shop-api")]
    assert pod_spec(run)["containers"][0]["lifecycle"] == {"preStop": {"exec": {"command": ["nginx", "-s", "quit"]}}}


# --- bad input: one located error per addition ---------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ("    storage: {data: {mountPath: /d, size: 1Gi, perReplica: true}}\n",
         "kgen.yaml:11: components.api.storage.data.perReplica: only a statefulset has per-replica claims"),
        ("    podManagementPolicy: Parallel\n", "kgen.yaml:11: components.api.podManagementPolicy: only applies to kind statefulset (this is a service)"),
        ("    podManagementPolicy: Sometimes\n", "kgen.yaml:11: components.api.podManagementPolicy: must be one of: 'OrderedReady', 'Parallel'"),
        ("    nodes: 2\n", "kgen.yaml:11: components.api.nodes: only applies to kind training (this is a service)"),
        ("    serving: lambda\n", "kgen.yaml:11: components.api.serving: must be one of: 'deployment', 'knative', 'kserve'"),
        ("    serving: knative\n    autoscaling: {max: 3, cpu: 70}\n",
         "kgen.yaml:12: components.api.autoscaling.cpu: serving: knative scales on concurrency: use autoscaling.target"),
        ("    serving: knative\n    preStop: {sleep: 5}\n", "kgen.yaml:12: components.api.preStop: serving: knative (Knative underneath) rejects it"),
        ("    serving: kserve\n    autoscaling: {min: 0, max: 3}\n",
         "kgen.yaml:12: components.api.autoscaling.min: KServe needs serverless mode for scale to zero"),
        ("    autoscaling: {min: 0, max: 3, cpu: 50}\n", "kgen.yaml:11: components.api.autoscaling.min: must be >= 1"),
        ("    autoscaling: {max: 3, target: 5}\n", "kgen.yaml:11: components.api.autoscaling.target: a concurrency target needs serving: knative or kserve"),
        ("    initContainers: [{name: api, image: busybox:1.36}]\n", "kgen.yaml:11: components.api.initContainers[0].name: container name 'api' is used twice"),
        ("    initContainers: [{image: busybox:1.36}]\n", "kgen.yaml:11: components.api.initContainers[0]: 'name' is required"),
        ("    sidecars: [{name: proxy, image: envoy:1, probes: {readiness: {http: {port: admin}}}}]\n",
         "kgen.yaml:11: components.api.sidecars[0].probes.readiness.http.port: no port named 'admin' in this sidecar"),
        ("    preStop: {sleep: 5, exec: [x]}\n", "kgen.yaml:11: components.api.preStop: needs exactly one of sleep, exec, http"),
        ("    preStop: {http: {port: admin}}\n", "kgen.yaml:11: components.api.preStop.http.port: no port named 'admin'"),
        ("    files: {/etc/app/tls.key: {content: abc}}\n",
         "kgen.yaml:11: components.api.files['/etc/app/tls.key']: looks like a secret file: ConfigMaps are not secret"),
        ("    files: {/etc/app/a.yaml: {secret: s}}\n", "kgen.yaml:11: components.api.files['/etc/app/a.yaml']: a secret reference needs the key to mount"),
        ("    files: {etc/app: {content: x}}\n", "kgen.yaml:11: components.api.files['etc/app']: 'etc/app' is not a valid name: an absolute file path"),
        ("    files: {/a/x.yaml: {content: x}, /b/x.yaml: {content: y}}\n", "kgen.yaml:11: components.api.files['/b/x.yaml']: same file name as '/a/x.yaml'"),
        ("    annotations: {a: 1}\n", "kgen.yaml:11: components.api.annotations.a: must be a string"),
        ("    ingress: {host: a.example.com, path: /, paths: [/x]}\n", "kgen.yaml:11: components.api.ingress.paths: path and paths are exclusive"),
        ("    networkPolicy: {egressTo: [{component: db}]}\n", "kgen.yaml:11: components.api.networkPolicy.egressTo[0].component: no component named 'db'"),
        ("    networkPolicy: {ingressFrom: [{component: web}]}\n", "kgen.yaml:11: components.api.networkPolicy.ingressFrom[0].component: no component named 'web'"),
        ("    networkPolicy: {egressTo: [{namespace: a, cidr: 10.0.0.0/8}]}\n",
         "kgen.yaml:11: components.api.networkPolicy.egressTo[0]: needs exactly one of component, namespace or cidr"),
        ("    storage: {scratch: {mountPath: /s, emptyDir: {sizeLimit: lots}}}\n", "kgen.yaml:11: components.api.storage.scratch.emptyDir.sizeLimit: 'lots' does not match"),
        ("    podOverrides: {hostNetwork: yes-please}\n", "kgen.yaml:11: components.api.podOverrides.hostNetwork:"),
        ("    podOverrides: {hostNetworking: true}\n",
         "kgen.yaml:11: components.api.podOverrides.hostNetworking: unknown field 'hostNetworking' (Kubernetes PodSpec)"),
        ("    containerOverrides: {stdin: true, tty: 1}\n", "kgen.yaml:11: components.api.containerOverrides.tty:"),
        ("    containerOverrides: {name: other}\n", "kgen.yaml:11: components.api.containerOverrides.name: the main container's name is the component's"),
        ("    podFailurePolicy: {rules: []}\n", "kgen.yaml:11: components.api.podFailurePolicy: podFailurePolicy does not apply to a service"),
    ],
)
def test_bad_additions_have_located_errors(tmp_path: Path, extra: str, expected: str) -> None:
    found = errors(tmp_path, BASE + extra)
    assert any(line.startswith(expected) for line in found), found


TRAINING = """\
apiVersion: kgen.dev/v1alpha1
kind: App
metadata:
  name: ml
components:
  train:
    kind: training
    image: ghcr.io/acme/train:1
"""


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ("", "kgen.yaml:6: components.train: a training component needs nodes"),
        ("    nodes: 2\n    parallelism: 2\n", "kgen.yaml:10: components.train.parallelism: parallelism does not apply to a training"),
        ("    nodes: 2\n    operator: kubeflow\n    podFailurePolicy: {rules: []}\n",
         "kgen.yaml:11: components.train.podFailurePolicy: a PyTorchJob has no podFailurePolicy"),
        ("    nodes: 2\n    restartPolicy: OnFailure\n    podFailurePolicy: {rules: []}\n",
         "kgen.yaml:10: components.train.restartPolicy: a podFailurePolicy needs restartPolicy: Never"),
        ("    nodes: 0\n", "kgen.yaml:9: components.train.nodes: must be >= 1"),
        ("    nodes: 2\n    env: {WORLD_SIZE: 16}\n", "kgen.yaml:10: components.train.env.WORLD_SIZE: kgen sets WORLD_SIZE for the gang (operator none): remove it"),
        ("    nodes: 2\n    storage: {ckpt: {mountPath: /c, size: 1Gi}}\n",
         "kgen.yaml:10: components.train.storage.ckpt: a ReadWriteOnce volume attaches to one node: 2 training nodes need ReadWriteMany"),
        ("    nodes: 2\n    operator: slurm\n", "kgen.yaml:10: components.train.operator: must be one of: 'none', 'jobset', 'kubeflow'"),
        ("    nodes: 2\n    storage: {ckpt: {mountPath: /c, size: 1Gi, perReplica: true}}\n",
         "kgen.yaml:10: components.train.storage.ckpt.perReplica: only a statefulset has per-replica claims"),
    ],
)
def test_bad_training_has_located_errors(tmp_path: Path, extra: str, expected: str) -> None:
    found = errors(tmp_path, TRAINING + extra)
    assert any(line.startswith(expected) for line in found), found


def test_knative_routes_one_port(tmp_path: Path) -> None:
    text = BASE.replace("      http: {port: 8080}\n", "      http: {port: 8080}\n      admin: {port: 8081}\n") + "    serving: knative\n"
    assert errors(tmp_path, text) == ["kgen.yaml:8: components.api.ports: serving: knative routes to exactly one port"]


def test_shared_host_same_path_is_an_error(tmp_path: Path) -> None:
    text = BASE + "    ingress: {host: a.example.com, paths: [/api]}\n  web:\n    image: x/web:1\n    ports: {http: {port: 80}}\n    ingress: {host: a.example.com, paths: [/, /api]}\n"
    assert errors(tmp_path, text) == ["kgen.yaml:15: components.web.ingress.paths: host 'a.example.com' path '/api' is already used by component 'api'"]


def test_components_sharing_a_host_agree_on_class_and_tls(tmp_path: Path) -> None:
    text = BASE + "    ingress: {host: a.example.com, paths: [/api], className: nginx, tls: {issuer: le}}\n  web:\n    image: x/web:1\n    ports: {http: {port: 80}}\n"
    assert errors(tmp_path, text + "    ingress: {host: a.example.com, className: nginx, tls: {issuer: le}}\n") == []
    assert errors(tmp_path, text + "    ingress: {host: a.example.com, className: traefik}\n") == [
        "kgen.yaml:15: components.web.ingress: host 'a.example.com' is shared with component 'api': both need the same TLS",
        "kgen.yaml:15: components.web.ingress.className: host 'a.example.com' is shared with component 'api': both need the same ingress class",
    ]


def test_extra_objects_must_not_set_a_namespace(tmp_path: Path) -> None:
    text = BASE + "extraObjects:\n  - {apiVersion: v1, kind: ConfigMap, metadata: {name: x, namespace: other}}\n  - {apiVersion: v1, kind: ConfigMap}\n"
    assert errors(tmp_path, text) == [
        "kgen.yaml:13: extraObjects[1]: 'metadata' is required",
    ]
    text = BASE + "extraObjects:\n  - {apiVersion: v1, kind: ConfigMap, metadata: {name: x, namespace: other}}\n"
    assert errors(tmp_path, text) == ["kgen.yaml:12: extraObjects[0].metadata.namespace: kgen sets the environment's namespace: remove it"]


def test_built_in_extra_objects_are_checked_against_the_kubernetes_schema(tmp_path: Path) -> None:
    text = BASE + "extraObjects:\n  - apiVersion: v1\n    kind: ResourceQuota\n    metadata: {name: q}\n    spec: {hard: {pods: 10}, hardd: {}}\n"
    text += "  - {apiVersion: example.com/v1, kind: Anything, metadata: {name: x}, spec: {free: form}}\n"
    assert errors(tmp_path, text) == ["kgen.yaml:15: extraObjects[0].spec.hardd: unknown field 'hardd' (Kubernetes v1 ResourceQuota)"]


def test_extra_objects_must_not_collide(tmp_path: Path) -> None:
    text = BASE + "extraObjects:\n  - {apiVersion: v1, kind: Service, metadata: {name: shop-api}}\n  - {apiVersion: v1, kind: Secret, metadata: {name: s}}\n"
    text += "environments:\n  prod:\n    extraObjects:\n      - {apiVersion: v1, kind: Secret, metadata: {name: s}}\n"
    assert errors(tmp_path, text) == [
        "kgen.yaml:12: extraObjects[0].metadata.name: Service 'shop-api' is already in the output (kgen generates it)",
        "kgen.yaml:17: environments.prod.extraObjects[0].metadata.name: Secret 's' is already in the output (extraObjects entry at line 13)",
    ]


def test_validate_cli_prints_located_errors_for_additions(tmp_path: Path) -> None:
    spec = tmp_path / "kgen.yaml"
    spec.write_text(BASE + "    podOverrides: {hostNetworking: true}\n")
    result = run_kgen("validate", str(spec))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip() == f"{spec}:11: components.api.podOverrides.hostNetworking: unknown field 'hostNetworking' (Kubernetes PodSpec)"


def test_init_writes_each_example(tmp_path: Path) -> None:
    for path in sorted(SPECS.glob("*.yaml")):
        target = tmp_path / f"{path.stem}.yaml"
        result = run_kgen("init", str(target), "--example", path.stem)
        assert result.returncode == 0, result.stderr
        assert target.read_text() == path.read_text()
    unknown = run_kgen("init", str(tmp_path / "x.yaml"), "--example", "slurm")
    assert unknown.returncode == 2 and "no example 'slurm' (known: platform, serving, statefulset, training)" in unknown.stderr
    assert not (tmp_path / "x.yaml").exists()


@settings(max_examples=30, deadline=None, derandomize=True)
@given(nodes=st.integers(min_value=1, max_value=64), gpus=st.integers(min_value=1, max_value=8), operator=st.sampled_from(["none", "jobset", "kubeflow"]))
def test_lint_sees_every_pod_of_the_gang(nodes: int, gpus: int, operator: str) -> None:
    """What kgen emits for a training gang is what kgen lint (and capacity) counts: nodes pods of gpus GPUs."""
    text = TRAINING + f"    nodes: {nodes}\n    operator: {operator}\n    resources: {{cpu: 1, memory: 1Gi}}\n    gpu: {{count: {gpus}}}\n"
    with tempfile.TemporaryDirectory() as tmp:
        rendered = dict(render_environments(write(Path(tmp), text)))["default"]
    loaded = load_text(rendered)
    templates = [t for obj in loaded.objects for t in pod_templates(obj)]
    assert sum(t.declared_replicas for t in templates) == nodes
    gpu_requests = {c.requests.get("nvidia.com/gpu") for t in templates for c in t.containers}
    assert gpu_requests == {gpus}


@st.composite
def component_specs(draw: st.DrawFn) -> str:
    """A valid component using a random mix of the additions, as spec YAML lines (indented under its name)."""
    kind = draw(st.sampled_from(["service", "worker", "statefulset", "training", "job"]))
    serving = draw(st.sampled_from(["deployment", "knative", "kserve"])) if kind == "service" else "deployment"
    lines = [f"kind: {kind}", "image: ghcr.io/acme/app:1.0.0", "resources: {cpu: 500m, memory: 1Gi}"]
    if kind in ("service", "statefulset"):
        lines += ["ports: {http: {port: 8080}}", "probes: {readiness: {http: {path: /ready}}, liveness: {tcp: {}, periodSeconds: 20}}"]
    if serving != "deployment":
        lines += [f"serving: {serving}", f"autoscaling: {{min: {draw(st.integers(0 if serving == 'knative' else 1, 2))}, max: 4, target: 10}}"]
    elif kind in ("service", "worker", "statefulset"):
        lines.append(f"replicas: {draw(st.integers(1, 3))}")
    if kind == "training":
        lines += [f"nodes: {draw(st.integers(1, 4))}", f"operator: {draw(st.sampled_from(['none', 'jobset', 'kubeflow']))}"]
    if kind == "statefulset" and draw(st.booleans()):
        lines.append("storage: {data: {mountPath: /data, size: 1Gi, perReplica: true}}")
    if draw(st.booleans()):
        lines.append(f"gpu: {{count: {draw(st.integers(1, 8))}}}")
    if draw(st.booleans()):
        lines.append("initContainers: [{name: init, image: busybox:1.36, command: [sh, -c, 'true']}]")
    if draw(st.booleans()) and kind not in ("job", "training"):
        lines.append("sidecars: [{name: proxy, image: envoy:1.31, ports: {admin: {port: 9901}}, "
                     "probes: {readiness: {http: {path: /ready}}, liveness: {tcp: {}, periodSeconds: 20}}}]")
    if draw(st.booleans()) and serving == "deployment":
        lines.append(draw(st.sampled_from(["preStop: {sleep: 5}", "preStop: {exec: [sh, -c, 'sleep 5']}"])))
    if draw(st.booleans()):
        lines.append("files: {/etc/app/app.yaml: {content: 'a: 1'}, /etc/app/ca.crt: {secret: app-ca, key: ca.crt}}")
    if draw(st.booleans()):
        lines += ["annotations: {example.com/owner: team}", "networkPolicy: {egressTo: [{namespace: db, ports: [5432]}]}"]
    if draw(st.booleans()):
        lines.append("containerOverrides: {terminationMessagePolicy: FallbackToLogsOnError}")
    return "".join(f"    {line}\n" for line in lines)


@settings(max_examples=25, deadline=None, derandomize=True)
@given(component=component_specs())
def test_any_mix_of_additions_is_lint_clean(component: str) -> None:
    """Whatever additions a component combines, kgen's output has no lint error and valid built-in objects."""
    text = "apiVersion: kgen.dev/v1alpha1\nkind: App\nmetadata: {name: mix, annotations: {example.com/repo: mix}}\ncomponents:\n  app:\n" + component
    with tempfile.TemporaryDirectory() as tmp:
        rendered = dict(render_environments(write(Path(tmp), text)))["default"]
    report = lint(load_text(rendered, "mix.yaml"), load_policy(None))
    errors_found = [f"{f.rule} {f.object}: {f.message}" for f in report.findings if f.severity == "error"]
    assert not errors_found, errors_found
