"""Values and resolved component models: every default applied, every derived decision made.

``app_values`` is one environment in the spec's own words (what the Helm chart's
``values.yaml`` + ``values-<env>.yaml`` hold); ``app_model`` resolves those values
for a release (names, GPU resources, security defaults, probe budgets) into the
Kubernetes-shaped fragments ``objects.py`` assembles. The chart's templates make
the same decisions from the same values in Go templates (a user's ``--set`` must
act exactly like the same edit of the spec); the equivalence tests hold the two
to it with the real Helm.
"""
from __future__ import annotations

import copy
import hashlib
from typing import Any

from kgen.generator.spec import FILES_VOLUME, REPLICATED_KINDS, RWO_MODES, SHM_VOLUME, WORKLOAD_KINDS, AppSpec, file_key
from kgen.generator.text import go_json
from kgen.merge import deep_merge

NAME_LIMIT = 63
HASH_LENGTH = 8  # of the hash a Job's name ends with
CRONJOB_NAME_LIMIT = 52  # the Job controller appends an 11-character suffix
STATEFULSET_NAME_LIMIT = 52  # its controller-revision-hash label is <name>-<10 characters>, a label value
SCALED_OBJECT_NAME_LIMIT = 54  # KEDA names its HPA keda-hpa-<name>
# Pod hostnames of a gang (<job>-<index>, JobSet <jobset>-<job>-<i>-<j>) must stay DNS labels.
TRAINING_NAME_LIMIT = 44
HEADLESS_SUFFIX = "-headless"
RENDEZVOUS_PORT = 29500  # torchrun's default MASTER_PORT
JOBSET_REPLICATED_JOB = "node"
KUBEFLOW_CONTAINER = "pytorch"  # the training operator sets the rendezvous env on this container
KSERVE_CONTAINER = "kserve-container"
JOB_INDEX_FIELD = "metadata.annotations['batch.kubernetes.io/job-completion-index']"
DEFAULT_CPU, DEFAULT_MEMORY = "100m", "128Mi"
DEFAULT_SHM = "1Gi"
GPU_TOLERATION = {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
GPU_PRODUCT_LABEL = "nvidia.com/gpu.product"
GPU_MEMORY_LABEL = "nvidia.com/gpu.memory"
# Model loading can take minutes: 10 s x 90 = 15 minutes before the kubelet gives up.
GPU_STARTUP_PERIOD, GPU_STARTUP_FAILURES = 10, 90
CONTAINER_SECURITY = {
    "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]},
    "runAsNonRoot": True,
    "seccompProfile": {"type": "RuntimeDefault"},
}
POD_SECURITY = {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}


def fit_name(name: str, limit: int = NAME_LIMIT) -> str:
    """``name`` if short enough, else a prefix plus a stable 8-hex hash of the whole name."""
    if len(name) <= limit:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"{name[: limit - 9].rstrip('-')}-{digest}"


def release_prefix(app: str, release: str) -> str:
    """What object names start with, as the chart's ``kgen.fullname`` computes it (Helm's convention)."""
    prefix = release if app in release else f"{release}-{app}"
    return prefix[:NAME_LIMIT].removesuffix("-")


def app_model(spec: AppSpec, env: str | None, release: str | None = None, values: dict | None = None) -> dict:
    """One environment's objects-to-be (``None``: the base) for a Helm release name (default: the app's).

    ``values``: that environment's ``app_values``, when the caller has them already.
    """
    app = spec.name
    release = release or app
    model: dict[str, Any] = {"app": app, "release": release}
    namespace = spec.namespace(env)
    if namespace:
        model["namespace"] = namespace
    if values is None:
        values = app_values(spec, env)
    for key in ("labels", "annotations"):
        if values.get(key):
            model[key] = values[key]
    version = spec.data["metadata"].get("version")
    if version is not None:
        model["version"] = _text(version)
    prefix = release_prefix(app, release)
    model["components"] = {
        name: component_model(prefix, name, c, _input_digest(app, prefix, values.get("labels") or {}, c))
        for name, c in values["components"].items()
    }
    if values.get("extraObjects"):
        model["extraObjects"] = values["extraObjects"]
    return model


def app_values(spec: AppSpec, env: str | None) -> dict:
    """The Helm values of one environment (``None``: ``values.yaml``): the spec's own vocabulary.

    Defaults and overrides are merged into each component; ``image`` is split into
    ``{repository, tag}`` (so a tag can be set alone) and ``ports`` become a list
    (the first port is the primary one, and a values map has no order).
    """
    values: dict[str, Any] = {}
    labels = spec.data["metadata"].get("labels") or {}
    if labels:
        values["labels"] = dict(sorted(labels.items()))
    annotations = spec.data["metadata"].get("annotations") or {}
    if annotations:
        values["annotations"] = dict(sorted(annotations.items()))
    tags = spec.environment(env).get("imageTag") if env else None
    values["components"] = {
        name: component_values(_in_spec_order(c, (spec.data["components"] or {}).get(name) or {}),
                               None if "image" in _override(spec, env, name) else tags.get(name) if isinstance(tags, dict) else tags)
        for name, c in spec.components(env).items()
    }
    extra = [*(spec.data.get("extraObjects") or []), *((spec.environment(env).get("extraObjects") or []) if env else [])]
    if extra:
        values["extraObjects"] = copy.deepcopy(extra)
    return values


def _in_spec_order(merged: dict, own: dict) -> dict:
    """``kind`` first, then the component's own fields as written, then what it inherits from defaults."""
    order = ["kind", *own, *merged]
    return {key: merged[key] for key in dict.fromkeys(order) if key in merged}


def _override(spec: AppSpec, env: str | None, name: str) -> dict:
    if not env:
        return {}
    return (spec.environment(env).get("components") or {}).get(name) or {}


def component_values(c: dict, image_tag: str | None = None) -> dict:
    """A merged spec component as chart values: the same fields, image and ports made settable."""
    values = {"kind": c.get("kind", "service"), **c}  # shallow: only replaced, never mutated, below
    values["image"] = split_image(with_tag(c["image"], image_tag) if image_tag else c["image"])
    for key in ("initContainers", "sidecars"):
        if key in c:
            values[key] = [_extra_values(extra, c["image"], image_tag) for extra in c[key]]
    if "ports" in c:
        values["ports"] = _port_list(c["ports"])
    return values


def _extra_values(extra: dict, main_image: str, image_tag: str | None) -> dict:
    """An init container or sidecar as values: ports as a list; the environment's tag when it
    runs the component's own image (e.g. a migration)."""
    out = dict(extra)
    if "ports" in extra:
        out["ports"] = _port_list(extra["ports"])
    if image_tag and image_repository(extra["image"]) == image_repository(main_image):
        out["image"] = with_tag(extra["image"], image_tag)
    return out


def _port_list(ports: dict) -> list[dict]:
    return [{"name": name, **body} for name, body in ports.items()]


def split_image(image: str) -> dict:
    """``repo:tag@digest`` as ``{repository, tag, digest}`` (each part only when present)."""
    name, _, digest = image.partition("@")
    slash, colon = name.rfind("/"), name.rfind(":")
    out = {"repository": name[:colon], "tag": name[colon + 1:]} if colon > slash else {"repository": name}
    if digest:
        out["digest"] = digest
    return out


def image_reference(image: dict) -> str:
    return image["repository"] + (f":{image['tag']}" if image.get("tag") else "") + (f"@{image['digest']}" if image.get("digest") else "")


def _input_digest(app: str, prefix: str, labels: dict, values: dict) -> str:
    """8 hex of everything a component's pod template is made from (the chart hashes the same JSON)."""
    return hashlib.sha256(go_json({"app": app, "component": values, "labels": labels, "prefix": prefix}).encode()).hexdigest()[:HASH_LENGTH]


def component_model(prefix: str, name: str, c: dict, digest: str) -> dict:
    """One component's values as the renderers' input: names fitted, defaults applied, GPUs resolved.

    A Job's (or training job's) template is immutable, so its name ends with ``digest``:
    a changed Job is a new Job, and ``helm upgrade`` / ``kubectl apply`` never try to patch one.
    """
    kind = c["kind"]
    limit = {"cronjob": CRONJOB_NAME_LIMIT, "statefulset": STATEFULSET_NAME_LIMIT, "training": TRAINING_NAME_LIMIT}.get(kind, NAME_LIMIT)
    fullname = fit_name(f"{prefix}-{name}", limit)
    job_name = f"{fit_name(fullname, limit - HASH_LENGTH - 1)}-{digest}"
    ports = [{"name": p["name"], "port": p["port"], "protocol": p.get("protocol", "TCP")} for p in c.get("ports") or []]
    m: dict[str, Any] = {"kind": kind, "fullname": fullname}
    if c.get("labels"):
        m["labels"] = dict(sorted(c["labels"].items()))
    if c.get("podAnnotations"):
        m["podAnnotations"] = dict(sorted(c["podAnnotations"].items()))
    for key in ("annotations", "serviceAnnotations"):
        if c.get(key):
            m[key] = dict(sorted(c[key].items()))
    if ports:
        m["ports"] = ports
    if c.get("serving", "deployment") != "deployment":
        m["serving"] = _serving(c)
    elif kind in REPLICATED_KINDS:
        if "autoscaling" in c:
            hpa = c["autoscaling"]
            m["autoscaling"] = {"min": hpa.get("min", 1), "max": hpa["max"], **{k: hpa[k] for k in ("cpu", "memory") if k in hpa}}
        elif "keda" in c:
            m["keda"] = _keda(fullname, c["keda"])
        else:
            m["replicas"] = c.get("replicas", 1)
        if kind in WORKLOAD_KINDS and any(_single_writer(v) for v in (c.get("storage") or {}).values()):
            m["strategy"] = "Recreate"
    if kind == "statefulset":
        m["statefulset"] = {"serviceName": fit_name(f"{fullname}{HEADLESS_SUFFIX}"), **{k: c[k] for k in ("podManagementPolicy",) if k in c}}
        templates = [{"name": vol, **_claim(body)} for vol, body in sorted((c.get("storage") or {}).items()) if body.get("perReplica")]
        if templates:
            m["claimTemplates"] = templates
    if "ingress" in c:
        m["ingress"] = _ingress(fullname, c["ingress"], ports)
    if (c.get("config") or {}).get("data"):
        m["config"] = {"data": {k: _text(v) for k, v in sorted(c["config"]["data"].items())}}
        if c["config"].get("mountPath"):
            m["config"]["mountPath"] = c["config"]["mountPath"]
    claims = [
        {"name": fit_name(f"{fullname}-{vol}"), **_claim(body)}
        for vol, body in sorted((c.get("storage") or {}).items()) if "size" in body and not body.get("perReplica")
    ]
    if claims:
        m["claims"] = claims
    account = c.get("serviceAccount") or {}
    create = account.get("create", True)
    m["serviceAccount"] = {"create": create, "name": account.get("name", fullname if create else "default")}
    if account.get("annotations"):
        m["serviceAccount"]["annotations"] = dict(sorted(account["annotations"].items()))
    if "networkPolicy" in c:
        policy = c["networkPolicy"] or {}
        m["networkPolicy"] = {k: sorted(policy.get(k) or []) for k in ("allowComponents", "allowNamespaces")}
        for direction in ("ingressFrom", "egressTo"):
            if direction in policy:
                m["networkPolicy"][direction] = copy.deepcopy(policy[direction] or [])
    if kind in ("job", "training"):
        m["jobName"] = job_name
        m["job"] = _job_spec(c)
    if kind == "training":
        m["training"] = _training(fullname, job_name, c)
    if kind == "cronjob":
        m["job"] = _job_spec(c)
        m["cron"] = {
            "schedule": c["schedule"],
            "concurrencyPolicy": c.get("concurrencyPolicy", "Forbid"),
            "successfulJobsHistoryLimit": c.get("successfulJobsHistoryLimit", 3),
            "failedJobsHistoryLimit": c.get("failedJobsHistoryLimit", 1),
            **{k: c[k] for k in ("timeZone", "suspend", "startingDeadlineSeconds") if k in c},
        }
    content = {file_key(path): _text(body["content"]) for path, body in sorted((c.get("files") or {}).items()) if "content" in body}
    if content:
        m["files"] = dict(sorted(content.items()))
    m["pod"] = _pod(fullname, kind, c, m["serviceAccount"]["name"])
    m["container"] = _container(kind, c, ports, _rendezvous_env(m["training"], c) if "training" in m else [])
    for key in ("podOverrides", "containerOverrides"):
        if c.get(key):
            m[key] = copy.deepcopy(c[key])
    return m


def _claim(body: dict) -> dict:
    return {"size": _text(body["size"]), "accessMode": body.get("accessMode", "ReadWriteOnce"),
            **({"storageClass": body["storageClass"]} if "storageClass" in body else {})}


def _serving(c: dict) -> dict:
    """Knative / KServe: the platform owns routing and scaling; kgen gives it the bounds."""
    scaling = c.get("autoscaling") or {}
    out: dict[str, Any] = {"type": c["serving"], "min": scaling.get("min", 1)}
    out.update({k: scaling[k] for k in ("max", "target") if k in scaling})
    return out


def _training(fullname: str, job_name: str, c: dict) -> dict:
    """The gang: nodes, how the pods find pod 0 (MASTER_ADDR) and the port they meet on.

    Pod hostnames start with the (hash-named) job; the headless Service keeps the stable name.
    """
    operator = c.get("operator", "none")
    out: dict[str, Any] = {"operator": operator, "nodes": c["nodes"], "port": c.get("rendezvousPort", RENDEZVOUS_PORT)}
    if operator == "none":
        out["service"] = fullname
        out["masterAddress"] = f"{job_name}-0.{fullname}"
    elif operator == "jobset":
        out["masterAddress"] = f"{job_name}-{JOBSET_REPLICATED_JOB}-0-0.{fullname}"
    return out


def _rendezvous_env(training: dict, c: dict) -> list[dict]:
    """What torchrun reads (PET_*) and what training scripts conventionally read; the Kubeflow
    operator sets these itself on its ``pytorch`` container."""
    if training["operator"] == "kubeflow":
        return []
    rank = {"name": "NODE_RANK", "valueFrom": {"fieldRef": {"fieldPath": JOB_INDEX_FIELD}}}
    nodes, port = str(training["nodes"]), str(training["port"])
    env = [
        {"name": "MASTER_ADDR", "value": training["masterAddress"]},
        {"name": "MASTER_PORT", "value": port},
        {"name": "WORLD_SIZE", "value": nodes},
        {"name": "NNODES", "value": nodes},
        rank,
        {"name": "PET_MASTER_ADDR", "value": training["masterAddress"]},
        {"name": "PET_MASTER_PORT", "value": port},
        {"name": "PET_NNODES", "value": nodes},
        {**rank, "name": "PET_NODE_RANK"},
    ]
    if c.get("gpu") is not None:
        env.append({"name": "PET_NPROC_PER_NODE", "value": str(c["gpu"].get("count", 1))})
    return env


def _single_writer(volume: dict) -> bool:
    return "emptyDir" not in volume and volume.get("accessMode", "ReadWriteOnce") in RWO_MODES


def _keda(fullname: str, keda: dict) -> dict:
    triggers = []
    for trigger in keda["triggers"]:
        t = {k: trigger[k] for k in ("type", "name", "metricType", "useCachedMetrics") if k in trigger}
        t["metadata"] = {k: _text(v) for k, v in sorted(trigger["metadata"].items())}
        if "authenticationRef" in trigger:
            t["authenticationRef"] = dict(sorted(trigger["authenticationRef"].items()))
        triggers.append(t)
    out = {"name": fit_name(fullname, SCALED_OBJECT_NAME_LIMIT), "min": keda.get("min", 0), "max": keda["max"], "triggers": triggers}
    out.update({k: keda[k] for k in ("pollingInterval", "cooldownPeriod") if k in keda})
    return out


def _ingress(fullname: str, ingress: dict, ports: list[dict]) -> dict:
    out: dict[str, Any] = {
        "host": ingress["host"],
        **({"paths": list(ingress["paths"])} if "paths" in ingress else {"path": ingress.get("path", "/")}),
        "pathType": ingress.get("pathType", "Prefix"),
        "port": ingress.get("port", ports[0]["name"]),
    }
    annotations = dict(ingress.get("annotations") or {})
    tls = ingress.get("tls")
    if tls is not None:
        if "issuer" in tls:
            annotations["cert-manager.io/cluster-issuer"] = tls["issuer"]
        out["tlsSecret"] = tls.get("secretName") or fit_name(f"{fullname}-tls")
    if "className" in ingress:
        out["className"] = ingress["className"]
    if annotations:
        out["annotations"] = dict(sorted(annotations.items()))
    return out


def _job_spec(c: dict) -> dict:
    spec = {"backoffLimit": c.get("backoffLimit", 3)}
    spec.update({k: c[k] for k in ("activeDeadlineSeconds", "ttlSecondsAfterFinished", "completions", "parallelism", "podFailurePolicy") if k in c})
    return spec


def gpu_resource(gpu: dict) -> str:
    """The extended resource a GPU request names: MIG slice, shared (time-sliced) GPU or whole GPU."""
    if "mig" in gpu:
        return f"nvidia.com/mig-{gpu['mig']}"
    if gpu.get("sharing"):
        return "nvidia.com/gpu.shared"
    return "nvidia.com/gpu"


def _pod(fullname: str, kind: str, c: dict, account: str) -> dict:
    gpu = c.get("gpu")
    pod: dict[str, Any] = {
        "serviceAccountName": account,
        "automountServiceAccountToken": False,
        "securityContext": deep_merge(POD_SECURITY, c.get("podSecurityContext") or {}),
    }
    if kind in ("job", "cronjob"):
        pod["restartPolicy"] = c.get("restartPolicy", "Never" if "podFailurePolicy" in c else "OnFailure")
    if kind == "training":
        pod["restartPolicy"] = c.get("restartPolicy", "Never")  # one lost node restarts the gang, not one pod
    node_selector = dict(c.get("nodeSelector") or {})
    tolerations = list(c.get("tolerations") or [])
    affinity = c.get("affinity") or {}
    if gpu is not None:
        if gpu.get("product"):
            node_selector[GPU_PRODUCT_LABEL] = gpu["product"]
        if not any(t.get("key") == GPU_TOLERATION["key"] for t in tolerations):
            tolerations.append(dict(GPU_TOLERATION))
        if "minMemoryMiB" in gpu:
            affinity = _with_node_requirement(affinity, {"key": GPU_MEMORY_LABEL, "operator": "Gt", "values": [str(gpu["minMemoryMiB"] - 1)]})
        if gpu.get("runtimeClassName"):
            pod["runtimeClassName"] = gpu["runtimeClassName"]
    if node_selector:
        pod["nodeSelector"] = dict(sorted(node_selector.items()))
    if tolerations:
        pod["tolerations"] = tolerations
    if affinity:
        pod["affinity"] = affinity
    for key in ("priorityClassName", "terminationGracePeriodSeconds"):
        if key in c:
            pod[key] = c[key]
    if c.get("imagePullSecrets"):
        pod["imagePullSecrets"] = [{"name": n} for n in c["imagePullSecrets"]]
    volumes = []
    for vol, body in sorted((c.get("storage") or {}).items()):
        if body.get("perReplica"):
            continue  # a volumeClaimTemplate of the StatefulSet
        if "emptyDir" in body:
            volumes.append({"name": vol, "emptyDir": {k: _text(v) if k == "sizeLimit" else v for k, v in sorted(body["emptyDir"].items())}})
        else:
            claim = body.get("existingClaim") or fit_name(f"{fullname}-{vol}")
            source: dict[str, Any] = {"claimName": claim}
            if body.get("readOnly"):
                source["readOnly"] = True
            volumes.append({"name": vol, "persistentVolumeClaim": source})
    if gpu is not None:
        volumes.append({"name": SHM_VOLUME, "emptyDir": {"medium": "Memory", "sizeLimit": _text(gpu.get("shm", DEFAULT_SHM))}})
    volumes.extend(_file_volumes(c))
    if volumes:
        pod["volumes"] = volumes
    init = [_extra_container(x) for x in c.get("initContainers") or []]
    init += [{**_extra_container(x), "restartPolicy": "Always"} for x in c.get("sidecars") or []]
    if init:
        pod["initContainers"] = init
    return pod


def file_volume(body: dict) -> str:
    """The volume a file comes from: the component's ConfigMap (``files``) or one per named Secret/ConfigMap."""
    if "content" in body:
        return FILES_VOLUME
    kind = "secret" if "secret" in body else "configmap"
    return fit_name(f"{FILES_VOLUME}-{kind}-{body.get('secret') or body.get('configMap')}")


def _file_volumes(c: dict) -> list[dict]:
    """One volume per named Secret/ConfigMap; the content volume is added in objects.py (its name hashes the data)."""
    volumes: dict[str, dict] = {}
    for _, body in sorted((c.get("files") or {}).items()):
        name = file_volume(body)
        if "secret" in body:
            volumes.setdefault(name, {"name": name, "secret": {"secretName": body["secret"]}})
        elif "configMap" in body:
            volumes.setdefault(name, {"name": name, "configMap": {"name": body["configMap"]}})
    return list(volumes.values())


def _extra_container(spec: dict) -> dict:
    """An init container or sidecar: the same security and resource defaults as the main one."""
    container: dict[str, Any] = {"name": spec["name"], "image": spec["image"]}
    ports = [{"name": p["name"], "containerPort": p["port"], "protocol": p.get("protocol", "TCP")} for p in spec.get("ports") or []]
    if ports:
        container["ports"] = ports
    for key in ("command", "args", "workingDir"):
        if key in spec:
            container[key] = spec[key]
    env = [_env_var(name, value) for name, value in sorted((spec.get("env") or {}).items())]
    if env:
        container["env"] = env
    container["resources"] = _resources({"resources": spec.get("resources") or {}})
    for name, probe in (spec.get("probes") or {}).items():
        container[f"{name}Probe"] = _probe(probe, (ports[0]["name"], ports[0]["containerPort"]) if ports else (None, None))
    container["securityContext"] = deep_merge(CONTAINER_SECURITY, spec.get("securityContext") or {})
    return container


def _with_node_requirement(affinity: dict, requirement: dict) -> dict:
    """Add a required node-selector expression to every term (terms are ORed, expressions ANDed)."""
    path = ("nodeAffinity", "requiredDuringSchedulingIgnoredDuringExecution")
    required = ((affinity.get(path[0]) or {}).get(path[1]) or {})
    terms = required.get("nodeSelectorTerms") or [{}]
    terms = [{**t, "matchExpressions": [*(t.get("matchExpressions") or []), requirement]} for t in terms]
    return deep_merge(affinity, {path[0]: {path[1]: {"nodeSelectorTerms": terms}}})


def _container(kind: str, c: dict, ports: list[dict], rendezvous: list[dict]) -> dict:
    container: dict[str, Any] = {"image": image_reference(c["image"])}
    for key in ("command", "args", "workingDir"):
        if key in c:
            container[key] = c[key]
    # the rendezvous env first, then the component's sorted (a values map has no order; the chart renders the same list)
    env = [*rendezvous, *(_env_var(name, value) for name, value in sorted((c.get("env") or {}).items()))]
    if env:
        container["env"] = env
    env_from = [
        {"secretRef": {"name": e["secretRef"]}} if "secretRef" in e else {"configMapRef": {"name": e["configMapRef"]}}
        for e in c.get("envFrom") or []
    ]
    if env_from:
        container["envFrom"] = env_from
    container["resources"] = _resources(c)
    probes = _probes(kind, c, ports)
    container.update(probes)
    container["securityContext"] = deep_merge(CONTAINER_SECURITY, c.get("securityContext") or {})
    mounts = []
    for vol, body in sorted((c.get("storage") or {}).items()):
        mount: dict[str, Any] = {"name": vol, "mountPath": body["mountPath"]}
        if body.get("readOnly"):
            mount["readOnly"] = True
        if body.get("subPath"):
            mount["subPath"] = body["subPath"]
        mounts.append(mount)
    if c.get("gpu") is not None:
        mounts.append({"name": SHM_VOLUME, "mountPath": "/dev/shm"})
    for path, body in sorted((c.get("files") or {}).items()):
        key = file_key(path) if "content" in body else body["key"]
        mounts.append({"name": file_volume(body), "mountPath": path, "subPath": key, "readOnly": True})
    if mounts:
        container["volumeMounts"] = mounts
    if c.get("preStop"):
        container["lifecycle"] = {"preStop": _pre_stop(c["preStop"], ports)}
    return container


def _pre_stop(pre_stop: dict, ports: list[dict]) -> dict:
    if "sleep" in pre_stop:
        return {"sleep": {"seconds": pre_stop["sleep"]}}
    if "exec" in pre_stop:
        return {"exec": {"command": list(pre_stop["exec"])}}
    http = pre_stop["http"]
    return {"httpGet": {"path": http.get("path", "/"), "port": http.get("port", ports[0]["name"] if ports else None)}}


def image_repository(image: str) -> str:
    """``image`` without its tag or digest."""
    name = image.split("@", 1)[0]
    slash = name.rfind("/")
    colon = name.rfind(":")
    return name[:colon] if colon > slash else name


def with_tag(image: str, tag: str) -> str:
    """``image`` with its tag (or digest) replaced by ``tag``."""
    return f"{image_repository(image)}:{tag}"


def _env_var(name: str, value: Any) -> dict:
    if not isinstance(value, dict):
        return {"name": name, "value": _text(value)}
    if "fieldRef" in value:
        return {"name": name, "valueFrom": {"fieldRef": {"fieldPath": value["fieldRef"]}}}
    ref_kind, ref = next(iter(value.items()))
    selector = "secretKeyRef" if ref_kind == "secretRef" else "configMapKeyRef"
    return {"name": name, "valueFrom": {selector: dict(sorted(ref.items()))}}


def _resources(c: dict) -> dict:
    r = c.get("resources") or {}
    requests = {"cpu": _text(r.get("cpu", DEFAULT_CPU)), "memory": _text(r.get("memory", DEFAULT_MEMORY))}
    if "ephemeralStorage" in r:
        requests["ephemeral-storage"] = _text(r["ephemeralStorage"])
    limits = {"memory": _text(r.get("memoryLimit", r.get("memory", DEFAULT_MEMORY)))}
    if "cpuLimit" in r:
        limits["cpu"] = _text(r["cpuLimit"])
    gpu = c.get("gpu")
    if gpu is not None:
        resource = gpu_resource(gpu)
        requests[resource] = limits[resource] = gpu.get("count", 1)
    for resource, amount in sorted((r.get("extra") or {}).items()):
        requests[resource] = limits[resource] = _text(amount)
    return {"limits": limits, "requests": requests}


def _probes(kind: str, c: dict, ports: list[dict]) -> dict:
    """readiness on the primary port for services, liveness only when asked, a long startup budget for GPUs."""
    asked = c.get("probes") or {}
    primary = (ports[0]["name"], ports[0]["port"]) if ports else (None, None)
    out: dict[str, Any] = {}
    readiness = asked.get("readiness")
    if readiness is not None:
        out["readinessProbe"] = _probe(readiness, primary)
    elif kind == "service" and ports:
        out["readinessProbe"] = {"tcpSocket": {"port": primary[0]}}
    if asked.get("liveness") is not None:
        out["livenessProbe"] = _probe(asked["liveness"], primary)
    startup = asked.get("startup")
    if c.get("gpu") is not None and (startup is not None or "readinessProbe" in out):
        base = _probe(startup, primary) if startup is not None else _handler_only(out["readinessProbe"])
        base.setdefault("periodSeconds", GPU_STARTUP_PERIOD)
        base.setdefault("failureThreshold", GPU_STARTUP_FAILURES)
        out["startupProbe"] = base
    elif startup is not None:
        out["startupProbe"] = _probe(startup, primary)
    return out


def _handler_only(probe: dict) -> dict:
    return {k: copy.deepcopy(v) for k, v in probe.items() if k in ("httpGet", "tcpSocket", "grpc", "exec")}


def _probe(probe: dict, primary: tuple[str | None, int | None]) -> dict:
    """A spec probe as a Kubernetes probe; ports default to the primary (first) port."""
    out: dict[str, Any] = {}
    if "http" in probe:
        http = probe["http"] or {}
        out["httpGet"] = {"path": http.get("path", "/"), "port": http.get("port", primary[0]), **({"scheme": http["scheme"]} if "scheme" in http else {})}
    elif "tcp" in probe:
        out["tcpSocket"] = {"port": (probe["tcp"] or {}).get("port", primary[0])}
    elif "grpc" in probe:
        grpc = probe["grpc"] or {}
        out["grpc"] = {"port": grpc.get("port", primary[1]), **({"service": grpc["service"]} if "service" in grpc else {})}
    else:
        out["exec"] = {"command": list(probe["exec"]["command"])}
    for key in ("initialDelaySeconds", "periodSeconds", "timeoutSeconds", "failureThreshold", "successThreshold"):
        if key in probe:
            out[key] = probe[key]
    return out


def _text(value: Any) -> str:
    """Strings as Kubernetes keeps them: YAML numbers and booleans as their plain text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
