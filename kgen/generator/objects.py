"""Component models to Kubernetes objects (plain dicts), one function per kind.

The Helm chart in ``chart/templates`` is the Go-template twin of ``model.py`` and
this module together: one template per kind, a shared pod-template helper, fed the
values. The equivalence tests render both (with the real Helm) and compare objects.
"""
from __future__ import annotations

import copy
import hashlib
from typing import Any, Callable

from kgen.generator.model import JOBSET_REPLICATED_JOB, KSERVE_CONTAINER, KUBEFLOW_CONTAINER
from kgen.generator.spec import CONFIG_VOLUME, FILES_VOLUME
from kgen.generator.text import go_json
from kgen.merge import deep_merge

MANAGED_BY = "kgen"
NAME_LABEL = "app.kubernetes.io/name"
INSTANCE_LABEL = "app.kubernetes.io/instance"
COMPONENT_LABEL = "app.kubernetes.io/component"
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
VERSION_LABEL = "app.kubernetes.io/version"


def build_objects(model: dict) -> list[dict]:
    """Every object of one environment, component by component (sorted), kinds in a fixed order."""
    objects: list[dict] = []
    for name in sorted(model["components"]):
        c = model["components"][name]
        for make in KIND_BUILDERS:
            objects.extend(make(model, name, c))
    return objects + extra_objects(model)


# Kinds Kustomize's namespace transformer leaves alone; every other extra object gets the namespace.
CLUSTER_SCOPED = frozenset({
    "APIService", "ClusterRole", "ClusterRoleBinding", "CSIDriver", "CustomResourceDefinition", "IngressClass",
    "MutatingWebhookConfiguration", "Namespace", "PersistentVolume", "PriorityClass", "RuntimeClass",
    "StorageClass", "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding", "ValidatingWebhookConfiguration",
})  # fmt: skip


def extra_objects(model: dict) -> list[dict]:
    """The spec's raw objects as written, in the environment's namespace (as the overlay puts them)."""
    out = []
    for obj in model.get("extraObjects") or []:
        if model.get("namespace") and obj["kind"] not in CLUSTER_SCOPED:
            obj = {**obj, "metadata": {**obj["metadata"], "namespace": model["namespace"]}}
        out.append(obj)
    return out


def config_map_name(fullname: str, data: dict[str, str]) -> str:
    """``<fullname>-<10 hex>``: new data, new name, so pods roll and old ReplicaSets keep theirs.

    The hash input is Go's ``json.Marshal`` of the data (what the chart's
    ``toJson`` produces), so Helm computes the same name from the same values.
    """
    return f"{fullname}-{hashlib.sha256(go_json(data).encode()).hexdigest()[:10]}"


def selector_labels(model: dict, name: str) -> dict:
    """The stable labels selectors use (never anything that changes between releases)."""
    return {NAME_LABEL: model["app"], INSTANCE_LABEL: model["release"], COMPONENT_LABEL: name}


def pod_labels(model: dict, name: str, c: dict) -> dict:
    return {**(model.get("labels") or {}), **(c.get("labels") or {}), **selector_labels(model, name)}


def object_labels(model: dict, name: str, c: dict) -> dict:
    """Pod labels plus the app version and the manager (never on pods: a label change there rolls them)."""
    version = {VERSION_LABEL: model["version"]} if "version" in model else {}
    return {**pod_labels(model, name, c), **version, MANAGED_BY_LABEL: MANAGED_BY}


def metadata(model: dict, name: str, c: dict, object_name: str, annotations: dict | None = None) -> dict:
    """Name, namespace, labels; the app's annotations on every object, the object's own over them."""
    meta: dict[str, Any] = {"name": object_name}
    if model.get("namespace"):
        meta["namespace"] = model["namespace"]
    meta["labels"] = object_labels(model, name, c)
    merged = {**(model.get("annotations") or {}), **(annotations or {})}
    if merged:
        meta["annotations"] = dict(sorted(merged.items()))
    return meta


def service_account(model: dict, name: str, c: dict) -> list[dict]:
    """One per component, token not mounted: pods that need API access opt in explicitly."""
    account = c["serviceAccount"]
    if not account["create"]:
        return []
    return [{
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": metadata(model, name, c, account["name"], account.get("annotations")),
        "automountServiceAccountToken": False,
    }]


def files_config_map_name(c: dict) -> str:
    return config_map_name(f"{c['fullname']}-{FILES_VOLUME}", c["files"])


def config_map(model: dict, name: str, c: dict) -> list[dict]:
    """The component's config (env or a mounted directory) and the content of its ``files``."""
    out = []
    if "config" in c:
        data = c["config"]["data"]
        out.append({"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata(model, name, c, config_map_name(c["fullname"], data)), "data": data})
    if "files" in c:
        out.append({"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata(model, name, c, files_config_map_name(c)), "data": c["files"]})
    return out


def persistent_volume_claims(model: dict, name: str, c: dict) -> list[dict]:
    out = []
    for claim in c.get("claims") or []:
        spec: dict[str, Any] = {"accessModes": [claim["accessMode"]], "resources": {"requests": {"storage": claim["size"]}}}
        if "storageClass" in claim:
            spec["storageClassName"] = claim["storageClass"]
        out.append({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": metadata(model, name, c, claim["name"]), "spec": spec})
    return out


def main_container_name(name: str, c: dict) -> str:
    """The component's name, except where an operator looks for its own container name."""
    if (c.get("training") or {}).get("operator") == "kubeflow":
        return KUBEFLOW_CONTAINER
    if (c.get("serving") or {}).get("type") == "kserve":
        return KSERVE_CONTAINER
    return name


def container_ports(c: dict) -> list[dict]:
    """Named ports; Knative and KServe accept only the names http1 and h2c (gRPC), so the name says the protocol."""
    if "serving" in c:
        return [{"name": "h2c" if p["name"] in ("h2c", "grpc") else "http1", "containerPort": p["port"], "protocol": p["protocol"]} for p in c["ports"]]
    ports = [{"name": p["name"], "containerPort": p["port"], "protocol": p["protocol"]} for p in c.get("ports") or []]
    training = c.get("training")
    if training and training["port"] not in {p["port"] for p in c.get("ports") or []}:
        port_name = "pytorchjob-port" if training["operator"] == "kubeflow" else "rendezvous"
        ports.append({"name": port_name, "containerPort": training["port"], "protocol": "TCP"})
    return ports


def pod_template(model: dict, name: str, c: dict) -> dict:
    """The model's pod and container, plus ports, the (hash-named) ConfigMaps as env or files, overrides last."""
    container: dict[str, Any] = {"name": main_container_name(name, c), "image": c["container"]["image"]}
    ports = container_ports(c)
    if ports:
        container["ports"] = ports
    container.update(c["container"])
    pod = dict(c["pod"])
    if "files" in c:
        pod["volumes"] = [*pod.get("volumes", []), {"name": FILES_VOLUME, "configMap": {"name": files_config_map_name(c)}}]
    if "config" in c:
        config_name = config_map_name(c["fullname"], c["config"]["data"])
        if "mountPath" in c["config"]:
            container["volumeMounts"] = [*container.get("volumeMounts", []), {"name": CONFIG_VOLUME, "mountPath": c["config"]["mountPath"], "readOnly": True}]
            pod["volumes"] = [*pod.get("volumes", []), {"name": CONFIG_VOLUME, "configMap": {"name": config_name}}]
        else:
            container["envFrom"] = [{"configMapRef": {"name": config_name}}, *container.get("envFrom", [])]
    if "serving" in c:
        container = _numbered_ports(container, c["ports"])
    meta: dict[str, Any] = {"labels": pod_labels(model, name, c)}
    if c.get("podAnnotations"):
        meta["annotations"] = c["podAnnotations"]
    if c.get("containerOverrides"):
        container = deep_merge(container, c["containerOverrides"])
    pod_spec = {**pod, "containers": [container]}
    if c.get("podOverrides"):
        pod_spec = deep_merge(pod_spec, c["podOverrides"])
    return {"metadata": meta, "spec": pod_spec}


def _numbered_ports(container: dict, ports: list[dict]) -> dict:
    """Knative rejects named probe ports (its port names are protocols): refer to the number."""
    numbers = {p["name"]: p["port"] for p in ports}
    out = dict(container)
    for key in ("readinessProbe", "livenessProbe", "startupProbe"):
        probe = out.get(key)
        for handler in ("httpGet", "tcpSocket"):
            if probe and handler in probe and isinstance(probe[handler].get("port"), str):
                out[key] = {**probe, handler: {**probe[handler], "port": numbers[probe[handler]["port"]]}}
    http = ((out.get("lifecycle") or {}).get("preStop") or {}).get("httpGet")
    if http and isinstance(http.get("port"), str):
        out["lifecycle"] = {"preStop": {"httpGet": {**http, "port": numbers[http["port"]]}}}
    return out


def workload_metadata(model: dict, name: str, c: dict) -> dict:
    return metadata(model, name, c, c["fullname"], c.get("annotations"))


def batch_metadata(model: dict, name: str, c: dict) -> dict:
    """A Job's or training job's: its name carries a hash of its input (see ``model.job_name``)."""
    return metadata(model, name, c, c["jobName"], c.get("annotations"))


def deployment(model: dict, name: str, c: dict) -> list[dict]:
    """Services and workers; no ``replicas`` when an HPA or KEDA owns the count (applies would fight it)."""
    if c["kind"] not in ("service", "worker") or "serving" in c:
        return []
    spec: dict[str, Any] = {}
    if "replicas" in c and not c.get("autoscaling") and not c.get("keda"):
        spec["replicas"] = c["replicas"]
    spec["selector"] = {"matchLabels": selector_labels(model, name)}
    if "strategy" in c:
        spec["strategy"] = {"type": c["strategy"]}
    spec["template"] = pod_template(model, name, c)
    return [{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": workload_metadata(model, name, c), "spec": spec}]


def stateful_set(model: dict, name: str, c: dict) -> list[dict]:
    """Stable pod names through the headless Service; per-replica claims as volumeClaimTemplates."""
    if c["kind"] != "statefulset":
        return []
    spec: dict[str, Any] = {"serviceName": c["statefulset"]["serviceName"]}
    if "replicas" in c and not c.get("autoscaling") and not c.get("keda"):
        spec["replicas"] = c["replicas"]
    if "podManagementPolicy" in c["statefulset"]:
        spec["podManagementPolicy"] = c["statefulset"]["podManagementPolicy"]
    spec["selector"] = {"matchLabels": selector_labels(model, name)}
    spec["template"] = pod_template(model, name, c)
    templates = []
    for claim in c.get("claimTemplates") or []:
        claim_spec: dict[str, Any] = {"accessModes": [claim["accessMode"]], "resources": {"requests": {"storage": claim["size"]}}}
        if "storageClass" in claim:
            claim_spec["storageClassName"] = claim["storageClass"]
        templates.append({"metadata": {"name": claim["name"], "labels": selector_labels(model, name)}, "spec": claim_spec})
    if templates:
        spec["volumeClaimTemplates"] = templates
    return [{"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": workload_metadata(model, name, c), "spec": spec}]


def job(model: dict, name: str, c: dict) -> list[dict]:
    if c["kind"] != "job":
        return []
    spec = {**c["job"], "template": pod_template(model, name, c)}
    return [{"apiVersion": "batch/v1", "kind": "Job", "metadata": batch_metadata(model, name, c), "spec": spec}]


def _indexed_job_spec(c: dict, template: dict) -> dict:
    """One pod per node, all at once; the completion index is the node rank."""
    nodes = c["training"]["nodes"]
    return {**c["job"], "completionMode": "Indexed", "completions": nodes, "parallelism": nodes, "template": template}


def training(model: dict, name: str, c: dict) -> list[dict]:
    """operator none: an Indexed Job whose pods resolve as <job>-<index>.<service> through the headless Service."""
    if c["kind"] != "training" or c["training"]["operator"] != "none":
        return []
    template = pod_template(model, name, c)
    template["spec"] = {**template["spec"], "subdomain": c["training"]["service"]}
    return [{"apiVersion": "batch/v1", "kind": "Job", "metadata": batch_metadata(model, name, c), "spec": _indexed_job_spec(c, template)}]


def job_set(model: dict, name: str, c: dict) -> list[dict]:
    """operator jobset: one replicated Job of ``nodes`` pods; JobSet makes the headless Service (named after it)."""
    if c["kind"] != "training" or c["training"]["operator"] != "jobset":
        return []
    job_spec = _indexed_job_spec(c, pod_template(model, name, c))
    replicated = {"name": JOBSET_REPLICATED_JOB, "replicas": 1, "template": {"metadata": {"labels": pod_labels(model, name, c)}, "spec": job_spec}}
    spec = {"network": {"enableDNSHostnames": True, "subdomain": c["fullname"]}, "replicatedJobs": [replicated]}
    return [{"apiVersion": "jobset.x-k8s.io/v1alpha2", "kind": "JobSet", "metadata": batch_metadata(model, name, c), "spec": spec}]


def py_torch_job(model: dict, name: str, c: dict) -> list[dict]:
    """operator kubeflow: a Master and nodes - 1 Workers; the operator sets MASTER_ADDR, RANK and WORLD_SIZE."""
    if c["kind"] != "training" or c["training"]["operator"] != "kubeflow":
        return []
    template = pod_template(model, name, c)
    restart = template["spec"].pop("restartPolicy")
    replica_specs = {"Master": {"replicas": 1, "restartPolicy": restart, "template": template}}
    if c["training"]["nodes"] > 1:
        replica_specs["Worker"] = {"replicas": c["training"]["nodes"] - 1, "restartPolicy": restart, "template": copy.deepcopy(template)}
    run_policy = {k: c["job"][k] for k in ("backoffLimit", "activeDeadlineSeconds", "ttlSecondsAfterFinished") if k in c["job"]}
    spec = {"pytorchReplicaSpecs": replica_specs, "runPolicy": run_policy}
    return [{"apiVersion": "kubeflow.org/v1", "kind": "PyTorchJob", "metadata": batch_metadata(model, name, c), "spec": spec}]


def _scale_annotations(serving: dict) -> dict:
    out = {"autoscaling.knative.dev/min-scale": str(serving["min"])}
    if "max" in serving:
        out["autoscaling.knative.dev/max-scale"] = str(serving["max"])
    if "target" in serving:
        out["autoscaling.knative.dev/target"] = str(serving["target"])
    return out


def knative_service(model: dict, name: str, c: dict) -> list[dict]:
    """serving: knative: Knative routes and scales (min 0 = scale to zero); bounds as revision annotations."""
    if (c.get("serving") or {}).get("type") != "knative":
        return []
    template = pod_template(model, name, c)
    template["metadata"] = {**template["metadata"], "annotations": {**template["metadata"].get("annotations", {}), **_scale_annotations(c["serving"])}}
    return [{"apiVersion": "serving.knative.dev/v1", "kind": "Service", "metadata": workload_metadata(model, name, c), "spec": {"template": template}}]


def inference_service(model: dict, name: str, c: dict) -> list[dict]:
    """serving: kserve: the component's container as a custom predictor (pod fields inline, as KServe writes them)."""
    if (c.get("serving") or {}).get("type") != "kserve":
        return []
    template = pod_template(model, name, c)
    serving = c["serving"]
    predictor: dict[str, Any] = {"minReplicas": serving["min"]}
    if "max" in serving:
        predictor["maxReplicas"] = serving["max"]
    if "target" in serving:
        predictor.update({"scaleMetric": "concurrency", "scaleTarget": serving["target"]})
    predictor.update(template["metadata"])
    predictor.update(template["spec"])
    return [{"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService", "metadata": workload_metadata(model, name, c),
             "spec": {"predictor": predictor}}]


def cron_job(model: dict, name: str, c: dict) -> list[dict]:
    if c["kind"] != "cronjob":
        return []
    job_template = {"metadata": {"labels": pod_labels(model, name, c)}, "spec": {**c["job"], "template": pod_template(model, name, c)}}
    return [{"apiVersion": "batch/v1", "kind": "CronJob", "metadata": workload_metadata(model, name, c),
             "spec": {**c["cron"], "jobTemplate": job_template}}]


def service(model: dict, name: str, c: dict) -> list[dict]:
    if c["kind"] not in ("service", "statefulset") or "serving" in c or not c.get("ports"):
        return []
    ports = [{"name": p["name"], "port": p["port"], "targetPort": p["name"], "protocol": p["protocol"]} for p in c["ports"]]
    return [{"apiVersion": "v1", "kind": "Service", "metadata": metadata(model, name, c, c["fullname"], c.get("serviceAnnotations")),
             "spec": {"type": "ClusterIP", "selector": selector_labels(model, name), "ports": ports}}]


def headless_service(model: dict, name: str, c: dict) -> list[dict]:
    """Stable DNS per pod (StatefulSet pods, training pod 0): ready or not, as peers must find each other to start."""
    if c["kind"] == "statefulset":
        service_name, ports = c["statefulset"]["serviceName"], [
            {"name": p["name"], "port": p["port"], "targetPort": p["name"], "protocol": p["protocol"]} for p in c.get("ports") or []]
    elif c["kind"] == "training" and c["training"]["operator"] == "none":
        service_name, ports = c["training"]["service"], [{"name": p["name"], "port": p["containerPort"], "targetPort": p["name"], "protocol": p["protocol"]}
                                                         for p in container_ports(c)]
    else:
        return []
    spec: dict[str, Any] = {"clusterIP": "None", "publishNotReadyAddresses": True, "selector": selector_labels(model, name)}
    if ports:
        spec["ports"] = ports
    return [{"apiVersion": "v1", "kind": "Service", "metadata": metadata(model, name, c, service_name, c.get("serviceAnnotations")), "spec": spec}]


def ingress(model: dict, name: str, c: dict) -> list[dict]:
    """One Ingress per component; components sharing a host each route their own paths."""
    if "ingress" not in c:
        return []
    ing = c["ingress"]
    backend = {"service": {"name": c["fullname"], "port": {"name": ing["port"]}}}
    paths = [{"path": path, "pathType": ing["pathType"], "backend": backend} for path in ing.get("paths") or [ing["path"]]]
    spec: dict[str, Any] = {}
    if "className" in ing:
        spec["ingressClassName"] = ing["className"]
    spec["rules"] = [{"host": ing["host"], "http": {"paths": paths}}]
    if "tlsSecret" in ing:
        spec["tls"] = [{"hosts": [ing["host"]], "secretName": ing["tlsSecret"]}]
    return [{"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
             "metadata": metadata(model, name, c, c["fullname"], ing.get("annotations")), "spec": spec}]


def horizontal_pod_autoscaler(model: dict, name: str, c: dict) -> list[dict]:
    hpa = c.get("autoscaling")
    if not hpa:
        return []
    metrics = [
        {"type": "Resource", "resource": {"name": metric, "target": {"type": "Utilization", "averageUtilization": hpa[metric]}}}
        for metric in ("cpu", "memory") if metric in hpa
    ]
    return [{"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": metadata(model, name, c, c["fullname"]),
             "spec": {"scaleTargetRef": scale_target(c), "minReplicas": hpa["min"], "maxReplicas": hpa["max"], "metrics": metrics}}]


def scale_target(c: dict) -> dict:
    return {"apiVersion": "apps/v1", "kind": "StatefulSet" if c["kind"] == "statefulset" else "Deployment", "name": c["fullname"]}


def scaled_object(model: dict, name: str, c: dict) -> list[dict]:
    keda = c.get("keda")
    if not keda:
        return []
    spec: dict[str, Any] = {"scaleTargetRef": scale_target(c), "minReplicaCount": keda["min"], "maxReplicaCount": keda["max"]}
    for key in ("pollingInterval", "cooldownPeriod"):
        if key in keda:
            spec[key] = keda[key]
    spec["triggers"] = keda["triggers"]
    return [{"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject", "metadata": metadata(model, name, c, keda["name"]), "spec": spec}]


def min_replicas(c: dict) -> int:
    """The fewest pods the workload runs: what decides whether a PDB makes sense."""
    if c.get("autoscaling"):
        return c["autoscaling"]["min"]
    if c.get("keda"):
        return c["keda"]["min"]
    return c.get("replicas", 0)


def pod_disruption_budget(model: dict, name: str, c: dict) -> list[dict]:
    """Only when two pods always run: a PDB over a single pod blocks every node drain."""
    if c["kind"] not in ("service", "worker", "statefulset") or "serving" in c or min_replicas(c) < 2:
        return []
    return [{"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": metadata(model, name, c, c["fullname"]),
             "spec": {"maxUnavailable": 1, "selector": {"matchLabels": selector_labels(model, name)}}}]


DNS_EGRESS = {
    "to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}}, "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
    "ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}],
}


def _peer(model: dict, peer: dict) -> dict:
    """A spec peer (component, namespace or CIDR) as a NetworkPolicy peer."""
    if "component" in peer:
        return {"podSelector": {"matchLabels": selector_labels(model, peer["component"])}}
    if "namespace" in peer:
        return {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": peer["namespace"]}}}
    return {"ipBlock": {"cidr": peer["cidr"], **({"except": list(peer["except"])} if peer.get("except") else {})}}


def _peer_rule(model: dict, direction: str, peer: dict, default_ports: list[dict]) -> dict:
    """One rule per peer: the ports it lists, else the ports of whoever receives the traffic."""
    if peer.get("ports"):
        ports = [{"port": port, "protocol": "TCP"} for port in peer["ports"]]
    else:
        ports = [{"port": p["port"], "protocol": p["protocol"]} for p in default_ports]
    return {direction: [_peer(model, peer)], **({"ports": ports} if ports else {})}


def network_policy(model: dict, name: str, c: dict) -> list[dict]:
    """Opt-in: ingress only from the listed components, namespaces and peers (none listed: deny all);
    with egressTo, egress only to those destinations, and DNS (without it nothing resolves)."""
    policy = c.get("networkPolicy")
    if policy is None:
        return []
    peers: list[dict] = [{"podSelector": {"matchLabels": selector_labels(model, other)}} for other in policy["allowComponents"]]
    peers += [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": ns}}} for ns in policy["allowNamespaces"]]
    own_ports = c.get("ports") or []
    rules: list[dict] = []
    if peers:
        rule: dict[str, Any] = {"from": peers}
        if own_ports:
            rule["ports"] = [{"port": p["port"], "protocol": p["protocol"]} for p in own_ports]
        rules.append(rule)
    rules += [_peer_rule(model, "from", peer, own_ports) for peer in policy.get("ingressFrom") or []]
    spec: dict[str, Any] = {"podSelector": {"matchLabels": selector_labels(model, name)}, "policyTypes": ["Ingress"], "ingress": rules}
    if "egressTo" in policy:
        spec["policyTypes"] = ["Ingress", "Egress"]
        spec["egress"] = [copy.deepcopy(DNS_EGRESS)]
        for peer in policy["egressTo"]:
            target_ports = (model["components"].get(peer["component"]) or {}).get("ports") or [] if "component" in peer else []
            spec["egress"].append(_peer_rule(model, "to", peer, target_ports))
    return [{"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": metadata(model, name, c, c["fullname"]), "spec": spec}]


KIND_BUILDERS: tuple[Callable[[dict, str, dict], list[dict]], ...] = (
    service_account,
    config_map,
    persistent_volume_claims,
    deployment,
    stateful_set,
    job,
    training,
    job_set,
    py_torch_job,
    cron_job,
    knative_service,
    inference_service,
    service,
    headless_service,
    ingress,
    horizontal_pod_autoscaler,
    scaled_object,
    pod_disruption_budget,
    network_policy,
)
