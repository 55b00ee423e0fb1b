"""Component models to Kubernetes objects (plain dicts), one function per kind.

The Helm chart in ``chart/templates`` is the Go-template twin of this module:
each function here has a template with the same structure, fed the same model.
The equivalence tests render both (with the real Helm) and compare objects.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Callable

from kgen.generator.model import NAME_LIMIT, fit_name
from kgen.generator.spec import CONFIG_VOLUME

MANAGED_BY = "kgen"
NAME_LABEL = "app.kubernetes.io/name"
INSTANCE_LABEL = "app.kubernetes.io/instance"
COMPONENT_LABEL = "app.kubernetes.io/component"
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
VERSION_LABEL = "app.kubernetes.io/version"
HASH_LENGTH = 8


def build_objects(model: dict) -> list[dict]:
    """Every object of one environment, component by component (sorted), kinds in a fixed order."""
    objects: list[dict] = []
    for name in sorted(model["components"]):
        c = model["components"][name]
        for make in KIND_BUILDERS:
            objects.extend(make(model, name, c))
    return objects


def config_map_name(fullname: str, data: dict[str, str]) -> str:
    """``<fullname>-<10 hex>``: new data, new name, so pods roll and old ReplicaSets keep theirs.

    The hash input is Go's ``json.Marshal`` of the data (what the chart's
    ``toJson`` produces), so Helm computes the same name from the same values.
    """
    return f"{fullname}-{hashlib.sha256(go_json(data).encode()).hexdigest()[:10]}"


def go_json(value: Any) -> str:
    """Go ``encoding/json`` bytes for plain data: sorted keys, compact, HTML-safe escapes."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    for char, escape in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(char, escape)
    return text


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
    meta: dict[str, Any] = {"name": object_name}
    if model.get("namespace"):
        meta["namespace"] = model["namespace"]
    meta["labels"] = object_labels(model, name, c)
    if annotations:
        meta["annotations"] = annotations
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


def config_map(model: dict, name: str, c: dict) -> list[dict]:
    if "config" not in c:
        return []
    data = c["config"]["data"]
    return [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata(model, name, c, config_map_name(c["fullname"], data)), "data": data}]


def persistent_volume_claims(model: dict, name: str, c: dict) -> list[dict]:
    out = []
    for claim in c.get("claims") or []:
        spec: dict[str, Any] = {"accessModes": [claim["accessMode"]], "resources": {"requests": {"storage": claim["size"]}}}
        if "storageClass" in claim:
            spec["storageClassName"] = claim["storageClass"]
        out.append({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": metadata(model, name, c, claim["name"]), "spec": spec})
    return out


def pod_template(model: dict, name: str, c: dict) -> dict:
    """The model's pod and container, plus ports and the (hash-named) ConfigMap as env or files."""
    container: dict[str, Any] = {"name": name, "image": c["container"]["image"]}
    if c.get("ports"):
        container["ports"] = [{"name": p["name"], "containerPort": p["port"], "protocol": p["protocol"]} for p in c["ports"]]
    container.update(c["container"])
    pod = dict(c["pod"])
    if "config" in c:
        config_name = config_map_name(c["fullname"], c["config"]["data"])
        if "mountPath" in c["config"]:
            container["volumeMounts"] = [*container.get("volumeMounts", []), {"name": CONFIG_VOLUME, "mountPath": c["config"]["mountPath"], "readOnly": True}]
            pod["volumes"] = [*pod.get("volumes", []), {"name": CONFIG_VOLUME, "configMap": {"name": config_name}}]
        else:
            container["envFrom"] = [{"configMapRef": {"name": config_name}}, *container.get("envFrom", [])]
    meta: dict[str, Any] = {"labels": pod_labels(model, name, c)}
    if c.get("podAnnotations"):
        meta["annotations"] = c["podAnnotations"]
    return {"metadata": meta, "spec": {**pod, "containers": [container]}}


def deployment(model: dict, name: str, c: dict) -> list[dict]:
    """Services and workers; no ``replicas`` when an HPA or KEDA owns the count (applies would fight it)."""
    if c["kind"] not in ("service", "worker"):
        return []
    spec: dict[str, Any] = {}
    if "replicas" in c and not c.get("autoscaling") and not c.get("keda"):
        spec["replicas"] = c["replicas"]
    spec["selector"] = {"matchLabels": selector_labels(model, name)}
    if "strategy" in c:
        spec["strategy"] = {"type": c["strategy"]}
    spec["template"] = pod_template(model, name, c)
    return [{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": metadata(model, name, c, c["fullname"]), "spec": spec}]


def job_name(fullname: str, spec: dict) -> str:
    """``<fullname>-<8 hex of the Job spec>``: a Job's template is immutable, so a changed Job is a new Job.

    The hash input is ``go_json`` of the spec, what the chart's ``toJson`` gives.
    """
    return f"{fit_name(fullname, NAME_LIMIT - HASH_LENGTH - 1)}-{hashlib.sha256(go_json(spec).encode()).hexdigest()[:HASH_LENGTH]}"


def job(model: dict, name: str, c: dict) -> list[dict]:
    if c["kind"] != "job":
        return []
    spec = {**c["job"], "template": pod_template(model, name, c)}
    return [{"apiVersion": "batch/v1", "kind": "Job", "metadata": metadata(model, name, c, job_name(c["fullname"], spec)), "spec": spec}]


def cron_job(model: dict, name: str, c: dict) -> list[dict]:
    if c["kind"] != "cronjob":
        return []
    job_template = {"metadata": {"labels": pod_labels(model, name, c)}, "spec": {**c["job"], "template": pod_template(model, name, c)}}
    return [{"apiVersion": "batch/v1", "kind": "CronJob", "metadata": metadata(model, name, c, c["fullname"]),
             "spec": {**c["cron"], "jobTemplate": job_template}}]


def service(model: dict, name: str, c: dict) -> list[dict]:
    if c["kind"] != "service" or not c.get("ports"):
        return []
    ports = [{"name": p["name"], "port": p["port"], "targetPort": p["name"], "protocol": p["protocol"]} for p in c["ports"]]
    return [{"apiVersion": "v1", "kind": "Service", "metadata": metadata(model, name, c, c["fullname"]),
             "spec": {"type": "ClusterIP", "selector": selector_labels(model, name), "ports": ports}}]


def ingress(model: dict, name: str, c: dict) -> list[dict]:
    if c["kind"] != "service" or "ingress" not in c:
        return []
    ing = c["ingress"]
    path = {"path": ing["path"], "pathType": ing["pathType"], "backend": {"service": {"name": c["fullname"], "port": {"name": ing["port"]}}}}
    spec: dict[str, Any] = {}
    if "className" in ing:
        spec["ingressClassName"] = ing["className"]
    spec["rules"] = [{"host": ing["host"], "http": {"paths": [path]}}]
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
             "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": c["fullname"]},
                      "minReplicas": hpa["min"], "maxReplicas": hpa["max"], "metrics": metrics}}]


def scaled_object(model: dict, name: str, c: dict) -> list[dict]:
    keda = c.get("keda")
    if not keda:
        return []
    spec: dict[str, Any] = {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": c["fullname"]},
                            "minReplicaCount": keda["min"], "maxReplicaCount": keda["max"]}
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
    if c["kind"] not in ("service", "worker") or min_replicas(c) < 2:
        return []
    return [{"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": metadata(model, name, c, c["fullname"]),
             "spec": {"maxUnavailable": 1, "selector": {"matchLabels": selector_labels(model, name)}}}]


def network_policy(model: dict, name: str, c: dict) -> list[dict]:
    """Opt-in: ingress only from the listed components and namespaces (none listed: deny all)."""
    policy = c.get("networkPolicy")
    if policy is None:
        return []
    peers: list[dict] = [{"podSelector": {"matchLabels": selector_labels(model, other)}} for other in policy["allowComponents"]]
    peers += [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": ns}}} for ns in policy["allowNamespaces"]]
    rules: list[dict] = []
    if peers:
        rule: dict[str, Any] = {"from": peers}
        if c.get("ports"):
            rule["ports"] = [{"port": p["port"], "protocol": p["protocol"]} for p in c["ports"]]
        rules.append(rule)
    return [{"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": metadata(model, name, c, c["fullname"]),
             "spec": {"podSelector": {"matchLabels": selector_labels(model, name)}, "policyTypes": ["Ingress"], "ingress": rules}}]


KIND_BUILDERS: tuple[Callable[[dict, str, dict], list[dict]], ...] = (
    service_account,
    config_map,
    persistent_volume_claims,
    deployment,
    job,
    cron_job,
    service,
    ingress,
    horizontal_pod_autoscaler,
    scaled_object,
    pod_disruption_budget,
    network_policy,
)
